#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/duration.h"
#include "core/migrations/directive.h"
#include "core/sql/parser.h"

namespace rollsafe {

// A migration version: digits, or dotted digits for Flyway ("1.2"; "1_2" is read the same way).
// Compared numerically part by part, so "0002" == "2", "1.0" == "1", "1.10" > "1.9", and a
// 20-digit timestamp needs no integer type.
class Version {
  public:
    Version() = default;
    // Parses "0042", "20240101120000" or "1.2.3"; nullopt when it is not a version.
    static std::optional<Version> parse(const std::string& text);

    const std::string& text() const { return m_text; }  // as written in the file name
    const std::string& key() const { return m_key; }    // normalised: "42", "1.2.3", "1" for "1.0"

    friend bool operator<(const Version& a, const Version& b) { return compare(a, b) < 0; }
    friend bool operator==(const Version& a, const Version& b) { return a.m_key == b.m_key; }
    friend bool operator!=(const Version& a, const Version& b) { return !(a == b); }
    friend bool operator<=(const Version& a, const Version& b) { return compare(a, b) <= 0; }
    friend bool operator>(const Version& a, const Version& b) { return compare(a, b) > 0; }
    static int compare(const Version& a, const Version& b);

  private:
    std::string m_text;
    std::string m_key;  // digit parts without leading zeros, joined by '.'
};

// One script (up or down) of a migration.
struct Script {
    std::string path;                        // the file, for messages
    std::string text;                        // the script (for dbmate: its section of the file)
    int first_line = 1;                      // line of the file where `text` begins
    std::string sha256;                      // of text
    std::vector<sql::Statement> statements;  // lines and columns are lines of the file
    std::vector<Directive> directives;
    bool parsed = false;     // statements filled (see ensure_parsed)
    std::string parse_tree;  // libpg_query's JSON of text, kept by ensure_parsed for the checks

    // Returns the SHA-256 of sql::normalized_for_drift(text), computed on each call: it is
    // needed only for a pending migration's history row and for a script whose sha256 no longer
    // matches its history (status computed it for every file, a sixth of its time).
    std::string drift_sha256() const;
    // Returns the first directive with this key, if any.
    const Directive* directive(const std::string& key) const;
    bool no_transaction() const { return directive("no-transaction") != nullptr; }
    // Returns "path:line:col" of a statement.
    std::string where(const sql::Statement& s) const;
};

struct Migration {
    Version version;
    std::string name;
    Script up;
    std::optional<Script> down;  // absent when irreversible (or an older image lacks it)

    // "0042_add_orders"
    std::string id() const { return version.text() + "_" + name; }
    bool irreversible() const { return up.directive("irreversible") != nullptr; }
};

// Builds a Script from text: checksums, directives and statements (parsed with PostgreSQL's
// parser). Problems (bad SQL with file:line:col, bad directives) are appended to `problems`.
Script make_script(const std::string& path, std::string text, int first_line,
                   std::vector<Diagnostic>& problems, bool parse = true);

// Parses a script made with parse = false (commands that only need checksums, like status, skip
// the parser for speed). Problems (bad SQL) are appended to `problems`.
void ensure_parsed(Script& script, std::vector<Diagnostic>& problems);

// True when the script holds nothing but whitespace and comments (no parse needed).
bool has_no_statements(const Script& script);

}  // namespace rollsafe
