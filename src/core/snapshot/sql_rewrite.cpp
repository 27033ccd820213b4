#include "core/snapshot/sql_rewrite.h"

#include <cctype>

#include "core/base/text.h"

namespace rollsafe::snapshot {
namespace {

enum class Tok { word, quoted, string, dollar, number, op, semicolon, space, comment, meta };

struct Token {
    Tok kind;
    std::size_t begin, end;
};

bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80);
}
bool ident_char(char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

// Tokenizes SQL as pg_restore writes it. A backslash at the start of a line between statements
// is a psql meta-command running to the end of the line.
std::vector<Token> tokenize(const std::string& s) {
    std::vector<Token> out;
    std::size_t i = 0, n = s.size();
    bool line_start = true;
    while (i < n) {
        std::size_t b = i;
        char c = s[i];
        if (c == '\\' && line_start) {
            while (i < n && s[i] != '\n')
                ++i;
            out.push_back({Tok::meta, b, i});
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c))) {
            while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) {
                if (s[i] == '\n')
                    line_start = true;
                ++i;
            }
            out.push_back({Tok::space, b, i});
            continue;
        }
        line_start = false;
        if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                ++i;
            out.push_back({Tok::comment, b, i});
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            int depth = 0;
            while (i < n) {
                if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
                    i += 2;
                    if (--depth == 0)
                        break;
                } else {
                    ++i;
                }
            }
            out.push_back({Tok::comment, b, i});
        } else if (c == '\'' || ((c == 'E' || c == 'e') && i + 1 < n && s[i + 1] == '\'')) {
            bool escapes = c != '\'';
            i += escapes ? 2 : 1;
            while (i < n) {
                if (escapes && s[i] == '\\') {
                    i += 2;
                } else if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'') {
                    i += 2;
                } else if (s[i] == '\'') {
                    ++i;
                    break;
                } else {
                    ++i;
                }
            }
            out.push_back({Tok::string, b, i});
        } else if (c == '"') {
            ++i;
            while (i < n) {
                if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
                    i += 2;
                else if (s[i] == '"') {
                    ++i;
                    break;
                } else
                    ++i;
            }
            out.push_back({Tok::quoted, b, i});
        } else if (c == '$' && i + 1 < n && (s[i + 1] == '$' || ident_start(s[i + 1]))) {
            std::size_t j = i + 1;
            while (j < n && s[j] != '$' && ident_char(s[j]) && s[j] != '$')
                ++j;
            if (j < n && s[j] == '$') {
                std::string tag = s.substr(i, j - i + 1);
                auto close = s.find(tag, j + 1);
                i = close == std::string::npos ? n : close + tag.size();
                out.push_back({Tok::dollar, b, i});
            } else {
                ++i;
                out.push_back({Tok::op, b, i});
            }
        } else if (ident_start(c)) {
            while (i < n && ident_char(s[i]))
                ++i;
            out.push_back({Tok::word, b, i});
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            while (i < n && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.'))
                ++i;
            out.push_back({Tok::number, b, i});
        } else if (c == ';') {
            ++i;
            out.push_back({Tok::semicolon, b, i});
        } else {
            ++i;
            out.push_back({Tok::op, b, i});
        }
    }
    return out;
}

// Returns an identifier token's value: unquoted words fold to lower case.
std::string ident_value(const std::string& s, const Token& t) {
    if (t.kind == Tok::quoted) {
        std::string out;
        for (std::size_t i = t.begin + 1; i + 1 < t.end; ++i) {
            out += s[i];
            if (s[i] == '"')
                ++i;
        }
        return out;
    }
    return text::to_lower(s.substr(t.begin, t.end - t.begin));
}

}  // namespace

std::vector<std::string> split_qualified_name(const std::string& text) {
    std::vector<std::string> parts;
    auto tokens = tokenize(text);
    for (const auto& t : tokens)
        if (t.kind == Tok::word || t.kind == Tok::quoted)
            parts.push_back(ident_value(text, t));
    return parts;
}

std::vector<std::string> split_script(const std::string& script) {
    std::vector<std::string> out;
    std::string cur;
    for (const auto& t : tokenize(script)) {
        if (t.kind == Tok::comment || t.kind == Tok::meta)
            continue;
        if (t.kind == Tok::semicolon) {
            auto stmt = std::string(text::trim(cur));
            if (!stmt.empty())
                out.push_back(stmt);
            cur.clear();
            continue;
        }
        cur.append(script, t.begin, t.end - t.begin);
    }
    auto stmt = std::string(text::trim(cur));
    if (!stmt.empty())
        out.push_back(stmt);
    return out;
}

std::string move_to_schema(const std::string& statement, const std::set<QualifiedName>& names,
                           const std::string& to_schema) {
    auto tokens = tokenize(statement);
    std::string out;
    std::size_t copied = 0;
    auto replace = [&](std::size_t b, std::size_t e, const std::string& with) {
        out.append(statement, copied, b - copied);
        out += with;
        copied = e;
    };
    auto previous_word = [&](std::size_t i) -> std::string {
        while (i > 0) {
            --i;
            if (tokens[i].kind == Tok::space || tokens[i].kind == Tok::comment)
                continue;
            if (tokens[i].kind != Tok::word)
                return "";
            return text::to_lower(
                statement.substr(tokens[i].begin, tokens[i].end - tokens[i].begin));
        }
        return "";
    };
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (t.kind == Tok::word || t.kind == Tok::quoted) {
            // schema . name, and not schema . name ( which would be a function.
            std::size_t dot = i + 1;
            if (dot >= tokens.size() || tokens[dot].kind != Tok::op ||
                statement[tokens[dot].begin] != '.')
                continue;
            std::size_t nm = dot + 1;
            if (nm >= tokens.size() ||
                (tokens[nm].kind != Tok::word && tokens[nm].kind != Tok::quoted))
                continue;
            // Part of a longer name (db.schema.name, or schema.table.column after the table)?
            if (i >= 2 && tokens[i - 1].kind == Tok::op && statement[tokens[i - 1].begin] == '.')
                continue;
            // A call (schema.fn(...), written without a space as pg_dump does) is not a relation,
            // but REFERENCES schema.table(col) is.
            std::size_t after = nm + 1;
            bool call = after < tokens.size() && tokens[after].kind == Tok::op &&
                        statement[tokens[after].begin] == '(';
            if (call && !(previous_word(i) == "references"))
                continue;
            if (names.count({ident_value(statement, t), ident_value(statement, tokens[nm])}))
                replace(t.begin, t.end, text::quote_ident(to_schema));
            i = nm;
        } else if (t.kind == Tok::string && statement[t.begin] == '\'') {
            std::string body;
            for (std::size_t k = t.begin + 1; k + 1 < t.end; ++k) {
                body += statement[k];
                if (statement[k] == '\'')
                    ++k;
            }
            if (body.size() > 200 || body.find('.') == std::string::npos)
                continue;
            auto parts = split_qualified_name(body);
            if (parts.size() != 2 || !names.count({parts[0], parts[1]}))
                continue;
            std::string moved = text::quote_ident(to_schema) + "." + text::quote_ident(parts[1]);
            replace(t.begin, t.end, text::quote_literal(moved));
        }
    }
    out.append(statement, copied, std::string::npos);
    return out;
}

std::string first_keyword(const std::string& statement) {
    for (const auto& t : tokenize(statement)) {
        if (t.kind == Tok::word)
            return text::to_upper(statement.substr(t.begin, t.end - t.begin));
        if (t.kind != Tok::space && t.kind != Tok::comment)
            return "";
    }
    return "";
}

}  // namespace rollsafe::snapshot
