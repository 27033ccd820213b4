#include "core/sql/parser.h"

#include <pg_query.h>
#include <cctype>

#include "core/base/text.h"

namespace rollsafe::sql {

std::size_t skip_space_and_comments(const std::string& text, std::size_t i) {
    const auto n = text.size();
    while (i < n) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
        } else if (c == '-' && i + 1 < n && text[i + 1] == '-') {
            while (i < n && text[i] != '\n') ++i;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            int depth = 0;
            while (i < n) {
                if (text[i] == '/' && i + 1 < n && text[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (text[i] == '*' && i + 1 < n && text[i + 1] == '/') {
                    --depth;
                    i += 2;
                    if (depth == 0) break;
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

ParsedScript parse_script(const std::string& text) {
    ParsedScript out;
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error) {
        ParseError e;
        e.message = r.error->message ? r.error->message : "syntax error";
        int pos = r.error->cursorpos;  // 1-based, in characters; 0 when unknown
        e.offset = pos > 0 ? text::byte_offset_of_char(text, static_cast<std::size_t>(pos - 1)) : 0;
        auto lc = text::line_col_at(text, e.offset);
        e.line = lc.line;
        e.col = lc.col;
        out.error = e;
        pg_query_free_parse_result(r);
        return out;
    }
    auto tree = nlohmann::json::parse(r.parse_tree);
    pg_query_free_parse_result(r);
    auto& stmts = tree["stmts"];
    if (!stmts.is_array()) return out;
    for (auto& s : stmts) {
        std::size_t loc = s.value("stmt_location", 0);
        std::size_t len = s.value("stmt_len", 0);
        std::size_t end = len == 0 ? text.size() : std::min(text.size(), loc + len);
        std::size_t start = skip_space_and_comments(text, loc);
        if (start > end) start = end;
        Statement st;
        st.offset = start;
        st.text = text.substr(start, end - start);
        while (!st.text.empty() && (st.text.back() == ';' || st.text.back() == ' ' ||
                                    st.text.back() == '\n' || st.text.back() == '\r' ||
                                    st.text.back() == '\t'))
            st.text.pop_back();
        auto lc = text::line_col_at(text, start);
        st.line = lc.line;
        st.col = lc.col;
        if (s.contains("stmt")) {
            st.node = std::move(s["stmt"]);
            if (st.node.is_object() && !st.node.empty()) st.kind = st.node.begin().key();
        }
        out.statements.push_back(std::move(st));
    }
    return out;
}

std::string fingerprint(const std::string& statement) {
    PgQueryFingerprintResult r = pg_query_fingerprint(statement.c_str());
    std::string out;
    if (!r.error && r.fingerprint_str) out = r.fingerprint_str;
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
    auto emit = [&](std::string_view piece) {
        if (piece.empty()) return;
        if (pending_space && !out.empty() && is_word(out.back()) && is_word(piece.front()))
            out += ' ';
        pending_space = false;
        out.append(piece);
    };
    std::size_t i = 0;
    while (i < n) {
        char c = text[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            pending_space = true;
            ++i;
        } else if (c == '-' && i + 1 < n && text[i + 1] == '-') {
            std::size_t e = text.find('\n', i);
            if (e == std::string::npos) e = n;
            auto body = text::trim(std::string_view(text).substr(i, e - i));
            if (text::starts_with(body, "-- rollsafe:")) {
                pending_space = true;
                emit(body);
                out += '\n';
            }
            pending_space = true;
            i = e;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            std::size_t e = skip_space_and_comments(text, i);
            i = e > i ? e : i + 2;
            pending_space = true;
        } else if (c == '\'' || c == '"') {
            // Quoted literal or identifier: copied verbatim ('' and "" are escapes; E'' strings
            // may also use backslashes).
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
            j = std::min(n, j + 1);
            emit(std::string_view(text).substr(i, j - i));
            i = j;
        } else if (c == '$') {
            // Dollar quote $tag$ ... $tag$ (tag may be empty); otherwise a parameter like $1.
            std::size_t j = i + 1;
            while (j < n && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
            bool is_quote = j < n && text[j] == '$' &&
                            !(j > i + 1 && std::isdigit(static_cast<unsigned char>(text[i + 1])));
            if (!is_quote) {
                emit(std::string_view(text).substr(i, j - i));
                i = j;
                continue;
            }
            std::string tag = text.substr(i, j - i + 1);
            std::size_t close = text.find(tag, j + 1);
            std::size_t e = close == std::string::npos ? n : close + tag.size();
            emit(std::string_view(text).substr(i, e - i));
            i = e;
        } else {
            std::size_t j = i + 1;
            if (is_word(c)) {
                while (j < n && is_word(text[j])) ++j;
            }
            emit(std::string_view(text).substr(i, j - i));
            i = j;
        }
    }
    return out;
}

}  // namespace rollsafe::sql
