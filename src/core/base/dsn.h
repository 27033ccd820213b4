#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rollsafe {

// Replaces every password in text with "***": URL user info (user:pw@), URL query parameters
// (?password=...) and key=value conninfo (password=... or password='...'). Every log line and
// every error message passes through it.
std::string redact(std::string_view text);

// A PostgreSQL connection string in either form (URL or key=value), parsed by libpq itself.
class Dsn {
  public:
    // Parses text; throws Error(USAGE) naming the problem (never echoing a password).
    static Dsn parse(const std::string& text);
    // An empty DSN: libpq fills everything from PG* variables and service/pass files.
    Dsn() = default;

    // Returns the value of a conninfo keyword ("host", "dbname", ...), if set.
    std::optional<std::string> get(const std::string& key) const;
    void set(const std::string& key, const std::string& value);
    void erase(const std::string& key);

    // Returns the key=value conninfo, including the password: only for libpq in this process.
    std::string conninfo() const;
    // Returns the key=value conninfo without the password: safe for a child's argv.
    std::string conninfo_without_password() const;
    // Returns a short, password-free description for people: "app@db:5432/shop", filling what
    // the DSN leaves out from libpq's PG* variables ("service shop" for a service name).
    std::string display() const;

    const std::map<std::string, std::string>& params() const { return m_params; }

  private:
    std::map<std::string, std::string> m_params;
};

}  // namespace rollsafe
