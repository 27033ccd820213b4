#include "core/check/sql_source.h"

#include <pg_query.h>

#include <algorithm>

#include "core/sql/parser.h"

namespace rollsafe::check {

LineIndex::LineIndex(std::string_view text, int first_line)
    : m_text(text), m_first_line(first_line) {
    m_starts.reserve(text.size() / 40 + 1);
    m_starts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n')
            m_starts.push_back(i + 1);
}

text::LineCol LineIndex::at(std::size_t offset) const {
    offset = std::min(offset, m_text.size());
    auto it = std::upper_bound(m_starts.begin(), m_starts.end(), offset);
    std::size_t idx = static_cast<std::size_t>(it - m_starts.begin()) - 1;
    text::LineCol lc;
    lc.line = m_first_line + static_cast<int>(idx);
    int col = 1;
    for (std::size_t i = m_starts[idx]; i < offset; ++i)
        if ((static_cast<unsigned char>(m_text[i]) & 0xC0) != 0x80)
            ++col;
    lc.col = col;
    return lc;
}

std::size_t LineIndex::line_start(int line) const {
    int idx = line - m_first_line;
    if (idx < 0 || idx >= static_cast<int>(m_starts.size()))
        return m_text.size();
    return m_starts[static_cast<std::size_t>(idx)];
}

std::string_view LineIndex::line_text(int line) const {
    int idx = line - m_first_line;
    if (idx < 0 || idx >= static_cast<int>(m_starts.size()))
        return {};
    std::size_t start = m_starts[static_cast<std::size_t>(idx)];
    std::size_t end = static_cast<std::size_t>(idx) + 1 < m_starts.size()
                          ? m_starts[static_cast<std::size_t>(idx) + 1] - 1
                          : m_text.size();
    auto out = m_text.substr(start, end - start);
    if (!out.empty() && out.back() == '\r')
        out.remove_suffix(1);
    return out;
}

namespace {

// Returns the offset just past the last token in text[from, to): comments, blanks and a
// trailing ';' are not part of a statement. Quoted text is skipped whole.
std::size_t last_token_end(const std::string& text, std::size_t from, std::size_t to) {
    std::size_t i = from, last = from;
    while (i < to) {
        std::size_t next = sql::skip_space_and_comments(text, i);
        if (next >= to)
            break;
        i = next;
        char c = text[i];
        if (c == ';') {
            ++i;
            continue;
        }
        if (c == '\'' || c == '"') {
            std::size_t j = i + 1;
            while (j < to) {
                if (text[j] == c) {
                    if (j + 1 < to && text[j + 1] == c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\'' && text[j] == '\\' && i > 0 &&
                    (text[i - 1] == 'E' || text[i - 1] == 'e'))
                    ++j;
                ++j;
            }
            i = std::min(to, j + 1);
        } else if (c == '$') {
            std::size_t j = i + 1;
            while (j < to && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_'))
                ++j;
            if (j < to && text[j] == '$' &&
                !(j > i + 1 && std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
                std::string_view tag(text.data() + i, j - i + 1);
                auto close = std::string_view(text.data(), to).find(tag, j + 1);
                i = close == std::string_view::npos ? to : close + tag.size();
            } else {
                i = j;
            }
        } else {
            ++i;
            while (i < to && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != ';' &&
                   text[i] != '\'' && text[i] != '"' && text[i] != '$' &&
                   !(text[i] == '-' && i + 1 < to && text[i + 1] == '-') &&
                   !(text[i] == '/' && i + 1 < to && text[i + 1] == '*'))
                ++i;
        }
        last = i;
    }
    return last;
}

}  // namespace

SqlSource parse_sql(const std::string& text, const std::string& tree_json) {
    SqlSource out;
    const std::size_t base = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    std::string json = tree_json;
    if (json.empty()) {
        const char* body = text.c_str() + base;
        PgQueryParseResult r = pg_query_parse(body);
        if (r.error) {
            SqlError e;
            e.message = r.error->message ? r.error->message : "syntax error";
            int pos = r.error->cursorpos;  // 1-based, in characters
            e.offset =
                base + (pos > 0 ? text::byte_offset_of_char(std::string_view(body),
                                                            static_cast<std::size_t>(pos - 1))
                                : 0);
            out.error = std::move(e);
            pg_query_free_parse_result(r);
            return out;
        }
        json = r.parse_tree ? r.parse_tree : "{}";
        pg_query_free_parse_result(r);
    }
    std::string err;
    if (!out.doc.parse(std::move(json), &err)) {
        out.error = SqlError{base, "cannot read libpg_query's parse tree: " + err};
        return out;
    }
    const auto& stmts = out.doc.root()["stmts"];
    out.statements.reserve(stmts.size());
    const std::size_t size = text.size();
    for (const auto& s : stmts) {
        std::size_t loc = base + static_cast<std::size_t>(s["stmt_location"].integer());
        std::size_t len = static_cast<std::size_t>(s["stmt_len"].integer());
        std::size_t end = len == 0 ? size : std::min(size, loc + len);
        SqlStatement st;
        st.offset = std::min(sql::skip_space_and_comments(text, loc), end);
        st.end = std::max(st.offset, last_token_end(text, st.offset, end));
        const auto& wrapper = s["stmt"];
        st.kind = wrapper.kind();
        st.node = &wrapper.inner();
        st.base = base;
        out.statements.push_back(st);
    }
    return out;
}

}  // namespace rollsafe::check
