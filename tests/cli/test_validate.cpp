// `rollsafe validate` run as a user would: passes on the example project, and reports every
// file problem as path:line:col with exit 2, all of them in one run.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/base/fs.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

const std::string kExample = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example";

// Runs validate in dir (migrations in dir/migrations).
test::CliResult validate(const test::TempDir& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"validate"};
    args.insert(args.end(), extra.begin(), extra.end());
    test::CliOptions o;
    o.cwd = dir.path();
    return test::run_cli(args, o);
}

// A valid pair, so that folders with one broken file are otherwise fine.
void add_good(const test::TempDir& dir) {
    dir.write("migrations/0001_create_t.up.sql", "CREATE TABLE t (id int);\n");
    dir.write("migrations/0001_create_t.down.sql", "DROP TABLE t;\n");
}

}  // namespace

TEST(Validate, PassesOnTheExampleProject) {
    test::CliOptions o;
    o.cwd = kExample;  // its rollsafe.toml points at migrations/
    auto r = test::run_cli({"validate"}, o);
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find(" migrations, "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" statements: OK (native layout, migrations)\n"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.err, "");

    auto j = test::run_cli({"validate", "--migrations", kExample + "/migrations", "-o", "json"});
    EXPECT_EQ(j.code, 0) << j.all();
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc.at("ok"), true);
    EXPECT_EQ(doc.at("layout"), "native");
    ASSERT_GE(doc.at("migrations").size(), 9u);
    EXPECT_EQ(doc.at("migrations")[0].at("version"), "0001");
    EXPECT_EQ(doc.at("migrations")[6].at("no_transaction"), true);  // the concurrent index
    EXPECT_EQ(doc.at("migrations")[0].at("up").at("sha256").get<std::string>().size(), 64u);
}

TEST(Validate, DuplicateVersions) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/1_other.up.sql", "SELECT 1;\n");
    dir.write("migrations/1_other.down.sql", "SELECT 1;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("migrations/1_other.up.sql:1:1: error: duplicate version 1: also "
                         "migrations/0001_create_t.up.sql"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("migrations/1_other.down.sql:1:1: error: duplicate version 1"),
              std::string::npos);
}

TEST(Validate, UpWithoutDown) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_add_x.up.sql", "ALTER TABLE t ADD COLUMN x int;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(
        r.out.find("migrations/0002_add_x.up.sql:1:1: error: up script without a down script\n"
                   "  hint: add 0002_add_x.down.sql, or mark it -- rollsafe:irreversible "
                   "reason=\"...\""),
        std::string::npos)
        << r.out;
}

TEST(Validate, IrreversibleUpWithoutDownIsAccepted) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_purge.up.sql",
              "-- rollsafe:irreversible reason=\"deletes expired sessions; nothing to restore\"\n"
              "DELETE FROM t WHERE id < 0;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 0) << r.all();
    // Without a reason the directive itself is the problem.
    dir.write("migrations/0002_purge.up.sql", "-- rollsafe:irreversible\nDELETE FROM t;\n");
    r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(
        r.out.find("migrations/0002_purge.up.sql:1:1: error: bad directive: irreversible needs a "
                   "reason"),
        std::string::npos)
        << r.out;
}

TEST(Validate, DownWithoutUp) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_gone.down.sql", "SELECT 1;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(
        r.out.find("migrations/0002_gone.down.sql:1:1: error: down script without an up script"),
        std::string::npos)
        << r.out;
}

TEST(Validate, UnparsableSqlGivesPostgresMessageWithLineAndColumn) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_bad.up.sql",
              "-- a comment\nALTER TABLE t ADD COLUMN y int;\nCREATE INDEX ON t (y) WERE y > 0;\n");
    dir.write("migrations/0002_bad.down.sql", "ALTER TABLE t DROP COLUMN y;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(
        r.out.find("migrations/0002_bad.up.sql:3:23: error: syntax error at or near \"WERE\""),
        std::string::npos)
        << r.out;
}

TEST(Validate, UnreadableFiles) {
    test::TempDir dir;
    add_good(dir);
    // A folder with a migration's name, and a symbolic link that points at itself.
    ASSERT_EQ(::mkdir((dir / "migrations/0002_dir.up.sql").c_str(), 0755), 0);
    dir.write("migrations/0002_dir.down.sql", "SELECT 1;\n");
    ASSERT_EQ(::symlink("0003_loop.up.sql", (dir / "migrations/0003_loop.up.sql").c_str()), 0);
    dir.write("migrations/0003_loop.down.sql", "SELECT 1;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("migrations/0002_dir.up.sql:1:1: error: cannot read: Is a directory"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("migrations/0003_loop.up.sql:1:1: error: cannot read: Too many levels of "
                         "symbolic links"),
              std::string::npos)
        << r.out;
}

