#include "core/base/dsn.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>

#include "core/base/error.h"

namespace rollsafe {
namespace {

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
    if (pos + word.size() > text.size())
        return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i])
            return false;
    }
    return true;
}

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Redacts "user:password@" in every "scheme://" authority of text.
std::string redact_userinfo(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        auto scheme = text.find("://", pos);
        if (scheme == std::string_view::npos)
            break;
        auto auth_start = scheme + 3;
        auto auth_end = auth_start;
        // Scan past '/' too: a password with an unencoded '/' must not leak ("u:pa/ss@h").
        while (auth_end < text.size() && text[auth_end] != '?' && text[auth_end] != '#' &&
               !is_space(text[auth_end]) && text[auth_end] != '"' && text[auth_end] != '\'')
            ++auth_end;
        auto authority = text.substr(auth_start, auth_end - auth_start);
        auto at = authority.rfind('@');
        out.append(text.substr(pos, auth_start - pos));
        if (at != std::string_view::npos) {
            auto userinfo = authority.substr(0, at);
            auto colon = userinfo.find(':');
            if (colon != std::string_view::npos) {
                out.append(userinfo.substr(0, colon));
                out.append(":***");
            } else {
                out.append(userinfo);
            }
            out.append(authority.substr(at));
        } else {
            out.append(authority);
        }
        pos = auth_end;
    }
    out.append(text.substr(pos));
    return out;
}

// Redacts the value after every "password" keyword followed by '=' (query string or conninfo).
std::string redact_password_params(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!iequals_at(text, i, "password")) {
            ++i;
            continue;
        }
        std::size_t j = i + 8;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t'))
            ++j;
        if (j >= text.size() || text[j] != '=') {
            i = j;
            continue;
        }
        ++j;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t'))
            ++j;
        out.append(text.substr(pos, j - pos));
        std::size_t end = j;
        if (end < text.size() && (text[end] == '\'' || text[end] == '"')) {
            char q = text[end++];
            while (end < text.size() && text[end] != q) {
                if (text[end] == '\\' && end + 1 < text.size())
                    ++end;
                ++end;
            }
            if (end < text.size())
                ++end;
        } else {
            while (end < text.size() && !is_space(text[end]) && text[end] != '&' &&
                   text[end] != '#' && text[end] != ',' && text[end] != ';' && text[end] != ')')
                ++end;
        }
        out.append("***");
        pos = end;
        i = end;
    }
    out.append(text.substr(pos));
    return out;
}

// Quotes a conninfo value unless it is plain. A value holding one of the characters where
// redact() ends an unquoted password ("&#,;)") is quoted too, so that all of it is redacted.
std::string quote_conninfo_value(const std::string& v) {
    bool plain = !v.empty();
    for (char c : v)
        plain = plain && !is_space(c) && c != '\'' && c != '\\' &&
                std::string_view("&#,;)\"").find(c) == std::string_view::npos;
    if (plain)
        return v;
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

}  // namespace

std::string redact(std::string_view text) {
    return redact_password_params(redact_userinfo(text));
}

Dsn Dsn::parse(const std::string& text) {
    Dsn dsn;
    if (text.empty())
        return dsn;
    char* errmsg = nullptr;
    PQconninfoOption* opts = PQconninfoParse(text.c_str(), &errmsg);
    if (!opts) {
        std::string why = errmsg ? errmsg : "out of memory";
        if (errmsg)
            PQfreemem(errmsg);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
            why.pop_back();
        throw usage_error("invalid database URL: " + redact(why),
                          "use postgres://user@host:5432/db or \"host=... dbname=...\"; "
                          "keep the password in PGPASSFILE or a service file");
    }
    for (auto* o = opts; o->keyword; ++o) {
        if (o->val)
            dsn.m_params[o->keyword] = o->val;
    }
    PQconninfoFree(opts);
    return dsn;
}

std::optional<std::string> Dsn::get(const std::string& key) const {
    auto it = m_params.find(key);
    if (it == m_params.end())
        return std::nullopt;
    return it->second;
}

void Dsn::set(const std::string& key, const std::string& value) {
    m_params[key] = value;
}
void Dsn::erase(const std::string& key) {
    m_params.erase(key);
}

std::string Dsn::conninfo() const {
    std::string out;
    for (const auto& [k, v] : m_params) {
        if (!out.empty())
            out += ' ';
        out += k + "=" + quote_conninfo_value(v);
    }
    return out;
}

std::string Dsn::conninfo_without_password() const {
    Dsn copy = *this;
    copy.erase("password");
    return copy.conninfo();
}

std::string Dsn::display() const {
    // What libpq will use: the DSN's own values, else its PG* variables.
    auto value = [&](const char* key, const char* env) -> std::optional<std::string> {
        if (auto v = get(key))
            return v;
        const char* e = std::getenv(env);
        if (e && *e)
            return std::string(e);
        return std::nullopt;
    };
    if (auto service = value("service", "PGSERVICE"); service && !get("host"))
        return "service " + *service;
    std::string out;
    auto user = value("user", "PGUSER");
    if (user)
        out += *user + "@";
    out += value("host", "PGHOST")
               .value_or(value("hostaddr", "PGHOSTADDR").value_or("(default host)"));
    if (auto p = value("port", "PGPORT"))
        out += ":" + *p;
    out += "/" + value("dbname", "PGDATABASE").value_or(user.value_or("(default db)"));
    return out;
}

}  // namespace rollsafe
