#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rollsafe {

// One leaf of a TOML document, flattened: "lock.wait", "target[2].labels.region".
struct TomlValue {
    enum class Type { string, integer, floating, boolean, datetime, array, table };
    std::string key;
    Type type = Type::string;
    std::string text;  // string value, or the value printed as TOML
    std::int64_t integer = 0;
    bool boolean = false;
    std::vector<std::string> items;  // array of strings (other arrays: items printed as TOML)
    int line = 0;
    int col = 0;
};

// Returns a human name for a TOML type ("a string", "an integer", ...).
const char* toml_type_name(TomlValue::Type type);

// Parses TOML text (named `origin` in messages) into its leaves, in document order. Empty
// tables appear as a leaf of type table. Throws Error(USAGE) with "origin:line:col: message" on
// a syntax error (duplicate keys included).
std::vector<TomlValue> read_toml(const std::string& text, const std::string& origin);

}  // namespace rollsafe
