// check's renderings: text with carets, JSON, JUnit XML (parsed here as XML), GitHub workflow
// commands and markdown.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>

#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/json_writer.h"
#include "core/check/output.h"
#include "core/check/rules.h"

using namespace rollsafe;

namespace {

struct Fixture {
    std::vector<Migration> migrations;
    check::Report report;
};

// Two migrations: one with an error, a warning and a suppression; one clean.
Fixture fixture() {
    Fixture fx;
    std::vector<Diagnostic> problems;
    Migration a;
    a.version = *Version::parse("0042");
    a.name = "drop_phone";
    a.up = make_script("migrations/0042_drop_phone.up.sql",
                       "-- drop what v2.3 no longer reads\n"
                       "ALTER TABLE users DROP COLUMN phone;\n"
                       "ALTER TABLE orders ADD COLUMN meta json;\n"
                       "-- rollsafe:allow=create-index-non-concurrent reason=\"table has 12 rows & "
                       "<no> traffic\"\n"
                       "CREATE INDEX users_email_idx ON users (email);\n",
                       1, problems);
    Migration b;
    b.version = *Version::parse("0043");
    b.name = "add_note";
    b.up = make_script("migrations/0043_add_note.up.sql",
                       "ALTER TABLE orders ADD COLUMN gift_note text;\n", 1, problems);
    EXPECT_TRUE(problems.empty());
    fx.migrations.push_back(std::move(a));
    fx.migrations.push_back(std::move(b));
    fx.report = check::check_migrations({&fx.migrations[0], &fx.migrations[1]}, {});
    return fx;
}

// A minimal XML 1.0 reader: elements, attributes, text, comments, the declaration and the five
// predefined entities plus character references. Throws on malformed input.
struct XmlNode {
    std::string name;
    std::map<std::string, std::string> attrs;
    std::vector<std::unique_ptr<XmlNode>> children;
    std::string text;
    std::vector<const XmlNode*> all(const std::string& n) const {
        std::vector<const XmlNode*> out;
        for (const auto& c : children)
            if (c->name == n)
                out.push_back(c.get());
        return out;
    }
};

class XmlReader {
  public:
    explicit XmlReader(const std::string& s) : m_s(s) {}
    std::unique_ptr<XmlNode> document() {
        skip_ws();
        if (m_s.compare(m_i, 5, "<?xml") == 0) {
            auto e = m_s.find("?>", m_i);
            if (e == std::string::npos)
                throw std::runtime_error("unterminated declaration");
            m_i = e + 2;
        }
        skip_misc();
        auto root = element();
        skip_misc();
        if (m_i != m_s.size())
            throw std::runtime_error("content after the root element");
        return root;
    }

  private:
    const std::string& m_s;
    std::size_t m_i = 0;

