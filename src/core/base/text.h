#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rollsafe::text {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
// Splits on every occurrence of sep; keeps empty fields.
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Returns the byte offset of the first invalid UTF-8 sequence, or npos when s is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view s);

// A 1-based line and column (columns count characters, not bytes).
struct LineCol {
    int line = 1;
    int col = 1;
};
// Returns the line and column of a byte offset in s.
LineCol line_col_at(std::string_view s, std::size_t byte_offset);
// Returns the byte offset of the n-th (0-based) UTF-8 character in s, clamped to s.size().
std::size_t byte_offset_of_char(std::string_view s, std::size_t char_index);
// Returns the text of 1-based line `line` without its line end (empty when out of range).
std::string_view line_text(std::string_view s, int line);

// Quotes an SQL identifier: "a""b".
std::string quote_ident(std::string_view ident);
// Quotes an SQL string literal: 'it''s'.
std::string quote_literal(std::string_view value);

}  // namespace rollsafe::text
