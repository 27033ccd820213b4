// `rollsafe contract capture` against a PgSandbox with pg_stat_statements loaded: run a few app
// queries, capture them as a contract, and check a breaking migration against it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/base/fs.h"
#include "core/compat/capture.h"
#include "core/compat/contract.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

// A server with pg_stat_statements preloaded (the binary's shared cluster has none).
PgSandbox& stats_cluster() {
    static std::unique_ptr<PgSandbox> sandbox = [] {
        SandboxOptions o;
        o.settings = {{"shared_preload_libraries", "pg_stat_statements"}, {"pg_stat_statements.track", "top"}};
        return std::make_unique<PgSandbox>(o);
    }();
    return *sandbox;
}

const char* kSchema =
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, name text);\n"
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL REFERENCES users, "
    "total_cents bigint NOT NULL);\n";

// A database of the stats cluster where "the app" ran its statements.
std::string app_database(const std::string& name) {
    stats_cluster().create_database(name);
    auto s = db::connect(Dsn::parse(stats_cluster().conninfo(name)));
    s->exec(kSchema);
    s->exec("CREATE EXTENSION pg_stat_statements");
    s->exec("SELECT pg_stat_statements_reset()");
    // The app: literals differ between calls, pg_stat_statements folds them into $n.
    for (int i = 1; i <= 3; ++i) {
        s->exec("INSERT INTO users (email, name) VALUES ('u" + std::to_string(i) + "@example.com', 'U')");
        s->exec("SELECT id, email, name FROM users WHERE id = " + std::to_string(i));
        s->exec_params("INSERT INTO orders (user_id, total_cents) VALUES ($1, $2)", {std::to_string(i), "100"});
        s->exec("select id,   total_cents from orders where user_id = " + std::to_string(i) + " order by id");
    }
    s->exec("UPDATE orders SET total_cents = total_cents + 1 WHERE id = 1");
    // Not the app's contract: catalog reads, settings, statements on no table.
    s->exec("SELECT count(*) FROM pg_catalog.pg_class");
    s->exec("SET application_name = 'x'");
    s->exec("SELECT 42");
    return name;
}

test::CliResult capture(const test::TempDir& dir, const std::string& db, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"contract", "capture", "--release", "v9", "--database-url", stats_cluster().url(db)};
    args.insert(args.end(), extra.begin(), extra.end());
    test::CliOptions o;
    o.cwd = dir.path();
    return test::run_cli(args, o);
}

}  // namespace

TEST(CompatCapture, CapturesTheAppsStatementsNormalisedAndDeduplicated) {
    auto db = app_database("capture_app");
    test::TempDir dir;
    fs::make_dirs(dir / "migrations", 0755);
    auto r = capture(dir, db);
    ASSERT_EQ(r.code, 0) << r.all();
    auto text = test::read(dir / "contracts/v9.sql");
    ASSERT_FALSE(text.empty()) << r.all();
    auto contract = compat::parse_contract(dir / "contracts/v9.sql", text);
    std::set<std::string> fingerprints;
    for (const auto& st : contract.statements) {
        EXPECT_TRUE(fingerprints.insert(st.fingerprint).second) << "duplicate: " << st.text;
        EXPECT_EQ(st.text.find("pg_class"), std::string::npos) << st.text;
        EXPECT_EQ(st.text.find("42"), std::string::npos) << st.text;
        EXPECT_EQ(st.text.find("u1@example.com"), std::string::npos) << st.text;  // constants are parameters
    }
    EXPECT_EQ(contract.statements.size(), 5u) << text;
    EXPECT_NE(text.find("SELECT id, email, name FROM users WHERE id = $1;"), std::string::npos) << text;
    EXPECT_NE(text.find("INSERT INTO orders (user_id, total_cents) VALUES ($1, $2);"), std::string::npos) << text;
    EXPECT_NE(text.find("pg_stat_statements of"), std::string::npos) << text;

    // Again: refused without --merge/--force; with --merge nothing new is added.
    auto again = capture(dir, db);
    EXPECT_EQ(again.code, 2) << again.all();
    auto merged = capture(dir, db, {"--merge", "-o", "json"});
    ASSERT_EQ(merged.code, 0) << merged.all();
    EXPECT_EQ(nlohmann::json::parse(merged.out)["added"], 0);
    EXPECT_EQ(test::read(dir / "contracts/v9.sql"), text);
}

TEST(CompatCapture, TheCapturedContractChecksAMigration) {
    auto db = app_database("capture_check");
    test::TempDir dir;
    dir.write("migrations/0001_schema.up.sql", kSchema);
    dir.write("migrations/0001_schema.down.sql", "DROP TABLE orders;\nDROP TABLE users;\n");
    dir.write("migrations/0002_rename_total.up.sql", "ALTER TABLE orders RENAME COLUMN total_cents TO amount_cents;\n");
    dir.write("migrations/0002_rename_total.down.sql", "ALTER TABLE orders RENAME COLUMN amount_cents TO total_cents;\n");
    dir.write("releases.toml", "[releases]\n\"v9\" = \"0001\"\n\"v10\" = \"0002\"\n");
    ASSERT_EQ(capture(dir, db).code, 0);
    test::CliOptions o;
    o.cwd = dir.path();
    auto r = test::run_cli({"check", "--blue", "v9", "--green", "v10", "--dev-url", test::cluster().url("postgres")}, o);
    EXPECT_EQ(r.code, 5) << r.all();
    EXPECT_NE(r.out.find("PostgreSQL: column \"total_cents\" does not exist (42703)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("responsible: 0002_rename_total"), std::string::npos) << r.out;
}

TEST(CompatCapture, ADatabaseWithoutTheExtensionGetsAHint) {
    test::TestDb plain;
    test::TempDir dir;
    test::CliOptions o;
    o.cwd = dir.path();
    auto r = test::run_cli({"contract", "capture", "--release", "v1", "--database-url", plain.url()}, o);
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("pg_stat_statements is not installed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("shared_preload_libraries"), std::string::npos) << r.err;
}