    void skip_ws() {
        while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i])))
            ++m_i;
    }
    void skip_misc() {
        while (true) {
            skip_ws();
            if (m_s.compare(m_i, 4, "<!--") != 0)
                return;
            auto e = m_s.find("-->", m_i);
            if (e == std::string::npos)
                throw std::runtime_error("unterminated comment");
            m_i = e + 3;
        }
    }
    std::string name() {
        std::size_t start = m_i;
        while (m_i < m_s.size() &&
               (std::isalnum(static_cast<unsigned char>(m_s[m_i])) || m_s[m_i] == '_' ||
                m_s[m_i] == '-' || m_s[m_i] == ':' || m_s[m_i] == '.'))
            ++m_i;
        if (start == m_i)
            throw std::runtime_error("expected a name at " + std::to_string(m_i));
        return m_s.substr(start, m_i - start);
    }
    std::string decode(const std::string& raw) {
        std::string out;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            char c = raw[i];
            if (c == '<')
                throw std::runtime_error("'<' in character data");
            if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t')
                throw std::runtime_error("control character in XML");
            if (c != '&') {
                out += c;
                continue;
            }
            auto semi = raw.find(';', i);
            if (semi == std::string::npos)
                throw std::runtime_error("unterminated entity");
            std::string ent = raw.substr(i + 1, semi - i - 1);
            if (ent == "amp")
                out += '&';
            else if (ent == "lt")
                out += '<';
            else if (ent == "gt")
                out += '>';
            else if (ent == "quot")
                out += '"';
            else if (ent == "apos")
                out += '\'';
            else if (!ent.empty() && ent[0] == '#')
                out += static_cast<char>(std::stoi(ent.substr(1)));
            else
                throw std::runtime_error("unknown entity &" + ent + ";");
            i = semi;
        }
        return out;
    }
    std::unique_ptr<XmlNode> element() {
        if (m_s[m_i] != '<')
            throw std::runtime_error("expected '<' at " + std::to_string(m_i));
        ++m_i;
        auto node = std::make_unique<XmlNode>();
        node->name = name();
        while (true) {
            skip_ws();
            if (m_s.compare(m_i, 2, "/>") == 0) {
                m_i += 2;
                return node;
            }
            if (m_s[m_i] == '>') {
                ++m_i;
                break;
            }
            auto key = name();
            skip_ws();
            if (m_s[m_i] != '=')
                throw std::runtime_error("expected '=' after attribute " + key);
            ++m_i;
            skip_ws();
            char q = m_s[m_i];
            if (q != '"' && q != '\'')
                throw std::runtime_error("unquoted attribute " + key);
            auto end = m_s.find(q, m_i + 1);
            if (end == std::string::npos)
                throw std::runtime_error("unterminated attribute " + key);
            if (node->attrs.count(key))
                throw std::runtime_error("duplicate attribute " + key);
            node->attrs[key] = decode(m_s.substr(m_i + 1, end - m_i - 1));
            m_i = end + 1;
        }
        while (true) {
            auto lt = m_s.find('<', m_i);
            if (lt == std::string::npos)
                throw std::runtime_error("unterminated element " + node->name);
            node->text += decode(m_s.substr(m_i, lt - m_i));
            m_i = lt;
            if (m_s.compare(m_i, 4, "<!--") == 0) {
                skip_misc();
                continue;
            }
            if (m_s.compare(m_i, 2, "</") == 0) {
                m_i += 2;
                auto n = name();
                if (n != node->name)
                    throw std::runtime_error("</" + n + "> closes <" + node->name + ">");
                skip_ws();
                if (m_s[m_i] != '>')
                    throw std::runtime_error("expected '>'");
                ++m_i;
                return node;
            }
            node->children.push_back(element());
        }
    }
};

}  // namespace

