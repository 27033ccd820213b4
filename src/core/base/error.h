#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/exit_code.h"

namespace rollsafe {

// A problem tied to a place in a file: "path:line:col: message" plus an optional hint.
struct Diagnostic {
    std::string file;
    int line = 0;  // 1-based; 0 when unknown
    int col = 0;   // 1-based; 0 when unknown
    std::string message;
    std::string hint;

    // Returns "file:line:col: message" (omitting the parts that are unknown).
    std::string location_and_message() const;
};

// The one exception type the core throws for failures it understands. It carries the exit code
// the process must end with, a hint for the person reading it, and any per-file diagnostics.
class Error : public std::runtime_error {
  public:
    Error(ExitCode code, const std::string& message, std::string hint = {},
          std::vector<Diagnostic> diagnostics = {});

    ExitCode code() const { return m_code; }
    const std::string& hint() const { return m_hint; }
    const std::vector<Diagnostic>& diagnostics() const { return m_diagnostics; }

  private:
    ExitCode m_code;
    std::string m_hint;
    std::vector<Diagnostic> m_diagnostics;
};

// Shorthand for bad arguments, configuration or files (exit 2).
Error usage_error(const std::string& message, std::string hint = {});

}  // namespace rollsafe
