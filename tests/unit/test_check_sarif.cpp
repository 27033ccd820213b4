// SARIF output validates against the SARIF 2.1.0 JSON schema (tests/data/sarif, from npm; see
// SOURCE.md there), checked by a small JSON Schema draft-04 validator so no tool or network is
// needed.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/output.h"
#include "core/check/rules.h"

using namespace rollsafe;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Validates JSON against a draft-04 schema: the keywords the SARIF schema uses ($ref to local
// definitions, type, properties, required, additionalProperties, items, enum, minimum, maximum,
// minItems, uniqueItems, pattern, format, anyOf, oneOf).
class SchemaValidator {
  public:
    explicit SchemaValidator(json root) : m_root(std::move(root)) {}

    std::vector<std::string> validate(const json& doc) {
        m_errors.clear();
        check(doc, m_root, "$");
        return m_errors;
    }

  private:
    json m_root;
    std::vector<std::string> m_errors;

    const json& resolve(const std::string& ref) {
        if (!text::starts_with(ref, "#/"))
            throw std::runtime_error("unsupported $ref " + ref);
        return m_root.at(json::json_pointer(ref.substr(1)));
    }

    static bool is_type(const json& v, const std::string& t) {
        if (t == "object")
            return v.is_object();
        if (t == "array")
            return v.is_array();
        if (t == "string")
            return v.is_string();
        if (t == "boolean")
            return v.is_boolean();
        if (t == "null")
            return v.is_null();
        if (t == "number")
            return v.is_number();
        if (t == "integer")
            return v.is_number_integer() ||
                   (v.is_number_float() &&
                    v.get<double>() == static_cast<long long>(v.get<double>()));
        return false;
    }

    static bool format_ok(const std::string& format, const std::string& s) {
        static const std::regex uri(R"(^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$)");
        static const std::regex uri_reference(R"(^([^\s%]|%[0-9A-Fa-f]{2})*$)");
        static const std::regex date_time(
            R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+\-]\d{2}:\d{2})$)");
        if (format == "uri")
            return std::regex_match(s, uri);
        if (format == "uri-reference")
            return std::regex_match(s, uri_reference);
        if (format == "date-time")
            return std::regex_match(s, date_time);
        return true;
    }

    void fail(const std::string& path, const std::string& what) {
        m_errors.push_back(path + ": " + what);
    }

    // Returns true when doc matches schema, without recording errors.
    bool matches(const json& doc, const json& schema, const std::string& path) {
        auto saved = m_errors;
        m_errors.clear();
        check(doc, schema, path);
        bool ok = m_errors.empty();
        m_errors = saved;
        return ok;
    }

    void check(const json& doc, const json& schema, const std::string& path) {
        if (schema.contains("$ref")) {
            check(doc, resolve(schema["$ref"]), path);
            return;
        }
        if (schema.contains("type")) {
            const auto& t = schema["type"];
            bool ok = false;
            if (t.is_string())
                ok = is_type(doc, t);
            for (const auto& each : t.is_array() ? t : json::array())
                ok |= is_type(doc, each);
            if (!ok) {
                fail(path, "expected type " + t.dump() + ", got " + doc.type_name());
                return;
            }
        }
        if (schema.contains("enum")) {
            bool ok = false;
            for (const auto& e : schema["enum"])
                ok |= e == doc;
            if (!ok)
                fail(path, "value " + doc.dump() + " not in enum " + schema["enum"].dump());
        }
        if (doc.is_number()) {
            if (schema.contains("minimum") && doc.get<double>() < schema["minimum"].get<double>())
                fail(path, "below minimum " + schema["minimum"].dump());
            if (schema.contains("maximum") && doc.get<double>() > schema["maximum"].get<double>())
                fail(path, "above maximum " + schema["maximum"].dump());
        }
        if (doc.is_string()) {
            auto s = doc.get<std::string>();
            if (schema.contains("pattern") &&
                !std::regex_search(s, std::regex(schema["pattern"].get<std::string>())))
                fail(path, "does not match pattern " + schema["pattern"].dump());
            if (schema.contains("format") && !format_ok(schema["format"], s))
                fail(path, "\"" + s + "\" is not a valid " + schema["format"].get<std::string>());
        }
        if (doc.is_array()) {
            if (schema.contains("minItems") && doc.size() < schema["minItems"].get<std::size_t>())
                fail(path, "fewer than " + schema["minItems"].dump() + " items");
            if (schema.value("uniqueItems", false)) {
                std::set<std::string> seen;
                for (const auto& item : doc)
                    if (!seen.insert(item.dump()).second)
                        fail(path, "duplicate item " + item.dump());
            }
            if (schema.contains("items") && schema["items"].is_object()) {
                for (std::size_t i = 0; i < doc.size(); ++i)
                    check(doc[i], schema["items"], path + "[" + std::to_string(i) + "]");
            }
        }
        if (doc.is_object()) {
            for (const auto& r : schema.value("required", json::array()))
                if (!doc.contains(r.get<std::string>()))
                    fail(path, "missing required " + r.dump());
            const auto props = schema.value("properties", json::object());
            for (auto it = doc.begin(); it != doc.end(); ++it) {
                if (props.contains(it.key())) {
                    check(it.value(), props[it.key()], path + "." + it.key());
                } else if (schema.contains("additionalProperties")) {
                    const auto& extra = schema["additionalProperties"];
                    if (extra.is_boolean() && !extra.get<bool>())
                        fail(path, "unexpected property \"" + it.key() + "\"");
                    if (extra.is_object())
                        check(it.value(), extra, path + "." + it.key());
                }
            }
        }
        if (schema.contains("anyOf")) {
            bool ok = false;
            for (const auto& s : schema["anyOf"])
                ok |= matches(doc, s, path);
            if (!ok)
                fail(path, "matches none of anyOf");
        }
        if (schema.contains("oneOf")) {
            int n = 0;
            for (const auto& s : schema["oneOf"])
                n += matches(doc, s, path);
            if (n != 1)
                fail(path, "matches " + std::to_string(n) + " of oneOf (need exactly 1)");
        }
    }
};

