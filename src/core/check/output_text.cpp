#include <set>

#include "core/base/text.h"
#include "core/check/output.h"
#include "core/check/rules.h"

namespace rollsafe::check {
namespace {

const char* kRed = "\x1b[1;31m";
const char* kYellow = "\x1b[1;33m";
const char* kCyan = "\x1b[36m";
const char* kBold = "\x1b[1m";
const char* kDim = "\x1b[2m";
const char* kReset = "\x1b[0m";

constexpr std::size_t kMaxShown = 160;  // characters of a long source line shown around the caret

// Byte offset of the (1-based) character column `col` in `line`.
std::size_t byte_of_col(std::string_view line, int col) {
    int c = 1;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80)
            continue;
        if (c == col)
            return i;
        ++c;
    }
    return line.size();
}

std::size_t chars_in(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s)
        n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    return n;
}

// Appends "  12 | source" and "     | ^~~~" for a finding.
void source_with_caret(std::string& out, const Finding& f, bool color) {
    std::string_view line = f.source_line;
    std::size_t start = byte_of_col(line, f.col);
    std::size_t end =
        f.end_line == f.line && f.end_col > f.col ? byte_of_col(line, f.end_col) : line.size();
    // Trim trailing blanks from the underline and keep very long lines readable.
    while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        --end;
    std::size_t from = 0;
    std::string prefix, suffix;
    if (line.size() > kMaxShown) {
        from = start > 40 ? start - 40 : 0;
        while (from > 0 && (static_cast<unsigned char>(line[from]) & 0xC0) == 0x80)
            --from;
        std::size_t to = std::min(line.size(), from + kMaxShown);
        while (to < line.size() && (static_cast<unsigned char>(line[to]) & 0xC0) == 0x80)
            ++to;
        if (from > 0)
            prefix = "...";
        if (to < line.size())
            suffix = "...";
        line = line.substr(0, to);
        end = std::min(end, to);
    }
    std::string num = std::to_string(f.line);
    std::string pad(num.size(), ' ');
    std::string shown;
    for (char c : line.substr(from))
        shown += c == '\t' ? ' ' : c;
    out += "  " + num + " | " + prefix + shown + suffix + "\n";
    std::size_t lead = prefix.size() + chars_in(line.substr(from, start - from));
    std::size_t width = end > start ? chars_in(line.substr(start, end - start)) : 1;
    out += "  " + pad + " | " + std::string(lead, ' ');
    if (color)
        out += f.severity == Severity::error && !f.suppressed ? kRed : kYellow;
    out += '^';
    if (width > 1)
        out += std::string(width - 1, '~');
    if (color)
        out += kReset;
    out += '\n';
}

}  // namespace

std::string render_text(const Report& report, const RenderOptions& options) {
    std::string out;
    const bool color = options.color;
    for (const auto& d : report.parse_errors) {
        Diagnostic where = d;
        where.message.clear();
        std::string loc = where.location_and_message();  // "file:line:col: "
        if (color)
            out += kBold;
        out += loc;
        if (color)
            out += std::string(kReset) + kRed;
        out += "error";
        if (color)
            out += kReset;
        out += ": " + d.message + "\n";
        if (!d.hint.empty())
            out += "  hint: " + d.hint + "\n";
        out += "\n";
    }
    for (const auto& v : report.migrations) {
        std::set<std::string> explained;
        for (const auto& f : v.findings) {
            if (color)
                out += kBold;
            out += f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col) + ": ";
            if (color)
                out += kReset;
            const char* level = f.suppressed ? "suppressed" : severity_text(f.severity);
            if (color)
                out += f.suppressed ? kDim : f.severity == Severity::error ? kRed : kYellow;
            out += std::string(level) + "[" + f.rule_id + "]";
            if (color)
                out += kReset;
            out += ": " + f.message + (f.direction == "down" ? " (down script)" : "") + "\n";
            source_with_caret(out, f, color);
            std::string bar = "  " + std::string(std::to_string(f.line).size(), ' ') + " = ";
            if (f.suppressed) {
                out += bar + "allowed at line " + std::to_string(f.suppression_line) + ": \"" +
                       f.suppression_reason + "\"\n\n";
                continue;
            }
            std::string facts;
            if (!f.breaks.empty())
                facts += "breaks: " + text::join(f.breaks, ", ");
            if (!f.lock.empty())
                facts += std::string(facts.empty() ? "" : "; ") + "lock: " + f.lock;
            if (!f.classes.empty())
                facts += std::string(facts.empty() ? "" : "; ") +
                         "class: " + text::join(f.classes, ", ");
            if (!facts.empty())
                out += bar + facts + "\n";
            if (explained.insert(f.rule_id).second) {
                if (!f.why.empty())
                    out += bar + "why: " + f.why + "\n";
                if (!f.fix.empty())
                    out += bar + "fix: " + f.fix + "\n";
            }
            out += bar + "docs: " + options.docs_base + f.rule_id + ".md\n\n";
        }
    }
    int total_errors = 0, total_warnings = 0, total_suppressed = 0;
    for (const auto& v : report.migrations) {
        int e = 0, w = 0, s = 0;
        for (const auto& f : v.findings) {
            if (f.suppressed)
                ++s;
            else if (f.severity == Severity::error)
                ++e;
            else if (f.severity == Severity::warning)
                ++w;
        }
        total_errors += e;
        total_warnings += w;
        total_suppressed += s;
        if (color)
            out += kCyan;
        out += v.migration;
        if (color)
            out += kReset;
        out += ": " + v.class_string();
        if (e || w || s) {
            out += " (";
            std::vector<std::string> parts;
            if (e)
                parts.push_back(std::to_string(e) + (e == 1 ? " error" : " errors"));
            if (w)
                parts.push_back(std::to_string(w) + (w == 1 ? " warning" : " warnings"));
            if (s)
                parts.push_back(std::to_string(s) + " suppressed");
            out += text::join(parts, ", ") + ")";
        }
        out += "\n";
    }
    std::size_t n = report.migrations.size();
    out += "check: " + std::to_string(n) + (n == 1 ? " migration, " : " migrations, ") +
           std::to_string(total_errors) + (total_errors == 1 ? " error, " : " errors, ") +
           std::to_string(total_warnings) + (total_warnings == 1 ? " warning, " : " warnings, ") +
           std::to_string(total_suppressed) + " suppressed";
    if (!report.parse_errors.empty())
        out += ", " + std::to_string(report.parse_errors.size()) + " unparsable";
    out += " (PostgreSQL " + std::to_string(report.pg_version) + ")\n";
    return out;
}

}  // namespace rollsafe::check
