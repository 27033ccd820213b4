// migrations-example/ on a real PostgreSQL: every up applies, every down really undoes its up,
// and the release pair is expand-only (the v1.0.0 app's statements still prepare against the
// v1.1.0 schema).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/base/toml_reader.h"
#include "core/migrations/reader.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

const std::string kExample = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example";

// Runs one script the way a migrator would: in a transaction unless it says no-transaction.
void run_script(db::Session& s, const Script& script) {
    if (script.no_transaction()) {
        for (const auto& st : script.statements)
            s.exec(st.text);
        return;
    }
    db::Transaction tx(s);
    for (const auto& st : script.statements)
        s.exec(st.text);
    tx.commit();
}

// A description of the public schema: tables, columns, constraints (with validity), indexes,
// views, functions and triggers. Equal descriptions mean equal schemas for this example.
std::string schema_of(db::Session& s) {
    const char* sql = R"(
SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
  SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable ||
         ' ' || coalesce(column_default, '') || ' ' || is_identity AS line
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) ||
         ' valid=' || convalidated
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' ' || md5(p.prosrc)
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid)
    FROM pg_trigger WHERE NOT tgisinternal
) d)";
    return s.exec(sql).get(0, 0);
}

std::vector<std::string> contract(const std::string& release) {
    std::vector<Diagnostic> problems;
    auto script = make_script(kExample + "/contracts/" + release + ".sql",
                              test::read(kExample + "/contracts/" + release + ".sql"), 1, problems);
    EXPECT_TRUE(problems.empty());
    std::vector<std::string> out;
    for (const auto& st : script.statements)
        out.push_back(st.text);
    EXPECT_GE(out.size(), 5u) << release;
    return out;
}

// Returns the statements of a contract that do not PREPARE against the current schema.
std::vector<std::string> broken_statements(db::Session& s, const std::vector<std::string>& stmts) {
    std::vector<std::string> broken;
    for (std::size_t i = 0; i < stmts.size(); ++i) {
        try {
            s.exec("PREPARE contract_" + std::to_string(i) + " AS " + stmts[i]);
            s.exec("DEALLOCATE contract_" + std::to_string(i));
        } catch (const db::DbError& e) {
            broken.push_back(stmts[i] + " -> " + e.what());
        }
    }
    return broken;
}

// The last migration version of each release in releases.toml.
std::map<std::string, std::string> releases() {
    std::map<std::string, std::string> out;
    for (const auto& v : read_toml(test::read(kExample + "/releases.toml"), "releases.toml"))
        out[v.key.substr(v.key.find('.') + 1)] = v.text;
    return out;
}

}  // namespace

TEST(Example, ReleasesNameMigrationsThatExist) {
    auto set = read_migrations(kExample + "/migrations");
    ASSERT_GE(set.migrations.size(), 6u);
    auto r = releases();
    ASSERT_GE(r.size(), 2u);
    for (const auto& [release, version] : r) {
        auto v = Version::parse(version);
        ASSERT_TRUE(v) << release;
        EXPECT_NE(set.find(*v), nullptr) << release << " ships " << version;
    }
    // The newest release ships every migration: none is left out of a release.
    Version newest;
    for (const auto& [release, version] : r)
        newest = std::max(newest, *Version::parse(version));
    EXPECT_EQ(newest, set.migrations.back().version);
}

TEST(Example, EveryDownUndoesItsUpExactly) {
    test::TestDb db;
    auto s = db.connect();
    auto set = read_migrations(kExample + "/migrations");
    std::vector<std::string> before;  // schema before each migration
    for (const auto& m : set.migrations) {
        before.push_back(schema_of(*s));
        SCOPED_TRACE(m.id());
        ASSERT_NO_THROW(run_script(*s, m.up));
        ASSERT_TRUE(m.down);
        // down then up again: the up must still apply (no leftovers), the down must restore.
        run_script(*s, *m.down);
        EXPECT_EQ(schema_of(*s), before.back());
        ASSERT_NO_THROW(run_script(*s, m.up));
    }
    EXPECT_NE(schema_of(*s), "");
    for (std::size_t i = set.migrations.size(); i-- > 0;) {
        SCOPED_TRACE(set.migrations[i].id());
        run_script(*s, *set.migrations[i].down);
        EXPECT_EQ(schema_of(*s), before[i]);
    }
    EXPECT_EQ(schema_of(*s), "");
}

TEST(Example, ReleaseOnePointOneIsExpandOnly) {
    test::TestDb db;
    auto s = db.connect();
    auto set = read_migrations(kExample + "/migrations");
    auto r = releases();
    auto v1 = *Version::parse(r.at("v1.0.0"));
    auto v11 = *Version::parse(r.at("v1.1.0"));
    auto blue = contract("v1.0.0");
    auto green = contract("v1.1.0");
    for (const auto& m : set.migrations) {
        if (v11 < m.version)
            break;  // later releases may contract the schema
        run_script(*s, m.up);
        if (m.version == v1) {
            EXPECT_EQ(broken_statements(*s, blue), std::vector<std::string>{});
            // The green app needs v1.1.0's schema: against v1.0.0's it breaks.
            EXPECT_FALSE(broken_statements(*s, green).empty());
        }
        // Every step of v1.1.0 keeps the blue app working.
        if (v1 < m.version) {
            EXPECT_EQ(broken_statements(*s, blue), std::vector<std::string>{}) << m.id();
        }
    }
    EXPECT_EQ(broken_statements(*s, green), std::vector<std::string>{});
    // The expand steps really happened: the CHECK added NOT VALID is validated at the end.
    EXPECT_EQ(
        db.scalar(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'payments_amount_positive'"),
        "t");
    EXPECT_EQ(db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                        "'payments_provider_ref_key'::regclass"),
              "t");
}
