#include "core/check/output.h"

namespace rollsafe::check {
namespace {

constexpr std::size_t kMaxRows = 200;  // a PR comment holds about 65,000 characters

// Makes text safe inside a markdown table cell.
std::string cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else if (c == '<')
            out += "&lt;";
        else
            out += c;
    }
    return out;
}

std::string code(std::string_view s) {
    std::string out = "`";
    for (char c : s)
        out += c == '`' ? '\'' : c;
    return out + "`";
}

}  // namespace

std::string render_markdown(const Report& report, const RenderOptions& options) {
    std::string out = "## rollsafe check\n\n";
    int errors = report.errors(), warnings = report.warnings(), suppressed = report.suppressed();
    if (!report.parse_errors.empty()) {
        out += ":x: **" + std::to_string(report.parse_errors.size()) + " unparsable script" +
               (report.parse_errors.size() == 1 ? "" : "s") + "**\n\n";
        for (const auto& d : report.parse_errors)
            out += "- " + code(d.location_and_message()) + "\n";
        out += "\n";
    }
    out += errors ? ":x: **" + std::to_string(errors) + " blocking finding" +
                        (errors == 1 ? "" : "s") + "**"
                  : std::string(":white_check_mark: **no blocking findings**");
    out += ", " + std::to_string(warnings) + " warning" + (warnings == 1 ? "" : "s") + ", " +
           std::to_string(suppressed) + " suppressed in " +
           std::to_string(report.migrations.size()) + " migration" +
           (report.migrations.size() == 1 ? "" : "s") + " (PostgreSQL " +
           std::to_string(report.pg_version) + ")\n\n";
    if (report.migrations.empty())
        return out;

    out += "| migration | class | old app keeps working | errors | warnings | suppressed |\n";
    out += "|---|---|---|---:|---:|---:|\n";
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
        out += "| " + code(v.migration) + " | " + cell(v.class_string()) + " | " +
               (v.compatible_with_previous_release() ? "yes" : "**no**") + " | " +
               std::to_string(e) + " | " + std::to_string(w) + " | " + std::to_string(s) + " |\n";
    }

    std::size_t rows = 0, total = 0;
    std::string findings;
    std::string allowed;
    std::size_t allowed_rows = 0;
    for (const auto& v : report.migrations) {
        for (const auto& f : v.findings) {
            std::string where =
                code(f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col));
            std::string rule =
                "[" + code(f.rule_id) + "](" + options.docs_base + f.rule_id + ".md)";
            if (f.suppressed) {
                if (++allowed_rows > kMaxRows)
                    continue;
                allowed += "| " + rule + " | " + where + " | " + cell(f.message) + " | " +
                           cell(f.suppression_reason) + " |\n";
                continue;
            }
            ++total;
            if (rows >= kMaxRows)
                continue;
            ++rows;
            const char* mark = f.severity == Severity::error ? ":x:" : ":warning:";
            findings += "| " + std::string(mark) + " | " + rule + " | " + where + " | " +
                        cell(f.message) + (f.direction == "down" ? " (down script)" : "") + " | " +
                        cell(f.fix) + " |\n";
        }
    }
    if (total) {
        out +=
            "\n### Findings\n\n| | rule | where | what | safe recipe |\n|---|---|---|---|---|\n" +
            findings;
        if (total > rows)
            out += "\n" + std::to_string(total - rows) +
                   " more findings: run `rollsafe check` for all.\n";
    }
    if (!allowed.empty())
        out +=
            "\n### Suppressed (review these)\n\n| rule | where | what | reason "
            "|\n|---|---|---|---|\n" +
            allowed;
    return out;
}

}  // namespace rollsafe::check
