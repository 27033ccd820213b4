// The rule engine's context: exemptions, PostgreSQL versions, transactions, lock_timeout,
// column types learnt from earlier migrations, suppressions, down scripts and classes.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/check/check.h"
#include "core/check/rules.h"

using namespace rollsafe;

namespace {

Migration migration(int version, const std::string& up, const std::string& down = "") {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse(std::to_string(version));
    m.name = "m" + std::to_string(version);
    m.up = make_script(m.name + ".up.sql", up, 1, problems);
    if (!down.empty())
        m.down = make_script(m.name + ".down.sql", down, 1, problems);
    return m;
}

check::Report run(const std::vector<const Migration*>& ms, check::Options o = {}) {
    return check::check_migrations(ms, o);
}

check::Report run_one(const std::string& up, check::Options o = {}) {
    static std::vector<Migration> keep;  // scripts must outlive the report's use in a test
    keep.push_back(migration(1, up));
    return check::check_migrations({&keep.back()}, o);
}

std::vector<const check::Finding*> with_rule(const check::Report& r, const std::string& rule) {
    std::vector<const check::Finding*> out;
    for (const auto& v : r.migrations)
        for (const auto& f : v.findings)
            if (f.rule_id == rule)
                out.push_back(&f);
    return out;
}

bool has(const check::Report& r, const std::string& rule) {
    return !with_rule(r, rule).empty();
}

}  // namespace

TEST(CheckRules, CatalogueIsSortedWithCompleteEntries) {
    const auto& all = check::rules();
    ASSERT_GE(all.size(), 45u);
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& r = all[i];
        if (i) {
            EXPECT_LT(all[i - 1].id, r.id);
        }
        EXPECT_FALSE(r.title.empty()) << r.id;
        EXPECT_FALSE(r.detects.empty()) << r.id;
        EXPECT_FALSE(r.why.empty()) << r.id;
        EXPECT_FALSE(r.fix.empty()) << r.id;
        EXPECT_EQ(check::find_rule(r.id), &r);
        for (const auto& b : r.breaks)
            EXPECT_TRUE(b == "old-app" || b == "new-app" || b == "lock" || b == "data" ||
                        b == "loss")
                << r.id << " " << b;
        for (const auto& c : r.classes)
            EXPECT_TRUE(c == "contract" || c == "unsafe-lock" || c == "unknown") << r.id;
    }
    EXPECT_EQ(check::find_rule("no-such-rule"), nullptr);
}

TEST(CheckRules, ObjectsCreatedEarlierInTheMigrationAreExempt) {
    auto r = run_one(
        "CREATE TABLE coupons (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT "
        "NULL);\n"
        "CREATE INDEX coupons_code_idx ON coupons (code);\n"
        "ALTER TABLE coupons ADD CONSTRAINT coupons_code_key UNIQUE (code);\n"
        "ALTER TABLE coupons ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
        "ALTER TABLE coupons RENAME COLUMN code TO coupon_code;\n"
        "ALTER TABLE coupons ALTER COLUMN coupon_code SET NOT NULL;\n"
        "UPDATE coupons SET coupon_code = upper(coupon_code);\n"
        "DROP INDEX coupons_code_idx;\n");
    ASSERT_EQ(r.migrations.size(), 1u);
    EXPECT_TRUE(r.migrations[0].findings.empty()) << r.migrations[0].findings[0].rule_id;
    EXPECT_EQ(r.migrations[0].class_string(), "expand");
}

TEST(CheckRules, ObjectsFromAnEarlierMigrationAreNotExemptUnlessOneRelease) {
    auto a = migration(1, "CREATE TABLE coupons (id bigint PRIMARY KEY, code text NOT NULL);");
    auto b = migration(
        2,
        "CREATE INDEX coupons_code_idx ON coupons (code);\nALTER TABLE coupons DROP COLUMN code;");
    auto separate = run({&a, &b});
    EXPECT_TRUE(has(separate, "create-index-non-concurrent"));
    EXPECT_TRUE(has(separate, "drop-column"));
    check::Options release;
    release.release_scope = true;
    auto together = run({&a, &b}, release);
    EXPECT_FALSE(has(together, "create-index-non-concurrent"));
    EXPECT_FALSE(has(together, "drop-column"));
    EXPECT_EQ(together.migrations[1].class_string(), "expand");
}