SchemaValidator& sarif_schema() {
    static SchemaValidator v(json::parse(
        slurp(std::string(ROLLSAFE_SOURCE_DIR) + "/tests/data/sarif/sarif-2.1.0-rtm.5.json")));
    return v;
}

std::vector<Migration>& corpus_migrations() {
    static std::vector<Migration> ms = [] {
        std::vector<Migration> out;
        std::vector<Diagnostic> problems;
        const std::string dir = ROLLSAFE_CORPUS_DIR;
        const char* files[] = {"drop_column.sql",
                               "add_enum_value.sql",
                               "create_index_blocking.sql",
                               "narrow_varchar.sql",
                               "prefer_bigint_identity_text_tstz.sql",
                               "do_block.sql"};
        int v = 0;
        for (const char* f : files) {
            Migration m;
            m.version = *Version::parse(std::to_string(++v));
            m.name = f;
            m.up = make_script(dir + "/" + f, slurp(dir + "/" + f), 1, problems);
            out.push_back(std::move(m));
        }
        Migration down;
        down.version = *Version::parse(std::to_string(++v));
        down.name = "add_column_then_down";
        down.up = make_script(dir + "/add_column_then_down.sql",
                              slurp(dir + "/add_column_then_down.sql"), 1, problems);
        down.down = make_script(dir + "/add_column_then_down.down.sql",
                                slurp(dir + "/add_column_then_down.down.sql"), 1, problems);
        out.push_back(std::move(down));
        Migration allowed;
        allowed.version = *Version::parse(std::to_string(++v));
        allowed.name = "allowed";
        allowed.up = make_script("migrations/with space/0009_allowed.up.sql",
                                 "-- rollsafe:allow=drop-table reason=\"unused since v2 <legacy> & "
                                 "old\"\nDROP TABLE legacy_carts;\n",
                                 1, problems);
        out.push_back(std::move(allowed));
        Migration broken;
        broken.version = *Version::parse(std::to_string(++v));
        broken.name = "broken";
        broken.up =
            make_script("/abs/path/0010_broken.up.sql", "ALTER TABEL orders;\n", 1, problems);
        out.push_back(std::move(broken));
        return out;
    }();
    return ms;
}