TEST(Validate, FileWithoutReadPermission) {
    // chmod 000 stops everyone but root: run a copy of the binary as the unprivileged postgres
    // user when the tests run as root (a copy, since the build folder may be private).
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_secret.up.sql", "SELECT 1;\n");
    dir.write("migrations/0002_secret.down.sql", "SELECT 1;\n");
    ASSERT_EQ(::chmod((dir / "migrations/0002_secret.up.sql").c_str(), 0), 0);
    auto copy = dir / "rollsafe";
    auto binary = fs::read_file(ROLLSAFE_BINARY);
    ASSERT_TRUE(binary);
    fs::write_file_atomic(copy, *binary, 0755);
    std::vector<std::string> prefix;
    if (::geteuid() == 0)
        prefix = {"runuser", "-u", "postgres", "--"};
    test::CliOptions o;
    o.cwd = dir.path();
    test::CliProcess p({"validate"}, o, prefix, copy);
    auto r = p.wait(std::chrono::seconds(60));
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(
        r.out.find("migrations/0002_secret.up.sql:1:1: error: cannot read: Permission denied\n"
                   "  hint: check the file's permissions"),
        std::string::npos)
        << r.all();
}

TEST(Validate, NotUtf8) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_latin1.up.sql", "INSERT INTO t VALUES (1);\n-- Bj\xf6rk\n");
    dir.write("migrations/0002_latin1.down.sql", "DELETE FROM t;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("migrations/0002_latin1.up.sql:2:6: error: not valid UTF-8"),
              std::string::npos)
        << r.out;
}

TEST(Validate, EveryProblemIsReportedInOneRun) {
    test::TempDir dir;
    add_good(dir);
    dir.write("migrations/0002_a.up.sql", "SELEC 1;\n");
    dir.write("migrations/0002_a.down.sql", "SELECT 1;\n");
    dir.write("migrations/0003_b.up.sql", "SELECT 1;\n");
    dir.write("migrations/0004_c.down.sql", "SELECT 1;\n");
    dir.write("migrations/0005_d.up.sql", "SELECT '\xff';\n");
    dir.write("migrations/0005_d.down.sql", "SELECT 1;\n");
    dir.write("migrations/0006_e.up.sql", "-- rollsafe:lock-timeout=later\nSELECT 1;\n");
    dir.write("migrations/0006_e.down.sql", "SELECT 1;\n");
    dir.write("migrations/0007_f.up.sql", "SELECT 1;\n");
    dir.write("migrations/0007_f.down.sql", "SELECT 1;\n");
    dir.write("migrations/7_g.up.sql", "SELECT 1;\n");
    dir.write("migrations/7_g.down.sql", "SELECT 1;\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    for (const char* expected : {
             "migrations/0002_a.up.sql:1:1: error: syntax error at or near \"SELEC\"",
             "migrations/0003_b.up.sql:1:1: error: up script without a down script",
             "migrations/0004_c.down.sql:1:1: error: down script without an up script",
             "migrations/0005_d.up.sql:1:9: error: not valid UTF-8",
             "migrations/0006_e.up.sql:1:1: error: bad directive: lock-timeout needs a duration",
             "migrations/7_g.up.sql:1:1: error: duplicate version 7",
         }) {
        EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
    }
    EXPECT_NE(r.out.find("\n7 problems in migrations\n"), std::string::npos) << r.out;

    auto j = validate(dir, {"-o", "json"});
    EXPECT_EQ(j.code, 2);
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc.at("ok"), false);
    ASSERT_EQ(doc.at("errors").size(), 7u);
    for (const auto& e : doc.at("errors")) {
        EXPECT_TRUE(e.contains("file") && e.contains("line") && e.contains("col")) << e.dump();
    }
}

TEST(Validate, MissingMigrationsFolder) {
    test::TempDir dir;
    auto r = validate(dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find(
                  "migrations: error: migrations folder cannot be read: No such file or directory"),
              std::string::npos)
        << r.out;
}

TEST(Validate, OtherLayoutsAndFoldersFromConfiguration) {
    test::TempDir dir;
    dir.write("db/20240101000000_create_t.sql",
              "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\nDROP TABLE t;\n");
    dir.write("rollsafe.toml", "[migrations]\ndir = \"db\"\n");
    auto r = validate(dir);
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("1 migrations, 2 statements: OK (dbmate layout, db)"), std::string::npos)
        << r.out;
    // The flag wins over the file; a wrong explicit layout reports every file.
    r = validate(dir, {"--layout", "flyway"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("db/20240101000000_create_t.sql:1:1: error: file name does not follow the "
                         "flyway layout"),
              std::string::npos)
        << r.out;
}