TEST(CheckRules, PgVersionChangesVerdicts) {
    const std::string add = "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';";
    check::Options pg10;
    pg10.pg_version = 10;
    EXPECT_TRUE(has(run_one(add, pg10), "add-column-default-rewrite"));
    EXPECT_EQ(run_one(add).migrations[0].findings.size(), 0u);

    const std::string enum_value = "ALTER TYPE order_status ADD VALUE 'refunded';";
    check::Options pg11;
    pg11.pg_version = 11;
    EXPECT_TRUE(has(run_one(enum_value, pg11), "statement-fails-in-transaction"));
    EXPECT_FALSE(has(run_one(enum_value), "statement-fails-in-transaction"));
    EXPECT_TRUE(has(run_one(enum_value), "add-enum-value"));

    auto reindex_report = run_one("REINDEX TABLE orders;", pg11);
    auto reindex = with_rule(reindex_report, "reindex-non-concurrent");
    ASSERT_EQ(reindex.size(), 1u);
    EXPECT_NE(reindex[0]->message.find("PostgreSQL 12"), std::string::npos);
}

TEST(CheckRules, SetNotNullUsesAValidatedCheckFromEarlierMigrations) {
    auto a = migration(
        1, "ALTER TABLE users ADD CONSTRAINT users_phone_nn CHECK (phone IS NOT NULL) NOT VALID;");
    auto b = migration(2, "ALTER TABLE users VALIDATE CONSTRAINT users_phone_nn;");
    auto c = migration(3, "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;");
    auto r = run({&a, &b, &c});
    EXPECT_FALSE(has(r, "set-not-null"));
    EXPECT_FALSE(has(r, "validate-in-same-transaction"));
    for (const auto& v : r.migrations)
        EXPECT_EQ(v.class_string(), "expand") << v.migration;

    check::Options pg11;
    pg11.pg_version = 11;
    auto old = run({&a, &b, &c}, pg11);
    auto f = with_rule(old, "set-not-null");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0]->classes, std::vector<std::string>{"unsafe-lock"});

    auto alone = run({&c});
    f = with_rule(alone, "set-not-null");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(alone.migrations[0].class_string(), "contract,unsafe-lock");
}

TEST(CheckRules, ColumnTypesFromEarlierMigrationsDecideRewrites) {
    auto create =
        migration(1,
                  "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100) NOT NULL, "
                  "code text, qty integer, price numeric(10,2), at timestamp(3));");
    auto widen = migration(2, "ALTER TABLE customers ALTER COLUMN name TYPE varchar(200);");
    auto narrow = migration(3, "ALTER TABLE customers ALTER COLUMN name TYPE varchar(20);");
    auto to_int =
        migration(4, "ALTER TABLE customers ALTER COLUMN code TYPE integer USING code::integer;");
    auto to_bigint = migration(5, "ALTER TABLE customers ALTER COLUMN qty TYPE bigint;");
    auto precision = migration(6, "ALTER TABLE customers ALTER COLUMN price TYPE numeric(12,2);");
    auto ts = migration(7, "ALTER TABLE customers ALTER COLUMN at TYPE timestamp(6);");
    auto r = run({&create, &widen, &narrow, &to_int, &to_bigint, &precision, &ts});
    ASSERT_EQ(r.migrations.size(), 7u);
    auto classes = [&](int i) { return r.migrations[static_cast<std::size_t>(i)].class_string(); };
    EXPECT_EQ(classes(1), "expand");
    EXPECT_EQ(classes(2), "contract,unsafe-lock");
    EXPECT_EQ(classes(3), "contract,unsafe-lock");
    EXPECT_EQ(classes(4), "unsafe-lock");
    EXPECT_EQ(classes(5), "expand");
    EXPECT_EQ(classes(6), "expand");
}

TEST(CheckRules, UnknownColumnTypesAreJudgedByTheTarget) {
    EXPECT_EQ(
        run_one("ALTER TABLE users ALTER COLUMN name TYPE text;").migrations[0].findings.size(),
        0u);
    EXPECT_EQ(run_one("ALTER TABLE users ALTER COLUMN name TYPE varchar(20);")
                  .migrations[0]
                  .class_string(),
              "contract,unsafe-lock");
    EXPECT_EQ(run_one("ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;")
                  .migrations[0]
                  .class_string(),
              "unsafe-lock");
    EXPECT_TRUE(has(run_one("ALTER TABLE users ALTER COLUMN name TYPE text USING lower(name);"),
                    "change-column-type"));
}