TEST(CheckOutput, TextShowsTheSourceLineWithACaret) {
    auto fx = fixture();
    auto out = check::render_text(fx.report, {});
    EXPECT_NE(
        out.find(
            "migrations/0042_drop_phone.up.sql:2:1: error[drop-column]: DROP COLUMN users.phone"),
        std::string::npos)
        << out;
    // The caret underlines the statement (without its ';').
    EXPECT_NE(out.find("  2 | ALTER TABLE users DROP COLUMN phone;\n    | ^" +
                       std::string(34, '~') + "\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("migrations/0042_drop_phone.up.sql:3:36: warning[json-column]"),
              std::string::npos);
    EXPECT_NE(out.find("  3 | ALTER TABLE orders ADD COLUMN meta json;\n    | " +
                       std::string(35, ' ') + "^~~~\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("suppressed[create-index-non-concurrent]"), std::string::npos);
    EXPECT_NE(out.find("= allowed at line 4: \"table has 12 rows & <no> traffic\""),
              std::string::npos);
    EXPECT_NE(out.find("0042_drop_phone: contract (1 error, 1 warning, 1 suppressed)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("0043_add_note: expand\n"), std::string::npos);
    EXPECT_NE(out.find("check: 2 migrations, 1 error, 1 warning, 1 suppressed (PostgreSQL 15)"),
              std::string::npos);
    EXPECT_EQ(out.find("\x1b["), std::string::npos);  // no colour unless asked
}

TEST(CheckOutput, TextExplainsEachRuleOncePerMigration) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("1");
    m.name = "twice";
    m.up = make_script("x.sql", "ALTER TABLE a DROP COLUMN b;\nALTER TABLE a DROP COLUMN c;\n", 1,
                       problems);
    auto out = check::render_text(check::check_migrations({&m}, {}), {});
    const auto& why = check::find_rule("drop-column")->why;
    auto first = out.find(why);
    ASSERT_NE(first, std::string::npos);
    EXPECT_EQ(out.find(why, first + 1), std::string::npos);
    EXPECT_NE(out.find("x.sql:2:1: error[drop-column]"), std::string::npos);
}

TEST(CheckOutput, TextKeepsVeryLongLinesReadable) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("1");
    m.name = "long";
    std::string sql = "SELECT 1; " + std::string(600, ' ') + "DROP TABLE legacy_carts; SELECT " +
                      std::string(600, '2') + ";\n";
    m.up = make_script("x.sql", sql, 1, problems);
    auto out = check::render_text(check::check_migrations({&m}, {}), {});
    auto caret = out.find("| ...");
    ASSERT_NE(caret, std::string::npos) << out;
    auto line_end = out.find('\n', caret);
    EXPECT_LT(line_end - caret, 200u);
    EXPECT_NE(out.find("DROP TABLE legacy_carts", caret), std::string::npos);
}

TEST(CheckOutput, ColourIsOptIn) {
    check::RenderOptions o;
    o.color = true;
    auto out = check::render_text(fixture().report, o);
    EXPECT_NE(out.find("\x1b[1;31m"), std::string::npos);
}

TEST(CheckOutput, JsonCarriesVerdictsFindingsAndSuppressions) {
    auto fx = fixture();
    check::RenderOptions o;
    o.tool_version = "9.9.9";
    auto doc = nlohmann::json::parse(check::render_json(fx.report, o));
    EXPECT_EQ(doc["version"], "9.9.9");
    EXPECT_EQ(doc["summary"]["errors"], 1);
    EXPECT_EQ(doc["summary"]["warnings"], 1);
    EXPECT_EQ(doc["summary"]["suppressed"], 1);
    EXPECT_EQ(doc["summary"]["exit_code"], 5);
    ASSERT_EQ(doc["migrations"].size(), 2u);
    const auto& m = doc["migrations"][0];
    EXPECT_EQ(m["migration"], "0042_drop_phone");
    EXPECT_EQ(m["class"], "contract");
    EXPECT_EQ(m["blocking"], true);
    EXPECT_EQ(m["compatible_with_previous_release"], false);
    ASSERT_EQ(m["findings"].size(), 3u);
    const auto& f = m["findings"][0];
    EXPECT_EQ(f["rule"], "drop-column");
    EXPECT_EQ(f["line"], 2);
    EXPECT_EQ(f["column"], 1);
    EXPECT_EQ(f["lock"], "ACCESS EXCLUSIVE");
    EXPECT_EQ(f["docs"], "docs/rules/drop-column.md");
    EXPECT_TRUE(f["suppression"].is_null());
    const auto& s = m["findings"][2];
    EXPECT_EQ(s["suppressed"], true);
    EXPECT_EQ(s["suppression"]["reason"], "table has 12 rows & <no> traffic");
    EXPECT_EQ(s["suppression"]["line"], 4);
    EXPECT_EQ(doc["migrations"][1]["class"], "expand");
    EXPECT_TRUE(doc["parse_errors"].empty());
}

TEST(CheckOutput, JunitParsesAsXmlWithOneTestcasePerRuleAndMigration) {
    auto fx = fixture();
    auto xml = check::render_junit(fx.report, {});
    std::unique_ptr<XmlNode> root;
    ASSERT_NO_THROW(root = XmlReader(xml).document()) << xml.substr(0, 400);
    EXPECT_EQ(root->name, "testsuites");
    auto suites = root->all("testsuite");
    ASSERT_EQ(suites.size(), 2u);
    const auto n = check::rules().size();
    EXPECT_EQ(root->attrs["tests"], std::to_string(2 * n));
    EXPECT_EQ(root->attrs["failures"], "1");
    EXPECT_EQ(root->attrs["skipped"], "1");
    EXPECT_EQ(suites[0]->attrs.at("name"), "0042_drop_phone");
    auto cases = suites[0]->all("testcase");
    ASSERT_EQ(cases.size(), n);
    std::map<std::string, const XmlNode*> by_name;
    for (const auto* c : cases)
        by_name[c->attrs.at("name")] = c;
    ASSERT_EQ(by_name.size(), n);
    const auto* drop = by_name.at("drop-column");
    ASSERT_EQ(drop->all("failure").size(), 1u);
    EXPECT_NE(drop->all("failure")[0]->attrs.at("message").find("DROP COLUMN users.phone"),
              std::string::npos);
    EXPECT_NE(drop->all("failure")[0]->text.find("migrations/0042_drop_phone.up.sql:2:1"),
              std::string::npos);
    const auto* idx = by_name.at("create-index-non-concurrent");
    ASSERT_EQ(idx->all("skipped").size(), 1u);
    EXPECT_EQ(idx->all("skipped")[0]->attrs.at("message"),
              "suppressed: table has 12 rows & <no> traffic");
    const auto* json = by_name.at("json-column");
    EXPECT_TRUE(json->all("failure").empty());
    EXPECT_NE(json->all("system-out")[0]->text.find("warning:"), std::string::npos);
    EXPECT_TRUE(by_name.at("rename-table")->children.empty());
    EXPECT_EQ(suites[1]->attrs.at("failures"), "0");
}

TEST(CheckOutput, JunitReportsUnparsableScriptsAsErrors) {
    check::Report r;
    r.parse_errors.push_back({"a.sql", 3, 7, "syntax error at or near \"TABEL\"", "fix the SQL"});
    auto root = XmlReader(check::render_junit(r, {})).document();
    EXPECT_EQ(root->attrs["errors"], "1");
    auto suite = root->all("testsuite");
    ASSERT_EQ(suite.size(), 1u);
    EXPECT_EQ(suite[0]->all("testcase")[0]->all("error")[0]->attrs.at("message"),
              "syntax error at or near \"TABEL\"");
}

TEST(CheckOutput, GithubAnnotationsEscapeTheirFields) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("1");
    m.name = "odd";
    m.up = make_script("db/odd,name:1.sql", "ALTER TABLE a DROP COLUMN b;\n", 1, problems);
    auto out = check::render_github(check::check_migrations({&m}, {}), {});
    EXPECT_TRUE(
        text::starts_with(out,
                          "::error file=db/odd%2Cname%3A1.sql,line=1,col=1,endLine=1,endColumn=28,"
                          "title=rollsafe drop-column::DROP COLUMN a.b"))
        << out;
    EXPECT_NE(out.find("%0A%0Awhy: "), std::string::npos);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
    auto fx = fixture();
    auto all = check::render_github(fx.report, {});
    EXPECT_NE(all.find("::warning file=migrations/0042_drop_phone.up.sql,line=3,col=36"),
              std::string::npos);
    EXPECT_NE(
        all.find("::notice file=migrations/0042_drop_phone.up.sql,line=5,col=1,title=rollsafe "
                 "create-index-non-concurrent (suppressed)::"),
        std::string::npos)
        << all;
}

TEST(CheckOutput, MarkdownSummarisesForAPullRequest) {
    auto fx = fixture();
    auto md = check::render_markdown(fx.report, {});
    EXPECT_NE(md.find(":x: **1 blocking finding**"), std::string::npos) << md;
    EXPECT_NE(md.find("| `0042_drop_phone` | contract | **no** | 1 | 1 | 1 |"), std::string::npos)
        << md;
    EXPECT_NE(md.find("| `0043_add_note` | expand | yes | 0 | 0 | 0 |"), std::string::npos);
    EXPECT_NE(md.find("[`drop-column`](docs/rules/drop-column.md)"), std::string::npos);
    EXPECT_NE(md.find("### Suppressed (review these)"), std::string::npos);
    EXPECT_NE(md.find("table has 12 rows & &lt;no> traffic"), std::string::npos) << md;
    check::Report clean;
    EXPECT_NE(check::render_markdown(clean, {}).find(":white_check_mark: **no blocking findings**"),
              std::string::npos);
}

// Strings are escaped as JSON requires, whatever they hold, and read back unchanged.
TEST(CheckJsonWriter, QuotesEveryKindOfCharacter) {
    std::string all = "plain \"quoted\" back\\slash\nnew\rret\ttab \x01\x1f end é ✓";
    std::string out;
    check::JsonWriter::quote_into(out, all);
    EXPECT_EQ(out,
              "\"plain \\\"quoted\\\" back\\\\slash\\nnew\\rret\\ttab \\u0001\\u001f end é ✓\"");
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), all);
    out.clear();
    check::JsonWriter::quote_into(out, "");
    EXPECT_EQ(out, "\"\"");
    out.clear();
    check::JsonWriter::quote_into(out, "\\");
    EXPECT_EQ(out, "\"\\\\\"");
}
