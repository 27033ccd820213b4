#include "core/check/output.h"

namespace rollsafe::check {
namespace {

// Escapes the message part of a workflow command.
std::string escape_data(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '%')
            out += "%25";
        else if (c == '\r')
            out += "%0D";
        else if (c == '\n')
            out += "%0A";
        else
            out += c;
    }
    return out;
}

// Escapes a property value of a workflow command.
std::string property(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '%')
            out += "%25";
        else if (c == '\r')
            out += "%0D";
        else if (c == '\n')
            out += "%0A";
        else if (c == ':')
            out += "%3A";
        else if (c == ',')
            out += "%2C";
        else
            out += c;
    }
    return out;
}

std::string command(const char* level, const std::string& file, int line, int col, int end_line,
                    int end_col, const std::string& title, const std::string& message) {
    std::string out = std::string("::") + level + " file=" + property(file);
    if (line > 0)
        out += ",line=" + std::to_string(line);
    if (col > 0)
        out += ",col=" + std::to_string(col);
    if (end_line > 0 && end_line >= line) {
        out += ",endLine=" + std::to_string(end_line);
        if (end_line == line && end_col > col)
            out += ",endColumn=" + std::to_string(end_col);
    }
    out += ",title=" + property(title) + "::" + escape_data(message) + "\n";
    return out;
}

}  // namespace

std::string render_github(const Report& report, const RenderOptions& options) {
    std::string out;
    for (const auto& d : report.parse_errors)
        out += command("error", d.file, d.line, d.col, 0, 0, "rollsafe: syntax error",
                       d.message + "\n" + d.hint);
    for (const auto& v : report.migrations) {
        for (const auto& f : v.findings) {
            std::string title = "rollsafe " + f.rule_id + (f.direction == "down" ? " (down)" : "");
            if (f.suppressed) {
                out += command("notice", f.file, f.line, f.col, 0, 0, title + " (suppressed)",
                               f.message + "\nallowed: " + f.suppression_reason);
                continue;
            }
            std::string body = f.message + "\n\nwhy: " + f.why + "\nfix: " + f.fix +
                               "\ndocs: " + options.docs_base + f.rule_id + ".md";
            out += command(f.severity == Severity::error     ? "error"
                           : f.severity == Severity::warning ? "warning"
                                                             : "notice",
                           f.file, f.line, f.col, f.end_line, f.end_col, title, body);
        }
    }
    return out;
}

}  // namespace rollsafe::check
