#include "core/sql/parser.h"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "core/base/text.h"

namespace rollsafe::sql {

std::size_t skip_space_and_comments(const std::string& text, std::size_t i) {
    const auto n = text.size();
    while (i < n) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
        } else if (c == '-' && i + 1 < n && text[i + 1] == '-') {
            while (i < n && text[i] != '\n')
                ++i;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            int depth = 0;
            while (i < n) {
                if (text[i] == '/' && i + 1 < n && text[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (text[i] == '*' && i + 1 < n && text[i + 1] == '/') {
                    --depth;
                    i += 2;
                    if (depth == 0)
                        break;
                } else {
                    ++i;
                }
            }
        } else {
            break;
        }
    }
    return i;
}

namespace {

const char kBom[] = "\xEF\xBB\xBF";

bool has_bom(const std::string& text) {
    return text.compare(0, 3, kBom) == 0;
}

// Skips a quoted token that starts at i ('...', E'...', "..." or $tag$...$tag$); returns the
// offset just past it, or i when no quoted token starts there.
std::size_t skip_quoted(const std::string& text, std::size_t i) {
    const auto n = text.size();
    char c = text[i];
    if (c == '\'' || c == '"') {
        bool backslash = c == '\'' && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e');
        std::size_t j = i + 1;
        while (j < n) {
            if (backslash && text[j] == '\\') {
                j += 2;
                continue;
            }
            if (text[j] == c) {
                if (j + 1 < n && text[j + 1] == c) {
                    j += 2;
                    continue;
                }
                break;
            }
            ++j;
        }
        return std::min(n, j + 1);
    }
    if (c == '$') {
        std::size_t j = i + 1;
        while (j < n && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_'))
            ++j;
        bool is_quote = j < n && text[j] == '$' &&
                        !(j > i + 1 && std::isdigit(static_cast<unsigned char>(text[i + 1])));
        if (!is_quote)
            return i;
        std::string tag = text.substr(i, j - i + 1);
        auto close = text.find(tag, j + 1);
        return close == std::string::npos ? n : close + tag.size();
    }
    return i;
}

// Returns the offset just past the last token in text[from, to), ignoring comments and
// whitespace; `from` when there is no token.
std::size_t end_of_last_token(const std::string& text, std::size_t from, std::size_t to) {
    std::size_t i = from;
    std::size_t last = from;
    while (i < to) {
        std::size_t next = skip_space_and_comments(text, i);
        if (next >= to)
            break;
        i = next;
        std::size_t q = skip_quoted(text, i);
        i = q > i ? q : i + 1;
        last = std::min(i, to);
    }
    return last;
}

// One entry of libpg_query's "stmts" array, read without building a JSON tree.
struct TreeStatement {
    std::size_t location = 0;
    std::size_t length = 0;  // 0: to the end of the script
    std::string kind;        // the first key of "stmt"
    std::string node_json;   // the "stmt" value, verbatim
};

// A reader for the JSON libpg_query writes: {"version":N,"stmts":[{"stmt":{...},
// "stmt_location":N,"stmt_len":N},...]}. It skips values by their brackets and strings, so a
// script's statements cost one pass over the text and no allocation per node.
class TreeReader {
  public:
    explicit TreeReader(std::string_view s) : m_s(s) {}

    std::optional<std::vector<TreeStatement>> statements() {
        std::vector<TreeStatement> out;
        if (!take('{'))
            return std::nullopt;
        if (take('}'))
            return out;
        do {
            std::string key;
            if (!string(key) || !take(':'))
                return std::nullopt;
            if (key != "stmts") {
                if (!skip_value())
                    return std::nullopt;
                continue;
            }
            if (!take('['))
                return std::nullopt;
            if (take(']'))
                continue;
            do {
                TreeStatement st;
                if (!statement(st))
                    return std::nullopt;
                out.push_back(std::move(st));
            } while (comma());
            if (!take(']'))
                return std::nullopt;
        } while (comma());
        if (!take('}'))
            return std::nullopt;
        return out;
    }

  private:
    bool statement(TreeStatement& st) {
        if (!take('{'))
            return false;
        if (take('}'))
            return true;
        do {
            std::string key;
            if (!string(key) || !take(':'))
                return false;
            space();
            std::size_t from = m_i;
            if (key == "stmt") {
                if (!take('{'))
                    return false;
                if (!take('}') && !string(st.kind))
                    return false;
                m_i = from;
                if (!skip_value())
                    return false;
                st.node_json.assign(m_s.substr(from, m_i - from));
            } else if (key == "stmt_location" || key == "stmt_len") {
                std::size_t n = 0;
                if (!number(n))
                    return false;
                (key == "stmt_location" ? st.location : st.length) = n;
            } else if (!skip_value()) {
                return false;
            }
        } while (comma());
        return take('}');
    }

    void space() {
        while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i])))
            ++m_i;
    }
    // Consumes c (after blanks) when it comes next.
    bool take(char c) {
        space();
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    bool comma() { return take(','); }

    // Reads a string without escapes into out (keys and node names have none); a string with
    // escapes is skipped and out left empty.
    bool string(std::string& out) {
        space();
        if (m_i >= m_s.size() || m_s[m_i] != '"')
            return false;
        std::size_t from = ++m_i;
        bool escaped = false;
        for (; m_i < m_s.size() && m_s[m_i] != '"'; ++m_i) {
            if (m_s[m_i] == '\\') {
                escaped = true;
                ++m_i;
            }
        }
        if (m_i >= m_s.size())
            return false;
        out = escaped ? std::string() : std::string(m_s.substr(from, m_i - from));
        ++m_i;
        return true;
    }

    bool number(std::size_t& out) {
        space();
        std::size_t from = m_i;
        out = 0;
        for (; m_i < m_s.size() && std::isdigit(static_cast<unsigned char>(m_s[m_i])); ++m_i)
            out = out * 10 + static_cast<std::size_t>(m_s[m_i] - '0');
        return m_i > from;
    }

    bool skip_value() {
        space();
        if (m_i >= m_s.size())
            return false;
        char c = m_s[m_i];
        if (c == '"') {
            std::string ignored;
            return string(ignored);
        }
        if (c != '{' && c != '[') {  // number, true, false, null
            while (m_i < m_s.size() && m_s[m_i] != ',' && m_s[m_i] != '}' && m_s[m_i] != ']')
                ++m_i;
            return true;
        }
        int depth = 0;
        while (m_i < m_s.size()) {
            char d = m_s[m_i];
            if (d == '"') {
                std::string ignored;
                if (!string(ignored))
                    return false;
                continue;
            }
            ++m_i;
            if (d == '{' || d == '[') {
                ++depth;
            } else if (d == '}' || d == ']') {
                if (--depth == 0)
                    return true;
            }
        }
        return false;
    }

    std::string_view m_s;
    std::size_t m_i = 0;
};

