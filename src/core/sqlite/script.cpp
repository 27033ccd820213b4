#include "core/sqlite/script.h"

#include <sqlite3.h>

#include <cctype>

#include "core/base/error.h"
#include "core/base/text.h"

namespace rollsafe::sqlite {
namespace {

// Skips spaces and comments from i; returns the index of the next significant character.
std::size_t skip_insignificant(const std::string& s, std::size_t i) {
    while (i < s.size()) {
        if (std::isspace(static_cast<unsigned char>(s[i]))) {
            ++i;
        } else if (s.compare(i, 2, "--") == 0) {
            while (i < s.size() && s[i] != '\n')
                ++i;
        } else if (s.compare(i, 2, "/*") == 0) {
            auto end = s.find("*/", i + 2);
            i = end == std::string::npos ? s.size() : end + 2;
        } else {
            break;
        }
    }
    return i;
}

void advance(const std::string& s, std::size_t from, std::size_t to, int& line, int& col) {
    for (std::size_t i = from; i < to && i < s.size(); ++i) {
        if (s[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
}

}  // namespace

std::vector<ScriptStatement> split_script(const std::string& text, int first_line) {
    std::vector<ScriptStatement> out;
    int line = first_line, col = 1;
    std::size_t pos = 0;  // where line/col point
    std::size_t start = 0;
    while (true) {
        std::size_t sig = skip_insignificant(text, start);
        if (sig >= text.size())
            break;
        // Find the end: the first ';' after which the piece is a complete statement.
        std::size_t end = std::string::npos;
        for (std::size_t i = sig; i < text.size(); ++i) {
            if (text[i] != ';')
                continue;
            std::string piece = text.substr(sig, i - sig + 1);
            if (sqlite3_complete(piece.c_str())) {
                end = i + 1;
                break;
            }
        }
        if (end == std::string::npos)
            end = text.size();
        advance(text, pos, sig, line, col);
        pos = sig;
        ScriptStatement st;
        st.text = text.substr(sig, end - sig);
        st.line = line;
        st.col = col;
        st.offset = sig;
        out.push_back(std::move(st));
        start = end;
    }
    return out;
}

std::string position_of(const std::string& path, const ScriptStatement& st,
                        int offset_in_statement) {
    int line = st.line, col = st.col;
    if (offset_in_statement > 0)
        advance(st.text, 0, static_cast<std::size_t>(offset_in_statement), line, col);
    return path + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::vector<PlannedStatement> plan_script(const std::string& path, const std::string& text,
                                          int first_line) {
    std::vector<PlannedStatement> out;
    std::vector<Diagnostic> problems;
    for (const auto& st : split_script(text, first_line)) {
        std::string first;
        for (char c : st.text) {
            if (!std::isalpha(static_cast<unsigned char>(c)))
                break;
            first += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (first == "BEGIN" || first == "COMMIT" || first == "END" || first == "ROLLBACK" ||
            first == "SAVEPOINT" || first == "RELEASE") {
            problems.push_back({path, st.line, st.col,
                                "transaction control (" + first + ") inside a migration",
                                "rollsafe runs each migration in its own transaction; remove it"});
            continue;
        }
        PlannedStatement p;
        p.index = static_cast<int>(out.size());
        p.position = path + ":" + std::to_string(st.line) + ":" + std::to_string(st.col);
        p.text = st.text;
        p.kind = first.empty() ? "statement" : text::to_lower(first);
        out.push_back(std::move(p));
    }
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
    return out;
}

}  // namespace rollsafe::sqlite
