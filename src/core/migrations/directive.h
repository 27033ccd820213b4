#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/error.h"

namespace rollsafe {

// A `-- rollsafe:<key>[=<value>] [reason="..."]` comment line in a script.
struct Directive {
    std::string key;     // "no-transaction", "lock-timeout", "allow", ...
    std::string value;   // "2s", "add-column-not-null", ... (empty when the key takes none)
    std::string reason;  // from reason="..."
    int line = 0;        // 1-based line in the file
    int col = 0;
};

// Finds every directive in text (lines are numbered from first_line). Malformed or unknown
// directives are appended to problems as diagnostics for `path`.
std::vector<Directive> parse_directives(const std::string& text, const std::string& path,
                                        int first_line, std::vector<Diagnostic>& problems);

// The directive keys rollsafe knows, for messages and docs.
const std::vector<std::string>& known_directive_keys();

}  // namespace rollsafe