std::optional<std::vector<TreeStatement>> split_tree(std::string_view json) {
    return TreeReader(json).statements();
}

}  // namespace

ParsedScript parse_script(const std::string& text) {
    ParsedScript out;
    // A UTF-8 byte-order mark is not SQL: parse what follows it, keep offsets in `text`, and
    // count columns as an editor shows them (without the mark).
    const std::size_t base = has_bom(text) ? 3 : 0;
    const std::string body = text.substr(base);
    // libpg_query copies invalid UTF-8 into its JSON parse tree, which then does not parse:
    // report it as the server would (it rejects such a script too) instead of throwing.
    if (auto bad = text::find_invalid_utf8(body); bad != std::string::npos) {
        ParseError e;
        e.message = "invalid byte sequence for encoding \"UTF8\"";
        auto lc = text::line_col_at(body, bad);
        e.offset = base + bad;
        e.line = lc.line;
        e.col = lc.col;
        out.error = e;
        return out;
    }
    PgQueryParseResult r = pg_query_parse(body.c_str());
    if (r.error) {
        ParseError e;
        e.message = r.error->message ? r.error->message : "syntax error";
        int pos = r.error->cursorpos;  // 1-based, in characters; 0 when unknown
        auto off = pos > 0 ? text::byte_offset_of_char(body, static_cast<std::size_t>(pos - 1)) : 0;
        auto lc = text::line_col_at(body, off);
        e.offset = base + off;
        e.line = lc.line;
        e.col = lc.col;
        out.error = e;
        pg_query_free_parse_result(r);
        return out;
    }
    out.tree_json = r.parse_tree ? r.parse_tree : "";
    pg_query_free_parse_result(r);
    auto stmts = split_tree(out.tree_json);
    if (!stmts)
        return out;
    // Lines and columns advance from one statement to the next, so a long script costs one pass
    // (text::line_col_at from the start for every statement was quadratic).
    std::size_t lc_offset = 0;
    text::LineCol lc;
    for (auto& s : *stmts) {
        std::size_t loc = s.location;
        std::size_t len = s.length;
        std::size_t end = len == 0 ? body.size() : std::min(body.size(), loc + len);
        std::size_t start = std::min(skip_space_and_comments(body, loc), end);
        // The statement ends with its last token: no ';', no trailing comments or blanks.
        end = std::max(start, end_of_last_token(body, start, end));
        Statement st;
        st.offset = base + start;
        st.text = body.substr(start, end - start);
        if (start < lc_offset) {  // never expected: statements come in order
            lc = text::line_col_at(body, start);
        } else {
            for (; lc_offset < start; ++lc_offset) {
                char c = body[lc_offset];
                if (c == '\n') {
                    ++lc.line;
                    lc.col = 1;
                } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
                    ++lc.col;
                }
            }
        }
        lc_offset = start;
        st.line = lc.line;
        st.col = lc.col;
        st.kind = std::move(s.kind);
        st.node_json = std::move(s.node_json);
        out.statements.push_back(std::move(st));
    }
    return out;
}

