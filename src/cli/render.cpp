#include "cli/render.h"

namespace rollsafe::cli {

std::string render_diagnostics(const std::vector<Diagnostic>& diagnostics,
                               const std::string& severity) {
    std::string out;
    for (const auto& d : diagnostics) {
        std::string loc;
        if (!d.file.empty()) {
            loc = d.file;
            if (d.line > 0)
                loc += ":" + std::to_string(d.line);
            if (d.line > 0 && d.col > 0)
                loc += ":" + std::to_string(d.col);
            loc += ": ";
        }
        out += loc + severity + ": " + d.message + "\n";
        if (!d.hint.empty())
            out += "  hint: " + d.hint + "\n";
    }
    return out;
}

nlohmann::json diagnostic_json(const Diagnostic& d) {
    nlohmann::json j = {{"file", d.file}, {"message", d.message}};
    if (d.line > 0)
        j["line"] = d.line;
    if (d.col > 0)
        j["col"] = d.col;
    if (!d.hint.empty())
        j["hint"] = d.hint;
    return j;
}

}  // namespace rollsafe::cli
