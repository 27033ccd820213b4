#include "core/migrations/migration.h"

#include <cctype>

#include "core/base/sha256.h"
#include "core/base/text.h"

namespace rollsafe {

std::optional<Version> Version::parse(const std::string& text) {
    if (text.empty())
        return std::nullopt;
    Version v;
    v.m_text = text;
    std::string part;
    auto flush = [&]() -> bool {
        if (part.empty())
            return false;
        auto nz = part.find_first_not_of('0');
        v.m_parts.push_back(nz == std::string::npos ? "0" : part.substr(nz));
        part.clear();
        return true;
    };
    for (char c : text) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            part += c;
        } else if (c == '.' || c == '_') {
            if (!flush())
                return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    if (!flush())
        return std::nullopt;
    // Trailing zero parts do not change a version (Flyway: 1 == 1.0), so they are not in the key.
    while (v.m_parts.size() > 1 && v.m_parts.back() == "0")
        v.m_parts.pop_back();
    v.m_key = text::join(v.m_parts, ".");
    return v;
}

int Version::compare(const Version& a, const Version& b) {
    std::size_t n = std::max(a.m_parts.size(), b.m_parts.size());
    for (std::size_t i = 0; i < n; ++i) {
        const std::string zero = "0";
        const auto& x = i < a.m_parts.size() ? a.m_parts[i] : zero;
        const auto& y = i < b.m_parts.size() ? b.m_parts[i] : zero;
        if (x.size() != y.size())
            return x.size() < y.size() ? -1 : 1;
        int c = x.compare(y);
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