TEST(CheckRules, VolatilityOfDefaults) {
    EXPECT_FALSE(
        has(run_one("ALTER TABLE orders ADD COLUMN at timestamptz NOT NULL DEFAULT now();"),
            "volatile-default"));
    EXPECT_FALSE(has(run_one("ALTER TABLE orders ADD COLUMN tags jsonb DEFAULT '{}'::jsonb;"),
                     "volatile-default"));
    EXPECT_TRUE(has(run_one("ALTER TABLE orders ADD COLUMN r float8 DEFAULT random();"),
                    "volatile-default"));
    EXPECT_TRUE(has(run_one("ALTER TABLE orders ADD COLUMN r text DEFAULT my_func();"),
                    "volatile-default"));
    auto f = migration(
        1,
        "CREATE FUNCTION region_default() RETURNS text STABLE LANGUAGE sql AS $$ SELECT 'eu' $$;");
    auto g = migration(2, "ALTER TABLE orders ADD COLUMN region text DEFAULT region_default();");
    EXPECT_FALSE(has(run({&f, &g}), "volatile-default"));
    auto v =
        migration(3, "CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;");
    auto w = migration(4, "ALTER TABLE orders ADD COLUMN code text DEFAULT next_code();");
    EXPECT_TRUE(has(run({&v, &w}), "volatile-default"));
}

TEST(CheckRules, TransactionContext) {
    EXPECT_TRUE(has(run_one("CREATE INDEX CONCURRENTLY i ON orders (status);"),
                    "concurrent-in-transaction"));
    EXPECT_FALSE(
        has(run_one("-- rollsafe:no-transaction\nCREATE INDEX CONCURRENTLY i ON orders (status);"),
            "concurrent-in-transaction"));
    EXPECT_TRUE(has(run_one("VACUUM orders;"), "statement-fails-in-transaction"));
    EXPECT_FALSE(has(run_one("-- rollsafe:no-transaction\nVACUUM orders;"),
                     "statement-fails-in-transaction"));

    // A BEGIN ... COMMIT around the whole script is removed by rollsafe (executable_statements).
    auto wrapped = run_one("BEGIN;\nALTER TABLE orders ADD COLUMN x text;\nCOMMIT;");
    EXPECT_TRUE(wrapped.migrations[0].findings.empty());
    EXPECT_FALSE(
        has(run_one("-- rollsafe:no-transaction\nBEGIN;\nDROP INDEX CONCURRENTLY i;\nCOMMIT;"),
            "concurrent-in-transaction"));
    // Any other transaction control is refused by rollsafe.
    EXPECT_TRUE(has(run_one("ALTER TABLE orders ADD COLUMN x text;\nCOMMIT;\nALTER TABLE orders "
                            "ADD COLUMN y text;"),
                    "transaction-nesting"));
    EXPECT_TRUE(
        has(run_one("SAVEPOINT s;\nALTER TABLE orders ADD COLUMN x text;"), "transaction-nesting"));
    auto explicit_tx = run_one(
        "-- rollsafe:no-transaction\nSELECT 1;\nBEGIN;\nDROP INDEX CONCURRENTLY i;\nCOMMIT;\n");
    EXPECT_TRUE(has(explicit_tx, "concurrent-in-transaction"));
    EXPECT_TRUE(has(explicit_tx, "transaction-nesting"));
    auto open =
        run_one("-- rollsafe:no-transaction\nBEGIN;\nUPDATE orders SET note = '' WHERE id = 1;");
    EXPECT_TRUE(has(open, "uncommitted-transaction"));

    const std::string add =
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT "
        "VALID;\n";
    EXPECT_TRUE(has(run_one(add + "ALTER TABLE orders VALIDATE CONSTRAINT fk;"),
                    "validate-in-same-transaction"));
    EXPECT_FALSE(has(run_one("-- rollsafe:no-transaction\n" + add +
                             "ALTER TABLE orders VALIDATE CONSTRAINT fk;"),
                     "validate-in-same-transaction"));
    EXPECT_TRUE(has(run_one("-- rollsafe:no-transaction\nSELECT 1;\nBEGIN;\n" + add +
                            "ALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;"),
                    "validate-in-same-transaction"));
}

