// App contracts: statements split by PostgreSQL's parser and what the checks need from each
// (src/core/compat/contract.cpp), and the filtering of captured statements (capture.cpp).
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/compat/capture.h"
#include "core/compat/contract.h"
#include "support/helpers.h"

using namespace rollsafe;
using namespace rollsafe::compat;

TEST(CompatContract, SplitsStatementsWithPositionsAndKinds) {
    auto c = parse_contract("contracts/v1.sql",
                            "-- header\nSELECT id FROM users WHERE email = $1;\n\n"
                            "INSERT INTO users (email, name)\n  VALUES ($1, $2::text) RETURNING *;\n"
                            "UPDATE orders SET status = 'paid' WHERE id = $1;\nSET search_path = app;\n");
    ASSERT_EQ(c.statements.size(), 4u);
    EXPECT_EQ(c.statements[0].line, 2);
    EXPECT_EQ(c.statements[0].kind, "SelectStmt");
    EXPECT_FALSE(c.statements[0].star);
    const auto& ins = c.statements[1];
    EXPECT_EQ(ins.line, 4);
    EXPECT_EQ(ins.kind, "InsertStmt");
    EXPECT_EQ(ins.insert_table, "\"users\"");  // quoted as written for to_regclass()
    EXPECT_EQ(ins.insert_columns, (std::vector<std::string>{"email", "name"}));
    EXPECT_FALSE(ins.insert_all_columns);
    EXPECT_TRUE(ins.star);  // RETURNING *
    EXPECT_EQ(ins.parameter_columns.at(1), "email");
    EXPECT_EQ(ins.parameter_columns.at(2), "name");  // through the cast
    EXPECT_TRUE(c.statements[2].preparable);
    EXPECT_FALSE(c.statements[3].preparable);
    EXPECT_FALSE(c.statements[0].fingerprint.empty());
}

TEST(CompatContract, FindsSelectStarThroughUnionsAndQualifiedStars) {
    auto c = parse_contract("c.sql",
                            "SELECT * FROM t;\nSELECT t.* FROM t JOIN u ON u.id = t.u;\n"
                            "SELECT a FROM t UNION ALL SELECT * FROM u;\nSELECT count(*) FROM t;\n"
                            "INSERT INTO app.\"Users\" VALUES ($1);\n");
    ASSERT_EQ(c.statements.size(), 5u);
    EXPECT_TRUE(c.statements[0].star);
    EXPECT_TRUE(c.statements[1].star);
    EXPECT_TRUE(c.statements[2].star);
    EXPECT_FALSE(c.statements[3].star);  // count(*) is not a result-shape star
    EXPECT_EQ(c.statements[4].insert_table, "\"app\".\"Users\"");
    EXPECT_TRUE(c.statements[4].insert_all_columns);
}

TEST(CompatContract, SyntaxErrorsNameFileLineAndColumn) {
    try {
        parse_contract("contracts/v2.sql", "SELECT 1;\nSELEC id FROM t;\n");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("contracts/v2.sql:2:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
    }
}

TEST(CompatContract, PathsBesideReleasesToml) {
    EXPECT_EQ(contracts_dir_for("migrations"), "contracts");
    EXPECT_EQ(contracts_dir_for("db/migrations/"), "db/contracts");
    EXPECT_EQ(contract_path("db/contracts", "v1.2.0"), "db/contracts/v1.2.0.sql");
}

TEST(CompatContract, ReadsAFile) {
    test::TempDir dir;
    auto path = dir.write("contracts/v1.sql", "SELECT 1 FROM t;\n");
    EXPECT_EQ(read_contract(path).statements.size(), 1u);
    EXPECT_THROW(read_contract(dir / "contracts/missing.sql"), Error);
}

TEST(CompatCapture, KeepsTheAppsDmlOnly) {
    EXPECT_EQ(capture_exclusion("SELECT id FROM users WHERE email = $1", "rollsafe"), "");
    EXPECT_EQ(capture_exclusion("INSERT INTO orders (a) VALUES ($1)", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("BEGIN", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SET search_path = app", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SELECT $1", "rollsafe"), "");  // reads no table
    EXPECT_NE(capture_exclusion("SELECT * FROM pg_catalog.pg_class", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SELECT * FROM pg_stat_activity", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SELECT * FROM information_schema.tables", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SELECT * FROM rollsafe.history", "rollsafe"), "");
    EXPECT_NE(capture_exclusion("SELECT 1 FROM t; SELECT 2 FROM t", "rollsafe"), "");
}

TEST(CompatCapture, DeduplicatesByFingerprintAndMerges) {
    Capture c;
    CaptureOptions o;
    o.min_calls = 2;
    add_captured(c, "SELECT id FROM users WHERE id = $1", 10, o);
    add_captured(c, "select id  from users where id = $1;", 5, o);  // same statement, other spelling
    add_captured(c, "SELECT name FROM users WHERE id = $1", 1, o);  // too few calls
    add_captured(c, "SELECT now()", 50, o);
    ASSERT_EQ(c.statements.size(), 1u);
    EXPECT_EQ(c.statements[0].calls, 15);
    EXPECT_EQ(c.seen, 4);
    EXPECT_EQ(c.skipped, 2);
    EXPECT_EQ(c.duplicates, 1);

    int added = 0;
    auto fresh = contract_text("v9", "app@db/shop", c, "", &added);
    EXPECT_EQ(added, 1);
    EXPECT_NE(fresh.find("pg_stat_statements of app@db/shop"), std::string::npos);
    EXPECT_EQ(parse_contract("x.sql", fresh).statements.size(), 1u);
    // Merging keeps what is there (as written) and adds nothing it already has.
    auto merged = contract_text("v9", "app@db/shop", c, "-- mine\nSELECT id FROM users WHERE id = $1;\n", &added);
    EXPECT_EQ(added, 0);
    EXPECT_EQ(merged, "-- mine\nSELECT id FROM users WHERE id = $1;\n");
}
