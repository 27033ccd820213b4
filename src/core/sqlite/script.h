#pragma once

#include <string>
#include <vector>

#include "core/engine/engine.h"

namespace rollsafe::sqlite {

// One statement of an SQLite script, where it starts in its file.
struct ScriptStatement {
    std::string text;
    int line = 1, col = 1;       // of the first character that is not space or comment
    std::size_t offset = 0;      // byte offset of that character in the script text
};

// Splits a script into statements the way the sqlite3 shell does (sqlite3_complete: a statement
// ends at a semicolon that is not inside a string, comment or CREATE TRIGGER body). Pieces that
// hold only comments are dropped. first_line is the file line where text begins.
std::vector<ScriptStatement> split_script(const std::string& text, int first_line = 1);

// Returns the planned statements of a script ("path:line:col" positions). Throws Error(USAGE)
// when the script controls transactions itself (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...):
// rollsafe wraps each migration in one.
std::vector<PlannedStatement> plan_script(const std::string& path, const std::string& text,
                                          int first_line = 1);

// Turns a byte offset inside a statement into "path:line:col" of the file.
std::string position_of(const std::string& path, const ScriptStatement& st, int offset_in_statement);

}  // namespace rollsafe::sqlite
