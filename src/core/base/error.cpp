#include "core/base/error.h"

namespace rollsafe {

std::string Diagnostic::location_and_message() const {
    std::string out;
    if (!file.empty()) {
        out += file;
        if (line > 0) {
            out += ':' + std::to_string(line);
            if (col > 0)
                out += ':' + std::to_string(col);
        }
        out += ": ";
    }
    out += message;
    return out;
}

Error::Error(ExitCode code, const std::string& message, std::string hint,
             std::vector<Diagnostic> diagnostics)
    : std::runtime_error(message),
      m_code(code),
      m_hint(std::move(hint)),
      m_diagnostics(std::move(diagnostics)) {}

Error usage_error(const std::string& message, std::string hint) {
    return Error(ExitCode::usage, message, std::move(hint));
}

}  // namespace rollsafe