TEST(CheckRules, RobustStatementsOnlyMatterWithoutATransaction) {
    const std::string body =
        "CREATE TABLE coupons (id bigint PRIMARY KEY, code text);\nALTER TABLE orders ADD COLUMN "
        "coupon_id bigint;\n"
        "CREATE INDEX CONCURRENTLY orders_coupon_idx ON orders (coupon_id);\n";
    EXPECT_FALSE(has(run_one(body), "prefer-robust-statements"));
    auto report = run_one("-- rollsafe:no-transaction\n" + body);
    auto r = with_rule(report, "prefer-robust-statements");
    ASSERT_EQ(r.size(),
              2u);  // the CREATE TABLE and the ADD COLUMN; the last statement may fail alone
    EXPECT_EQ(r[0]->line, 2);
    EXPECT_EQ(r[1]->line, 3);
    EXPECT_FALSE(
        has(run_one("-- rollsafe:no-transaction\nCREATE TABLE IF NOT EXISTS c (id bigint);\n"
                    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS c_id bigint;\nSELECT 1;"),
            "prefer-robust-statements"));
}

TEST(CheckRules, LockTimeoutTurnedOff) {
    EXPECT_FALSE(has(run_one("ALTER TABLE orders ADD COLUMN x text;"), "missing-lock-timeout"));
    auto off_report = run_one("SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN x text;");
    auto off = with_rule(off_report, "missing-lock-timeout");
    ASSERT_EQ(off.size(), 1u);
    EXPECT_EQ(off[0]->lock, "ACCESS EXCLUSIVE");
    EXPECT_NE(off[0]->message.find("line 1"), std::string::npos);
    EXPECT_TRUE(has(run_one("RESET lock_timeout;\nCREATE INDEX i ON orders (status);"),
                    "missing-lock-timeout"));
    EXPECT_TRUE(has(run_one("-- rollsafe:lock-timeout=0s\nALTER TABLE orders ADD COLUMN x text;"),
                    "missing-lock-timeout"));
    EXPECT_FALSE(has(run_one("SET lock_timeout = 0;\nSET lock_timeout = '3s';\nALTER TABLE orders "
                             "ADD COLUMN x text;"),
                     "missing-lock-timeout"));
    // Locks that do not block traffic, and tables created here, need no timeout.
    EXPECT_FALSE(has(run_one("-- rollsafe:no-transaction\nSET lock_timeout = 0;\nCREATE INDEX "
                             "CONCURRENTLY i ON orders (status);"),
                     "missing-lock-timeout"));
    EXPECT_FALSE(has(
        run_one(
            "SET lock_timeout = 0;\nCREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN x text;"),
        "missing-lock-timeout"));
    check::Options none;
    none.lock_timeout_ms = 0;
    EXPECT_TRUE(
        has(run_one("ALTER TABLE orders ADD COLUMN x text;", none), "missing-lock-timeout"));
    EXPECT_FALSE(
        has(run_one("-- rollsafe:lock-timeout=2s\nALTER TABLE orders ADD COLUMN x text;", none),
            "missing-lock-timeout"));
}

TEST(CheckRules, RenameWithACompatibilityViewIsExpand) {
    auto r = run_one(
        "ALTER TABLE payments RENAME TO payment_attempts;\nCREATE VIEW payments AS SELECT * FROM "
        "payment_attempts;");
    EXPECT_FALSE(has(r, "rename-table"));
    EXPECT_EQ(r.migrations[0].class_string(), "expand");
    EXPECT_TRUE(has(run_one("ALTER TABLE payments SET SCHEMA archive;"), "rename-table"));
}

TEST(CheckRules, SuppressionsOnTheStatementOrTheFile) {
    auto r = run_one(
        "ALTER TABLE orders ADD COLUMN x text;\n"
        "-- the column has been unused since v2.4\n"
        "-- rollsafe:allow=drop-column reason=\"unused since v2.4\"\n"
        "ALTER TABLE orders DROP COLUMN coupon_code;\n"
        "ALTER TABLE orders DROP COLUMN note;\n");
    auto drops = with_rule(r, "drop-column");
    ASSERT_EQ(drops.size(), 2u);
    EXPECT_TRUE(drops[0]->suppressed);
    EXPECT_EQ(drops[0]->suppression_reason, "unused since v2.4");
    EXPECT_EQ(drops[0]->suppression_line, 3);
    EXPECT_FALSE(drops[1]->suppressed);
    EXPECT_EQ(r.suppressed(), 1);
    EXPECT_EQ(r.errors(), 1);
    EXPECT_TRUE(r.migrations[0].blocking());

    auto file = run_one(
        "-- rollsafe:allow=drop-column reason=\"both unused\"\n\n"
        "ALTER TABLE orders DROP COLUMN coupon_code;\nALTER TABLE orders DROP COLUMN note;\n");
    EXPECT_EQ(file.suppressed(), 2);
    EXPECT_EQ(file.errors(), 0);
    EXPECT_FALSE(file.migrations[0].blocking());
    // The allow lifts the block, but the old app still cannot read a dropped column: the class
    // stays.
    EXPECT_EQ(file.migrations[0].class_string(), "contract");
    EXPECT_FALSE(has(file, "unused-allow"));
    EXPECT_EQ(file.exit_code(), 0);
}

TEST(CheckRules, AllowsThatSuppressNothingAreReported) {
    auto r = run_one(
        "-- rollsafe:allow=drop-tabel reason=\"typo\"\n"
        "ALTER TABLE orders ADD COLUMN x text;\n"
        "-- rollsafe:allow=drop-column reason=\"stale\"\n"
        "ALTER TABLE orders ADD COLUMN y text;\n"
        "-- rollsafe:allow=prefer-* reason=\"legacy naming\"\n"
        "ALTER TABLE orders ADD COLUMN z varchar(10);\n");
    auto unused = with_rule(r, "unused-allow");
    ASSERT_EQ(unused.size(), 2u);
    EXPECT_NE(unused[0]->message.find("names no rollsafe rule"), std::string::npos);
    EXPECT_EQ(unused[0]->line, 1);
    EXPECT_NE(unused[1]->message.find("suppresses nothing"), std::string::npos);
    EXPECT_EQ(unused[1]->line, 3);
    auto text = with_rule(r, "prefer-text");
    ASSERT_EQ(text.size(), 1u);
    EXPECT_TRUE(text[0]->suppressed);
}

TEST(CheckRules, DisabledRulesAreSkipped) {
    check::Options o;
    o.disabled_rules = {"prefer-text"};
    auto r = run_one(
        "-- rollsafe:allow=prefer-text reason=\"x\"\nALTER TABLE orders ADD COLUMN z varchar(10);",
        o);
    EXPECT_TRUE(r.migrations[0].findings.empty());
}

TEST(CheckRules, DownScriptsThatDropWhatTheUpAddedLoseData) {
    auto m = migration(1,
                       "ALTER TABLE orders ADD COLUMN gift_message text;\nCREATE TABLE gifts (id "
                       "bigint PRIMARY KEY);",
                       "DROP TABLE gifts;\nALTER TABLE orders DROP COLUMN gift_message;");
    auto r = run({&m});
    const auto& v = r.migrations[0];
    EXPECT_EQ(v.class_string(), "expand,data-loss-on-down");
    EXPECT_TRUE(v.compatible_with_previous_release());
    EXPECT_FALSE(v.blocking());
    ASSERT_EQ(v.findings.size(), 2u);
    for (const auto& f : v.findings) {
        EXPECT_EQ(f.direction, "down");
        EXPECT_EQ(f.severity, check::Severity::warning);
        EXPECT_EQ(f.classes, std::vector<std::string>{"data-loss-on-down"});
        EXPECT_EQ(f.breaks, std::vector<std::string>{"loss"});
        EXPECT_EQ(f.file, "m1.down.sql");
    }
    // The down does not change what the next migration sees.
    auto next = migration(2, "CREATE INDEX gifts_idx ON gifts (id);");
    auto both = run({&m, &next});
    EXPECT_TRUE(has(both, "create-index-non-concurrent"));

    auto lossless = migration(3, "ALTER TABLE orders ADD COLUMN gift_wrap boolean;", "SELECT 1;");
    EXPECT_EQ(run({&lossless}).migrations[0].class_string(), "expand");
}

TEST(CheckRules, UnanalysableStatementsMakeTheClassUnknown) {
    auto r = run_one("DO $$ BEGIN PERFORM 1; END $$;\nCALL refresh_stats();");
    EXPECT_EQ(with_rule(r, "unanalysable-statement").size(), 2u);
    EXPECT_EQ(r.migrations[0].class_string(), "unknown");
    EXPECT_FALSE(r.migrations[0].compatible_with_previous_release());
    EXPECT_FALSE(r.migrations[0].blocking());
}

TEST(CheckRules, ClassesAreOrderedAndCompatibilityFollowsThem) {
    auto r = run_one(
        "ALTER TABLE orders DROP COLUMN note;\nCREATE INDEX i ON orders (status);\nDO $$ BEGIN END "
        "$$;");
    EXPECT_EQ(r.migrations[0].class_string(), "contract,unsafe-lock,unknown");
    EXPECT_FALSE(r.migrations[0].compatible_with_previous_release());
    auto lock = run_one("CREATE INDEX i ON orders (status);");
    EXPECT_TRUE(lock.migrations[0].compatible_with_previous_release());
    EXPECT_EQ(lock.exit_code(), 5);
}

TEST(CheckRules, UnparsableScriptsAreReportedWithTheirPosition) {
    auto r = run_one("ALTER TABLE orders ADD COLUMN x text;\nALTER TABEL orders DROP COLUMN y;\n");
    ASSERT_EQ(r.parse_errors.size(), 1u);
    EXPECT_EQ(r.parse_errors[0].line, 2);
    EXPECT_EQ(r.parse_errors[0].col, 7);
    EXPECT_NE(r.parse_errors[0].message.find("TABEL"), std::string::npos);
    EXPECT_EQ(r.migrations[0].class_string(), "unknown");
    EXPECT_EQ(r.exit_code(), 2);
}

TEST(CheckRules, PositionsAreFileLinesAndCharacterColumns) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("7");
    m.name = "dbmate";
    // A dbmate section that starts on line 10 of its file, with a multi-byte comment before the
    // SQL.
    m.up =
        make_script("7_dbmate.sql", "-- café\n  /* é */ DROP TABLE legacy_carts;\n", 10, problems);
    auto r = check::check_migrations({&m}, {});
    auto f = with_rule(r, "drop-table");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0]->line, 11);
    EXPECT_EQ(f[0]->col, 11);
    EXPECT_EQ(f[0]->end_line, 11);
    EXPECT_EQ(f[0]->end_col, 34);
    EXPECT_EQ(f[0]->source_line, "  /* é */ DROP TABLE legacy_carts;");
}

