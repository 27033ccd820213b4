// What check reads: loose .sql files, releases.toml ranges, and the parse tree layer.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/check/check.h"
#include "core/check/inputs.h"
#include "core/check/sql_source.h"
#include "core/check/tree.h"
#include "core/migrations/migration.h"
#include "core/migrations/reader.h"
#include "core/migrations/releases.h"
#include "support/helpers.h"

using namespace rollsafe;

TEST(CheckInputs, LooseFilesPairWithTheirDownScripts) {
    test::TempDir dir;
    auto a = dir.write("add_gift.sql", "ALTER TABLE orders ADD COLUMN gift text;\n");
    auto a_down = dir.write("add_gift.down.sql", "ALTER TABLE orders DROP COLUMN gift;\n");
    auto b = dir.write("0042_drop_phone.up.sql",
                       "-- rollsafe:no-transaction\nALTER TABLE users DROP COLUMN phone;\n");
    auto c = dir.write("lonely.down.sql", "SELECT 1;\n");
    std::vector<Diagnostic> problems;
    auto ms = check::read_sql_files({a, a_down, b, c}, problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_EQ(ms.size(), 3u);
    EXPECT_EQ(ms[0].id(), "1_add_gift");
    ASSERT_TRUE(ms[0].down.has_value());
    EXPECT_EQ(ms[0].down->path, a_down);
    EXPECT_EQ(ms[1].id(), "0042_drop_phone");
    EXPECT_TRUE(ms[1].up.no_transaction());
    EXPECT_FALSE(ms[1].down.has_value());
    EXPECT_EQ(ms[2].id(), "3_lonely.down");

    std::vector<const Migration*> ptrs = {&ms[0], &ms[1], &ms[2]};
    auto r = check::check_migrations(ptrs, {});
    EXPECT_EQ(r.migrations[0].class_string(), "expand,data-loss-on-down");
    EXPECT_EQ(r.migrations[1].class_string(), "contract");
}

TEST(CheckInputs, LooseFileProblemsAreCollected) {
    test::TempDir dir;
    auto bad_utf8 = dir.write("bad.sql", "SELECT '\xff';\n");
    auto bad_directive = dir.write("allow.sql", "-- rollsafe:allow=drop-table\nDROP TABLE t;\n");
    std::vector<Diagnostic> problems;
    auto ms = check::read_sql_files({bad_utf8, bad_directive, dir / "missing.sql"}, problems);
    EXPECT_EQ(ms.size(), 1u);
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_NE(problems[0].message.find("UTF-8"), std::string::npos);
    EXPECT_NE(problems[1].message.find("reason"), std::string::npos);
    EXPECT_EQ(problems[1].line, 1);
    EXPECT_NE(problems[2].message.find("cannot read"), std::string::npos);
}

TEST(CheckInputs, ReleasesSelectTheMigrationsOfARelease) {
    test::TempDir dir;
    dir.write("migrations/0001_users.up.sql",
              "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50));\n");
    dir.write("migrations/0001_users.down.sql", "DROP TABLE users;\n");
    dir.write("migrations/0002_orders.up.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);\n");
    dir.write("migrations/0002_orders.down.sql", "DROP TABLE orders;\n");
    dir.write("migrations/0003_index.up.sql", "CREATE INDEX users_name_idx ON users (name);\n");
    dir.write("migrations/0003_index.down.sql", "DROP INDEX users_name_idx;\n");
    dir.write("migrations/0004_widen.up.sql",
              "ALTER TABLE users ALTER COLUMN name TYPE varchar(80);\n");
    dir.write("migrations/0004_widen.down.sql", "SELECT 1;\n");
    auto toml = dir.write("releases.toml",
                          "# releases\n[releases]\n\"v1.0.0\" = \"0002\"\n\"v1.1.0\" = \"0004\"\n");
    auto set = read_migrations(dir / "migrations", "auto");
    auto releases = read_releases(toml);
    ASSERT_EQ(releases.releases.size(), 2u);

    auto range = check::select_release_range(set, releases, "v1.0.0", "v1.1.0");
    ASSERT_EQ(range.selected.size(), 2u);
    EXPECT_EQ(range.selected[0]->version.text(), "0003");
    ASSERT_EQ(range.applied.size(), 2u);
    EXPECT_EQ(range.description, "v1.0.0 (0002) -> v1.1.0 (0004)");

    check::Options o;
    o.applied = range.applied;
    o.release_scope = true;
    auto r = check::check_migrations(range.selected, o);
    ASSERT_EQ(r.migrations.size(), 2u);
    EXPECT_EQ(r.migrations[0].class_string(), "unsafe-lock");  // users came with v1.0.0
    EXPECT_EQ(r.migrations[1].class_string(), "expand");       // varchar(50) -> varchar(80) is free

    auto all_up_to = check::select_release_range(set, releases, "", "v1.0.0");
    EXPECT_EQ(all_up_to.selected.size(), 2u);
    EXPECT_TRUE(all_up_to.applied.empty());
    auto after = check::select_release_range(set, releases, "v1.0.0", "");
    EXPECT_EQ(after.selected.size(), 2u);

    EXPECT_THROW(check::select_release_range(set, releases, "v1.1.0", "v1.0.0"), Error);
    try {
        check::select_release_range(set, releases, "v9", "");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.hint()).find("v1.0.0, v1.1.0"), std::string::npos);
    }
    auto nine = dir.write("nine.toml", "[releases]\n\"v2\" = \"0009\"\n");
    EXPECT_THROW(check::select_release_range(set, read_releases(nine), "", "v2"), Error);
    EXPECT_THROW(check::select_release_range(set, read_releases(dir / "absent.toml"), "", "v2"),
                 Error);
}

