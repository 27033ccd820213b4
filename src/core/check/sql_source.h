#pragma once

// A script parsed for checking: statements with byte spans and their parse trees (tree.h),
// and a line index that maps offsets to file lines in O(log lines), so that reporting stays
// linear in the size of the input.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/text.h"
#include "core/check/tree.h"

namespace rollsafe::check {

// Maps byte offsets of a text to 1-based file lines and character columns.
class LineIndex {
  public:
    LineIndex() = default;
    // Indexes `text` (which must outlive this index); its first line is file line `first_line`.
    LineIndex(std::string_view text, int first_line);

    // Returns the file line and column of a byte offset (clamped to the text).
    text::LineCol at(std::size_t offset) const;
    // Returns the text of a file line without its line end ("" when out of range).
    std::string_view line_text(int line) const;
    // Returns the byte offset where a file line starts (the text size when out of range).
    std::size_t line_start(int line) const;
    // Returns the file line of the text's first and last lines.
    int first_line() const { return m_first_line; }
    int last_line() const { return m_first_line + static_cast<int>(m_starts.size()) - 1; }

  private:
    std::string_view m_text;
    std::vector<std::size_t> m_starts;
    int m_first_line = 1;
};

// One statement of a script.
struct SqlStatement {
    std::size_t offset = 0;  // byte offset of its first token in the script text
    std::size_t end = 0;     // byte offset just past its last token
    std::string_view kind;   // "AlterTableStmt", "IndexStmt", ...
    const tree::Node* node =
        nullptr;           // the statement's fields, e.g. {"relation": ..., "cmds": ...}
    std::size_t base = 0;  // add to libpg_query "location" values to get offsets
};

// Where PostgreSQL's parser gave up.
struct SqlError {
    std::size_t offset = 0;
    std::string message;
};

// A parsed script; `statements` is empty when `error` is set.
struct SqlSource {
    tree::Document doc;
    std::vector<SqlStatement> statements;
    std::optional<SqlError> error;
};

// Parses a script with libpg_query (PostgreSQL 15's parser). A leading UTF-8 byte-order mark
// is skipped; offsets stay offsets into `text`. Never throws for bad SQL. A non-empty
// `tree_json` is libpg_query's parse tree of this text from an earlier parse (Script::
// parse_tree): it is read instead of parsing the text a second time.
SqlSource parse_sql(const std::string& text, const std::string& tree_json = "");

}  // namespace rollsafe::check
