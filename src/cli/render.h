#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/error.h"

namespace rollsafe::cli {

// Returns "path:line:col: message" lines, each followed by "  hint: ..." when there is one.
std::string render_diagnostics(const std::vector<Diagnostic>& diagnostics,
                               const std::string& severity);

nlohmann::json diagnostic_json(const Diagnostic& d);

}  // namespace rollsafe::cli