TEST(CheckTree, ParsesJsonWithEscapesNumbersAndNesting) {
    check::tree::Document doc;
    std::string err;
    ASSERT_TRUE(doc.parse(
        R"({"a": [1, -2, 3.5, true, false, null], "s": "x\"y\\z\n\u00e9\ud83d\ude00", "o": {"k": {}}})",
        &err))
        << err;
    const auto& r = doc.root();
    EXPECT_EQ(r["a"].size(), 6u);
    EXPECT_EQ(r["a"].at(1).integer(), -2);
    EXPECT_EQ(r["a"].at(2).type(), check::tree::Node::Type::real);
    EXPECT_TRUE(r["a"].at(3).boolean());
    EXPECT_TRUE(r["a"].at(5).is_null());
    EXPECT_EQ(r["s"].str(), "x\"y\\z\n\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_TRUE(r["o"]["k"].is_object());
    EXPECT_EQ(r["o"].kind(), "k");
    EXPECT_TRUE(r["missing"]["deeper"].at(3).is_null());
    EXPECT_EQ(r["a"].at(99).integer(7), 7);
    for (const char* bad : {"{", "[1,]", "{\"a\" 1}", "\"open", "[1] 2", "tru"}) {
        check::tree::Document d;
        EXPECT_FALSE(d.parse(bad)) << bad;
        EXPECT_TRUE(d.root().is_null());
    }
}

TEST(CheckTree, SplitsScriptsIntoStatementsWithSpans) {
    std::string text =
        "\xEF\xBB\xBF-- head\nCREATE TABLE a (id int);\n\n  /* c */ DROP TABLE b; -- tail\nSELECT "
        "'x;y'";
    auto sql = check::parse_sql(text);
    ASSERT_FALSE(sql.error);
    ASSERT_EQ(sql.statements.size(), 3u);
    EXPECT_EQ(sql.statements[0].kind, "CreateStmt");
    EXPECT_EQ(
        text.substr(sql.statements[0].offset, sql.statements[0].end - sql.statements[0].offset),
        "CREATE TABLE a (id int)");
    EXPECT_EQ(
        text.substr(sql.statements[1].offset, sql.statements[1].end - sql.statements[1].offset),
        "DROP TABLE b");
    EXPECT_EQ(
        text.substr(sql.statements[2].offset, sql.statements[2].end - sql.statements[2].offset),
        "SELECT 'x;y'");
    EXPECT_EQ((*sql.statements[1].node)["removeType"].str(), "OBJECT_TABLE");
    check::LineIndex lines(text, 1);
    auto lc = lines.at(sql.statements[1].offset);
    EXPECT_EQ(lc.line, 4);
    EXPECT_EQ(lc.col, 11);
    EXPECT_EQ(lines.line_text(4), "  /* c */ DROP TABLE b; -- tail");
    EXPECT_EQ(lines.line_text(99), "");

    auto bad = check::parse_sql("SELECT 1;\nSELEC 2;");
    ASSERT_TRUE(bad.error);
    EXPECT_TRUE(bad.statements.empty());
    EXPECT_EQ(check::LineIndex("SELECT 1;\nSELEC 2;", 1).at(bad.error->offset).line, 2);
}

// The engine parses a script once: ensure_parsed keeps libpg_query's tree in the script, and
// the checks read it instead of parsing again. Both ways must see the same statements.
TEST(CheckTree, AScriptsKeptParseTreeGivesTheSameStatementsAsParsingAgain) {
    std::string text =
        "\xEF\xBB\xBF-- head\nCREATE TABLE a (id int);\n\n  /* c */ DROP TABLE b; -- tail\n"
        "DO $$ BEGIN PERFORM 1; END $$;\nSELECT 'x;y'";
    std::vector<Diagnostic> problems;
    Script script = make_script("0001_a.up.sql", text, 1, problems, false);
    EXPECT_TRUE(script.parse_tree.empty());
    ensure_parsed(script, problems);
    ASSERT_TRUE(problems.empty());
    ASSERT_FALSE(script.parse_tree.empty());
    auto again = check::parse_sql(text);
    auto kept = check::parse_sql(text, script.parse_tree);
    ASSERT_FALSE(again.error);
    ASSERT_FALSE(kept.error);
    ASSERT_EQ(kept.statements.size(), 4u);
    ASSERT_EQ(kept.statements.size(), again.statements.size());
    for (std::size_t i = 0; i < kept.statements.size(); ++i) {
        EXPECT_EQ(kept.statements[i].kind, again.statements[i].kind) << i;
        EXPECT_EQ(kept.statements[i].offset, again.statements[i].offset) << i;
        EXPECT_EQ(kept.statements[i].end, again.statements[i].end) << i;
        EXPECT_EQ(kept.statements[i].base, again.statements[i].base) << i;
    }
    EXPECT_EQ((*kept.statements[1].node)["removeType"].str(), "OBJECT_TABLE");

    // A script that does not parse keeps no tree, and the checks then report the error
    // themselves.
    Script bad = make_script("0002_b.up.sql", "SELECT 1;\nSELEC 2;", 1, problems, false);
    ensure_parsed(bad, problems);
    EXPECT_EQ(problems.size(), 1u);
    EXPECT_TRUE(bad.parse_tree.empty());
    EXPECT_TRUE(check::parse_sql(bad.text, bad.parse_tree).error);
}