nlohmann::json Statement::node() const {
    if (node_json.empty())
        return nlohmann::json::object();
    return nlohmann::json::parse(node_json, nullptr, false);
}

std::string fingerprint(const std::string& statement) {
    PgQueryFingerprintResult r = pg_query_fingerprint(statement.c_str());
    std::string out;
    if (!r.error && r.fingerprint_str)
        out = r.fingerprint_str;
    pg_query_free_fingerprint_result(r);
    return out;
}

namespace {

bool is_word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           (static_cast<unsigned char>(c) & 0x80);
}

}  // namespace

std::string normalized_for_drift(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    const auto n = text.size();
    bool pending_space = false;
    bool line_blank = true;  // only whitespace so far on this line
    auto emit = [&](std::string_view piece) {
        if (piece.empty())
            return;
        if (pending_space && !out.empty() && is_word(out.back()) && is_word(piece.front()))
            out += ' ';
        pending_space = false;
        line_blank = false;
        out.append(piece);
    };
    std::size_t i = has_bom(text) ? 3 : 0;
    while (i < n) {
        char c = text[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            pending_space = true;
            if (c == '\n')
                line_blank = true;
            ++i;
        } else if (c == '-' && i + 1 < n && text[i + 1] == '-') {
            std::size_t e = text.find('\n', i);
            if (e == std::string::npos)
                e = n;
            // A directive line carries meaning: keep it, in one canonical spelling, on its own
            // line.
            auto body = text::trim(std::string_view(text).substr(i + 2, e - i - 2));
            if (line_blank && text::starts_with(body, "rollsafe:")) {
                if (!out.empty() && out.back() != '\n')
                    out += '\n';
                out += "-- ";
                out.append(body);
                out += '\n';
                pending_space = false;
            } else {
                pending_space = true;
            }
            i = e;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            std::size_t e = skip_space_and_comments(text, i);
            i = e > i ? e : i + 2;
            pending_space = true;
        } else if (c == '\'' || c == '"' || c == '$') {
            // Quoted literals, identifiers and dollar-quoted bodies are copied verbatim.
            std::size_t e = skip_quoted(text, i);
            if (e == i) {  // "$1" and the like
                e = i + 1;
                while (e < n && std::isdigit(static_cast<unsigned char>(text[e])))
                    ++e;
            }
            emit(std::string_view(text).substr(i, e - i));
            i = e;
        } else {
            std::size_t j = i + 1;
            if (is_word(c)) {
                while (j < n && is_word(text[j]))
                    ++j;
            }
            emit(std::string_view(text).substr(i, j - i));
            i = j;
        }
    }
    return out;
}

}  // namespace rollsafe::sql