TEST(CheckRules, LongIdentifiersAreFoundEvenThoughTheParserCutsThem) {
    std::string name(70, 'a');
    auto r = run_one("CREATE TABLE \"" + name + "\" (id bigint);\nCREATE INDEX " +
                     std::string(63, 'b') + " ON orders (id);");
    auto f = with_rule(r, "identifier-too-long");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_NE(f[0]->message.find("70 bytes"), std::string::npos);
}

TEST(CheckRules, DropAndRenameOfOtherObjects) {
    EXPECT_TRUE(has(run_one("DROP VIEW active_users;"), "drop-object"));
    EXPECT_TRUE(has(run_one("DROP FUNCTION touch_updated_at();"), "drop-object"));
    EXPECT_TRUE(has(run_one("ALTER TYPE order_status RENAME TO order_state;"), "rename-object"));
    auto fresh = run_one(
        "CREATE TYPE mood AS ENUM ('a');\nALTER TYPE mood RENAME TO feeling;\nDROP TYPE feeling;");
    EXPECT_TRUE(fresh.migrations[0].findings.empty());
    EXPECT_FALSE(has(run_one("CREATE TYPE mood AS ENUM ('a');\nALTER TYPE mood ADD VALUE 'b';"),
                     "add-enum-value"));
    EXPECT_TRUE(has(run_one("TRUNCATE orders, users CASCADE;"), "truncate-cascade"));
    EXPECT_FALSE(has(run_one("TRUNCATE orders;"), "truncate-cascade"));
    EXPECT_TRUE(has(run_one("DELETE FROM sessions;"), "unbatched-update"));
    EXPECT_TRUE(has(run_one("UPDATE orders SET note = '' WHERE true;"), "unbatched-update"));
}
