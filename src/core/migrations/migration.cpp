#include "core/migrations/migration.h"

#include <cctype>

#include "core/base/sha256.h"
#include "core/base/text.h"

namespace rollsafe {

std::optional<Version> Version::parse(const std::string& text) {
    // The key is built in place, part by part, without a vector of parts: status parses a
    // version for every file and every history row, and compares them while sorting.
    Version v;
    v.m_text = text;
    v.m_key.reserve(text.size());
    std::size_t i = 0;
    while (true) {
        std::size_t end = i;
        while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
            ++end;
        if (end == i)
            return std::nullopt;  // an empty part: "", "1..2", ".1", "1."
        std::size_t nz = i;
        while (nz + 1 < end && text[nz] == '0')
            ++nz;
        if (!v.m_key.empty())
            v.m_key += '.';
        v.m_key.append(text, nz, end - nz);
        if (end == text.size())
            break;
        if (text[end] != '.' && text[end] != '_')
            return std::nullopt;
        i = end + 1;
    }
    // Trailing zero parts do not change a version (Flyway: 1 == 1.0), so they are not in the key.
    while (v.m_key.size() > 2 && v.m_key.compare(v.m_key.size() - 2, 2, ".0") == 0)
        v.m_key.resize(v.m_key.size() - 2);
    return v;
}

int Version::compare(const Version& a, const Version& b) {
    // Keys are digit parts without leading zeros joined by '.': a longer part is a larger
    // number, parts of one length compare as text, and a missing part is 0.
    std::string_view x = a.m_key, y = b.m_key;
    while (!x.empty() || !y.empty()) {
        auto head = [](std::string_view& s) {
            auto dot = s.find('.');
            std::string_view part = s.substr(0, dot);
            s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
            return part.empty() ? std::string_view("0") : part;
        };
        auto px = head(x), py = head(y);
        if (px.size() != py.size())
            return px.size() < py.size() ? -1 : 1;
        int c = px.compare(py);
        if (c != 0)
            return c < 0 ? -1 : 1;
    }
    return 0;
}

const Directive* Script::directive(const std::string& key) const {
    for (const auto& d : directives)
        if (d.key == key)
            return &d;
    return nullptr;
}

std::string Script::drift_sha256() const {
    return sha256_hex(sql::normalized_for_drift(text));
}

std::string Script::where(const sql::Statement& s) const {
    return path + ":" + std::to_string(s.line) + ":" + std::to_string(s.col);
}

Script make_script(const std::string& path, std::string text, int first_line,
                   std::vector<Diagnostic>& problems, bool parse) {
    Script s;
    s.path = path;
    s.first_line = first_line;
    s.sha256 = sha256_hex(text);
    s.directives = parse_directives(text, path, first_line, problems);
    s.text = std::move(text);
    if (parse)
        ensure_parsed(s, problems);
    return s;
}

void ensure_parsed(Script& s, std::vector<Diagnostic>& problems) {
    if (s.parsed)
        return;
    s.parsed = true;
    auto parsed = sql::parse_script(s.text);
    if (parsed.error) {
        const auto& e = *parsed.error;
        problems.push_back({s.path, e.line + s.first_line - 1, e.col, e.message,
                            "PostgreSQL's parser rejected this statement; fix the SQL"});
    }
    for (auto& st : parsed.statements)
        st.line += s.first_line - 1;
    s.statements = std::move(parsed.statements);
    s.parse_tree = std::move(parsed.tree_json);
}

bool has_no_statements(const Script& s) {
    if (s.parsed)
        return s.statements.empty();
    return sql::skip_space_and_comments(s.text, 0) >= s.text.size();
}

}  // namespace rollsafe