check::Report corpus_report() {
    std::vector<const Migration*> ptrs;
    for (const auto& m : corpus_migrations())
        ptrs.push_back(&m);
    return check::check_migrations(ptrs, {});
}

}  // namespace

TEST(CheckSarif, OutputValidatesAgainstTheSarif210Schema) {
    auto report = corpus_report();
    ASSERT_GT(report.suppressed(), 0);
    ASSERT_FALSE(report.parse_errors.empty());
    check::RenderOptions o;
    o.tool_version = "0.1.0";
    auto doc = json::parse(check::render_sarif(report, o));
    auto errors = sarif_schema().validate(doc);
    for (const auto& e : errors)
        ADD_FAILURE() << e;
    EXPECT_TRUE(errors.empty());
}

TEST(CheckSarif, AnEmptyReportValidatesToo) {
    check::Report empty;
    auto errors = sarif_schema().validate(json::parse(check::render_sarif(empty, {})));
    for (const auto& e : errors)
        ADD_FAILURE() << e;
}

TEST(CheckSarif, TheValidatorRejectsBrokenLogs) {
    auto doc = json::parse(check::render_sarif(corpus_report(), {}));
    auto no_version = doc;
    no_version.erase("version");
    EXPECT_FALSE(sarif_schema().validate(no_version).empty());
    auto bad_level = doc;
    bad_level["runs"][0]["results"][0]["level"] = "fatal";
    EXPECT_FALSE(sarif_schema().validate(bad_level).empty());
    auto bad_line = doc;
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0;
    EXPECT_FALSE(sarif_schema().validate(bad_line).empty());
    auto extra = doc;
    extra["runs"][0]["surprise"] = true;
    EXPECT_FALSE(sarif_schema().validate(extra).empty());
}

TEST(CheckSarif, ResultsPointAtRulesFilesAndSuppressions) {
    auto report = corpus_report();
    auto doc = json::parse(check::render_sarif(report, {}));
    const auto& run = doc["runs"][0];
    const auto& rules = run["tool"]["driver"]["rules"];
    ASSERT_EQ(rules.size(), check::rules().size());
    int total = 0;
    for (const auto& v : report.migrations)
        total += static_cast<int>(v.findings.size());
    ASSERT_EQ(run["results"].size(), static_cast<std::size_t>(total));
    bool saw_suppressed = false, saw_space = false;
    for (const auto& r : run["results"]) {
        EXPECT_EQ(rules[r["ruleIndex"].get<std::size_t>()]["id"], r["ruleId"]);
        auto uri =
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].get<std::string>();
        EXPECT_EQ(uri.find(' '), std::string::npos);
        saw_space |= uri == "migrations/with%20space/0009_allowed.up.sql";
        if (r.contains("suppressions")) {
            saw_suppressed = true;
            EXPECT_EQ(r["suppressions"][0]["kind"], "inSource");
            EXPECT_EQ(r["suppressions"][0]["justification"], "unused since v2 <legacy> & old");
        }
    }
    EXPECT_TRUE(saw_suppressed);
    EXPECT_TRUE(saw_space);
    EXPECT_FALSE(run["invocations"][0]["executionSuccessful"].get<bool>());
    EXPECT_EQ(run["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]
                 ["physicalLocation"]["artifactLocation"]["uri"],
              "file:///abs/path/0010_broken.up.sql");
}
