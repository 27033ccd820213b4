// The hostile-input table of docs/reliability.md: bad files, bad configuration, bad networks,
// faults in the middle of a run and scripts that fight the engine, each thrown at the real
// binary and a real PostgreSQL. Every case checks the message (file:line where there is one),
// the exit code (docs/exit-codes.md) and what the database holds afterwards: for a refused run,
// nothing at all (no table, no history row).
//
// Rows covered elsewhere are named in docs/reliability.md and not repeated here.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "core/base/fs.h"
#include "support/helpers.h"
#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Tables outside the catalogs and rollsafe's own schema.
std::string user_tables(const Project& p) {
    return p.db().scalar(
        "SELECT coalesce(string_agg(n.nspname || '.' || c.relname, ',' ORDER BY 1), '') FROM "
        "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
        "n.nspname NOT IN ('pg_catalog', 'information_schema', 'rollsafe') AND n.nspname NOT LIKE "
        "'pg_toast%'");
}

// History rows (0 when rollsafe's schema was never created).
int history_rows(const Project& p) {
    if (p.db().scalar("SELECT to_regclass('rollsafe.history') IS NOT NULL") != "t")
        return 0;
    return std::stoi(p.db().scalar("SELECT count(*) FROM rollsafe.history"));
}

// A refused run leaves the database as it was: no table of the migrations, no history, and no
// rollsafe schema either (rollsafe checks its input before it creates anything).
void expect_untouched(const Project& p) {
    EXPECT_EQ(user_tables(p), "");
    EXPECT_EQ(history_rows(p), 0);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'rollsafe'"), "0");
}

// A run refused after it connected leaves no trace of the migrations: no table of theirs and
// no history row. (rollsafe's own schema may exist: it is created on the first connection of a
// command that changes the database, before the scripts are planned.)
void expect_nothing_applied_by_migrations(const Project& p) {
    EXPECT_EQ(user_tables(p), "");
    EXPECT_EQ(history_rows(p), 0);
}

// A good first migration, so that a broken second one is the only problem.
void add_good(Project& p) {
    p.add("0001_create_t", "CREATE TABLE t (id int);\n", "DROP TABLE t;\n");
}

// Runs `command` through sh (test set-up only: chown, mount checks).
int sh(const std::string& command) {
    return std::system(command.c_str());
}

// Runs rollsafe as the unprivileged postgres user (a copy of the binary, since the build
// folder may be private), or as ourselves when we are not root.
test::CliResult run_unprivileged(const Project& p, const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& extra_env = {}) {
    auto copy = p.dir() / "rollsafe-copy";
    auto binary = fs::read_file(ROLLSAFE_BINARY);
    EXPECT_TRUE(binary);
    if (!binary)
        return {};
    fs::write_file_atomic(copy, *binary, 0755);
    std::vector<std::string> prefix;
    if (::geteuid() == 0)
        prefix = {"runuser", "-u", "postgres", "--"};
    test::CliOptions o;
    o.cwd = p.dir().path();
    o.env = p.env(extra_env);
    test::CliProcess proc(args, o, prefix, copy);
    return proc.wait(std::chrono::seconds(120));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// --- files ----------------------------------------------------------------------------------

TEST(HostileInputs, EmptyFiles) {
    Project p;
    p.add("0001_empty", "", "");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0001_empty.up.sql:1:1"));
    EXPECT_TRUE(contains(r.err, "the up script has no SQL statements")) << r.err;
    expect_untouched(p);

    // An empty down script is allowed (validate warns), and so is an empty rollsafe.toml.
    p.add("0001_empty", "CREATE TABLE t (id int);\n", "");
    p.dir().write("rollsafe.toml", "");
    r = p.run({"validate"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(contains(r.out,
                         "migrations/0001_empty.down.sql:1:1: warning: down script of "
                         "0001_empty has no statements (undo does nothing)"))
        << r.out;
    r = p.run({"up"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(p.table_exists("t"));
}

TEST(HostileInputs, FiftyMegabyteMigration) {
    // Generated here, never committed: 50 MB in one script, as 50 INSERTs of a 1 MB value each
    // (size, not statement count: 120,000 small statements in 50 MB are a benchmark, see
    // docs/reliability.md). It is read, parsed, checked and applied like any other.
    Project p;
    std::string up = "CREATE TABLE big (id int, pad text);\n";
    const std::string pad(1024 * 1024, 'x');
    for (int i = 1; i <= 50; ++i)
        up += "INSERT INTO big VALUES (" + std::to_string(i) + ", '" + pad + "');\n";
    ASSERT_GT(up.size(), 50u * 1024 * 1024);
    p.add("0001_big", up, "DROP TABLE big;\n");
    auto t0 = std::chrono::steady_clock::now();
    auto r = p.run({"up"}, {{"ROLLSAFE_SNAPSHOT_MODE", "none"}});
    EXPECT_EQ(r.code, 0) << r.all().substr(0, 4000);
    EXPECT_EQ(p.db().scalar("SELECT count(*) || ':' || sum(length(pad)) FROM big"),
              "50:" + std::to_string(50 * 1024 * 1024));
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 1);
    std::cerr << "50 MB migration applied in " << seconds_since(t0) << " s\n";
    // And it is still 50 MB when nothing is left to do (status reads and hashes it again).
    EXPECT_EQ(p.run({"up"}).code, 0);
}

TEST(HostileInputs, BinaryGarbage) {
    Project p;
    add_good(p);
    std::mt19937 rng(9);
    std::string garbage;
    for (int i = 0; i < 4096; ++i)
        garbage += static_cast<char>(rng() & 0xFF);
    garbage[0] = '\x89';  // never valid as a first byte
    p.add("0002_garbage", garbage, "SELECT 1;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_garbage.up.sql:1:1")) << r.err;
    EXPECT_TRUE(contains(r.err, "not valid UTF-8")) << r.err;
    expect_untouched(p);

    // Valid UTF-8 with a NUL byte: a binary file all the same.
    p.add("0002_garbage", std::string("SELECT 1;\nSELECT \0 2;\n", 22), "SELECT 1;\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_garbage.up.sql:2:8")) << r.err;
    EXPECT_TRUE(contains(r.err, "contains a NUL byte")) << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, NotUtf8) {
    Project p;
    add_good(p);
    // Latin-1: "é" is one byte, 0xE9, on line 2.
    p.add("0002_latin1", "CREATE TABLE u (id int);\nCOMMENT ON TABLE u IS 'caf\xE9';\n",
          "DROP TABLE u;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_latin1.up.sql:2:27")) << r.err;
    EXPECT_TRUE(contains(r.err, "not valid UTF-8")) << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, CrlfLineEnds) {
    Project p;
    p.add("0001_crlf", "CREATE TABLE c (id int);\r\n\r\nINSERT INTO c VALUES (1);\r\n",
          "DROP TABLE c;\r\n");
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM c"), "1");

    // A checkout with other line ends (git's autocrlf) is not drift.
    p.add("0001_crlf", "CREATE TABLE c (id int);\n\nINSERT INTO c VALUES (1);\n",
          "DROP TABLE c;\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 0) << r.all();

    // Errors in a CRLF file point at the right line and column.
    p.add("0002_bad", "SELECT 1;\r\n\r\nSELEC 2;\r\n", "SELECT 1;\r\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_bad.up.sql:3:1")) << r.err;
    EXPECT_EQ(history_rows(p), 1);
}

TEST(HostileInputs, ByteOrderMark) {
    Project p;
    p.add("0001_bom",
          "\xEF\xBB\xBF"
          "CREATE TABLE b (id int);\n",
          "\xEF\xBB\xBF"
          "DROP TABLE b;\n");
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(p.table_exists("b"));
    // Saving the file without the mark (or with it) is not drift.
    p.add("0001_bom", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n");
    EXPECT_EQ(p.run({"up"}).code, 0);

    // Columns of an error count from after the mark.
    p.add("0002_bad",
          "\xEF\xBB\xBF"
          "SELEC 1;\n",
          "SELECT 1;\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_bad.up.sql:1:1")) << r.err;
    EXPECT_EQ(history_rows(p), 1);
}

TEST(HostileInputs, TwentyDigitVersion) {
    Project p;
    // Beyond int64 (9223372036854775807): versions are compared as digit strings.
    p.add("99999999999999999999_huge", "CREATE TABLE h (id int);\n", "DROP TABLE h;\n");
    p.add("20240101120000_ts", "CREATE TABLE ts (id int);\n", "DROP TABLE ts;\n");
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.history_count("99999999999999999999", "up", "applied"), 1);
    EXPECT_EQ(p.db().scalar("SELECT string_agg(version, ',' ORDER BY id) FROM rollsafe.history "
                            "WHERE op = 'up'"),
              "20240101120000,99999999999999999999");
    r = p.run({"down", "--to", "20240101120000"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_FALSE(p.table_exists("h"));
    EXPECT_TRUE(p.table_exists("ts"));
}

TEST(HostileInputs, TwoFilesWithTheSameVersion) {
    Project p;
    add_good(p);
    p.add("1_other", "CREATE TABLE o (id int);\n", "DROP TABLE o;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/1_other.up.sql:1:1")) << r.err;
    EXPECT_TRUE(contains(r.err, "duplicate version 1: also migrations/0001_create_t.up.sql"))
        << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, SymlinkLoopInTheMigrationsFolder) {
    Project p;
    add_good(p);
    // A script that is a link to itself, and a folder link back to the folder (not followed).
    ASSERT_EQ(::symlink("0002_loop.up.sql", (p.migrations() + "/0002_loop.up.sql").c_str()), 0);
    p.dir().write("migrations/0002_loop.down.sql", "SELECT 1;\n");
    ASSERT_EQ(::symlink(".", (p.migrations() + "/again").c_str()), 0);
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_loop.up.sql:1:1")) << r.err;
    EXPECT_TRUE(contains(r.err, "Too many levels of symbolic links")) << r.err;
    expect_untouched(p);

    // The migrations folder itself a link loop.
    auto looped = p.dir() / "looped";
    ASSERT_EQ(::symlink(looped.c_str(), looped.c_str()), 0);
    r = p.run({"up", "--migrations", looped});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(
        contains(r.err, "migrations folder cannot be read: Too many levels of symbolic links"))
        << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, MigrationsPathIsAFile) {
    Project p;
    auto file = p.dir().write("not-a-folder.sql", "CREATE TABLE t (id int);\n");
    auto r = p.run({"up", "--migrations", file});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations path is not a folder")) << r.err;
    EXPECT_TRUE(contains(r.err, "not-a-folder.sql")) << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, UnreadableFile) {
    // chmod 000 stops everyone but root: as root, rollsafe runs as the postgres user.
    Project p;
    add_good(p);
    p.add("0002_secret", "CREATE TABLE s (id int);\n", "DROP TABLE s;\n");
    if (::geteuid() == 0) {
        ASSERT_EQ(sh("chown -R postgres '" + p.dir().path() + "'"), 0);
    }
    ASSERT_EQ(::chmod((p.migrations() + "/0002_secret.up.sql").c_str(), 0), 0);
    auto r = run_unprivileged(p, {"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_secret.up.sql:1:1")) << r.err;
    EXPECT_TRUE(contains(r.err, "cannot read: Permission denied")) << r.err;
    expect_untouched(p);
}

// --- configuration and connection -------------------------------------------------------------

TEST(HostileInputs, TomlWithDuplicateKeys) {
    Project p;
    add_good(p);
    p.dir().write("rollsafe.toml", "[lock]\nwait = \"10s\"\n\n[lock]\nlease = \"30s\"\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "rollsafe.toml:4:")) << r.err;
    expect_untouched(p);

    p.dir().write("rollsafe.toml", "[timeouts]\nlock = \"2s\"\nlock = \"5s\"\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "rollsafe.toml:3:")) << r.err;
    expect_untouched(p);
}

TEST(HostileInputs, DsnWithAWrongPassword) {
    // The sandbox trusts every local connection; one role gets scram-sha-256 through a line
    // put first in pg_hba.conf (rules are matched in order), so this test alone sees passwords.
    Project p;
    add_good(p);
    auto admin = p.db().connect();
    admin->exec(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rs_pw') THEN "
        "CREATE ROLE rs_pw LOGIN PASSWORD 'right-horse-battery'; END IF; END$$");
    auto hba = p.db().scalar("SHOW hba_file");
    auto rules = test::read(hba);
    ASSERT_FALSE(rules.empty());
    if (!contains(rules, "rs_pw")) {
        std::string line =
            "local all rs_pw scram-sha-256\nhost all rs_pw 127.0.0.1/32 scram-sha-256\n";
        ASSERT_EQ(sh("printf '%s' '" + line + "' | cat - '" + hba + "' > '" + hba +
                     ".new' && cat '" + hba + ".new' > '" + hba + "' && rm '" + hba + ".new'"),
                  0);
        p.db().scalar("SELECT pg_reload_conf()");
        ASSERT_TRUE(test::eventually(
            [&] {
                return p.db().scalar(
                           "SELECT count(*) FROM pg_hba_file_rules WHERE "
                           "'rs_pw' = ANY(user_name)") == "2";
            },
            std::chrono::seconds(10)));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // postmaster reloads
    }
    std::string url = p.db().url();  // postgresql://postgres@<socket folder>:<port>/<db>
    url.replace(0, url.find('@'), "postgresql://rs_pw:wrong-pony-staple");
    auto t0 = std::chrono::steady_clock::now();
    auto r = p.run({"up"}, {{"DATABASE_URL", url}});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "password authentication failed for user \"rs_pw\"")) << r.err;
    EXPECT_TRUE(contains(r.err, "hint: check the user, database and password")) << r.err;
    EXPECT_FALSE(contains(r.all(), "wrong-pony-staple")) << r.all();
    EXPECT_LT(seconds_since(t0), 10.0) << "an authentication failure is not retried";
    expect_untouched(p);
}

TEST(HostileInputs, UnreachableHostIsBoundedAndExits10) {
    // 10.255.255.1 is a private address nothing answers (a blackhole); a closed port on
    // 127.0.0.1 is EngineBasics.UnreachableDatabaseGivesExit10.
    Project p;
    add_good(p);
    auto t0 = std::chrono::steady_clock::now();
    auto r = p.run({"up"}, {{"DATABASE_URL", "postgresql://app:s3cretpw@10.255.255.1:5432/shop"},
                            {"ROLLSAFE_DATABASE_CONNECT_TIMEOUT", "1s"},
                            {"ROLLSAFE_DATABASE_CONNECT_RETRIES", "2"}});
    double took = seconds_since(t0);
    EXPECT_EQ(r.code, 10) << r.all();
    EXPECT_TRUE(contains(r.err, "after 2 attempts")) << r.err;
    EXPECT_FALSE(contains(r.all(), "s3cretpw")) << r.all();
    EXPECT_LT(took, 15.0) << "2 attempts of 1 s and a back-off";
    expect_untouched(p);
}

// --- faults during a run ----------------------------------------------------------------------

TEST(HostileInputs, DatabaseDroppedMidRun) {
    Project p;
    p.add("0001_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n", "DROP TABLE slow;\n");
    test::CliOptions o;
    o.env = p.env();
    o.cwd = p.dir().path();
    auto t0 = std::chrono::steady_clock::now();
    test::CliProcess proc({"up"}, o);
    auto admin = Dsn::parse(test::cluster().conninfo("postgres"));
    auto session = db::connect(admin, {});
    ASSERT_TRUE(test::wait_until([&] {
        return session
                   ->exec(
                       "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                       "'SELECT pg_sleep(%' AND datname = '" +
                       p.db().name() + "' AND state = 'active'")
                   .get(0, 0) == "1";
    }));
    session->exec("DROP DATABASE \"" + p.db().name() + "\" WITH (FORCE)");
    auto r = proc.wait(std::chrono::seconds(120));
    EXPECT_LT(seconds_since(t0), 50.0);
    // The migration's transaction died with its session: FAILED_CLEAN, at the statement.
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_TRUE(contains(r.err,
                         "0001_slow failed at migrations/0001_slow.up.sql:2:1: connection "
                         "to the database was lost"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "could not reconnect to record the failure")) << r.err;
    // The database is gone: nothing to check in it, and nothing was half-applied anywhere.
    EXPECT_EQ(
        session->exec("SELECT count(*) FROM pg_database WHERE datname = '" + p.db().name() + "'")
            .get(0, 0),
        "0");
    // (TestDb's destructor then fails to drop it, quietly.)
}

namespace {

// A tiny tmpfs for the snapshot folder (read-only or small enough to fill). Needs root and
// CAP_SYS_ADMIN; the test is skipped without them (the file-size-limit variant of a full disk,
// Snapshot.DiskFullDuringTheDumpGivesExit9AndAppliesNothing, needs neither).
struct TinyFs {
    std::string path;
    bool mounted = false;
    TinyFs(const std::string& at, const std::string& options) : path(at) {
        fs::make_dirs(path, 0755);
        mounted =
            ::geteuid() == 0 && ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
    }
    ~TinyFs() {
        if (mounted)
            ::umount2(path.c_str(), MNT_DETACH);
    }
};

void add_data_and_alter(Project& p) {
    p.db().connect()->exec(
        "CREATE TABLE orders (id serial PRIMARY KEY, note text); INSERT INTO orders (note) "
        "SELECT md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 20000) g");
    p.add("0001_alter", "ALTER TABLE orders ADD COLUMN y int;\n",
          "ALTER TABLE orders DROP COLUMN y;\n");
}

void expect_nothing_applied(const Project& p) {
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 0);
    EXPECT_EQ(
        p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'y'"),
        "0");
}

}  // namespace

TEST(HostileInputs, SnapshotFolderOnAFullFilesystem) {
    Project p;
    add_data_and_alter(p);
    TinyFs tiny(p.dir() / "tiny", "size=64k,mode=0700");
    if (!tiny.mounted)
        GTEST_SKIP() << "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)";
    auto r =
        p.run({"up"}, {{"ROLLSAFE_SNAPSHOT_DIR", tiny.path}, {"ROLLSAFE_SNAPSHOT_MODE", "full"}});
    EXPECT_EQ(r.code, 9) << r.all();
    EXPECT_TRUE(contains(r.err, "no space left")) << r.err;
    EXPECT_TRUE(contains(r.err, "nothing was applied")) << r.err;
    expect_nothing_applied(p);
}

TEST(HostileInputs, SnapshotFolderOnAReadOnlyFilesystem) {
    Project p;
    add_data_and_alter(p);
    TinyFs tiny(p.dir() / "ro", "size=64k,mode=0700,ro");
    if (!tiny.mounted)
        GTEST_SKIP() << "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)";
    auto r =
        p.run({"up"}, {{"ROLLSAFE_SNAPSHOT_DIR", tiny.path}, {"ROLLSAFE_SNAPSHOT_MODE", "full"}});
    EXPECT_EQ(r.code, 9) << r.all();
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
    expect_nothing_applied(p);
}

// --- the lockfile ---------------------------------------------------------------------------

TEST(HostileInputs, LockfileWithGarbage) {
    Project p;
    add_good(p);
    auto lockfile = p.dir().write(".rollsafe/rollsafe.lock",
                                  "\x7f"
                                  "ELF\x02\x01 {\"state\": ");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(contains(r.err, "not a rollsafe lockfile (garbage or truncated); replacing it"))
        << r.err;
    EXPECT_TRUE(p.table_exists("t"));
    EXPECT_FALSE(fs::exists(lockfile));  // removed after the successful run
}

TEST(HostileInputs, LockfileOwnedByAnotherUser) {
    // Written by root (0600, as rollsafe writes it) in a shared folder; rollsafe then runs as
    // the postgres user, who can neither read it nor take its flock.
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to own a file the test user cannot read";
    Project p;
    add_good(p);
    ASSERT_EQ(sh("chown -R postgres '" + p.dir().path() + "'"), 0);
    fs::make_dirs(p.dir() / ".rollsafe", 0777);
    ASSERT_EQ(::chown((p.dir() / ".rollsafe").c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod((p.dir() / ".rollsafe").c_str(), 01777), 0);
    fs::write_file_atomic(p.dir() / ".rollsafe/rollsafe.lock",
                          R"({"state":"running","pid":1,"host":"elsewhere","command":"up"})", 0600);
    fs::write_file_atomic(p.dir() / ".rollsafe/rollsafe.lock.flock", "", 0600);
    auto r = run_unprivileged(p, {"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "rollsafe.lock.flock: Permission denied")) << r.err;
    EXPECT_TRUE(contains(r.err, "hint: set lockfile.path to a writable place")) << r.err;
    expect_untouched(p);
}

// --- scripts that fight the engine ------------------------------------------------------------

TEST(HostileInputs, MigrationRunsRollbackItself) {
    // COMMIT inside a script:
    // EngineBasics.TransactionControlInsideAMigrationIsRefusedButAWrapperIsUnwrapped.
    Project p;
    add_good(p);
    p.add("0002_rollback", "CREATE TABLE x (id int);\nROLLBACK;\nCREATE TABLE y (id int);\n",
          "DROP TABLE x;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_rollback.up.sql:2:1")) << r.err;
    expect_nothing_applied_by_migrations(p);

    // BEGIN ... ROLLBACK is not a wrapper to strip: the author asked for nothing to be kept.
    p.add("0002_rollback", "BEGIN;\nCREATE TABLE x (id int);\nROLLBACK;\n", "DROP TABLE x;\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_rollback.up.sql:")) << r.err;
    expect_nothing_applied_by_migrations(p);

    // In a no-transaction migration every statement commits on its own: COMMIT is refused too.
    p.add("0002_rollback", "-- rollsafe:no-transaction\nCREATE TABLE x (id int);\nCOMMIT;\n",
          "DROP TABLE x;\n");
    r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_TRUE(contains(r.err, "migrations/0002_rollback.up.sql:3:1")) << r.err;
    expect_nothing_applied_by_migrations(p);
}

TEST(HostileInputs, MigrationChangesSessionAuthorizationOrSearchPath) {
    // SET search_path followed by a plain migration:
    // EngineBasics.MigrationChangingSearchPathDoesNotLeakIntoTheNext.
    Project p;
    auto admin = p.db().connect();
    admin->exec(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rs_app') THEN "
        "CREATE ROLE rs_app NOLOGIN; END IF; END$$");
    p.add("0001_become_app", "SET SESSION AUTHORIZATION rs_app;\nSELECT 1;\n", "SELECT 1;\n");
    p.add("0002_set_role", "SET ROLE rs_app;\nSELECT 2;\n", "SELECT 1;\n");
    p.add("0003_empty_path", "SELECT set_config('search_path', '', false);\n", "SELECT 1;\n");
    p.add("0004_next", "CREATE TABLE after_them (id int);\n", "DROP TABLE after_them;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 0) << r.all();
    for (const char* v : {"0001", "0002", "0003", "0004"})
        EXPECT_EQ(p.history_count(v, "up", "applied"), 1) << v;
    // The next migration ran as rollsafe's own user, in the default search_path.
    EXPECT_EQ(p.db().scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'after_them'"),
              "postgres");
    EXPECT_TRUE(p.table_exists("public.after_them"));
    // History rows were written by rollsafe's user too, and the lock released.
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");
    // And down undoes all four the same way.
    r = p.run({"down", "--to", "0"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_FALSE(p.table_exists("public.after_them"));
}

TEST(HostileInputs, ScriptSetsLockTimeoutItself) {
    Project p;
    p.add("0001_create_t", "CREATE TABLE t (id int);\n", "DROP TABLE t;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);

    // lock_timeout = 0 switches rollsafe's guard off: check refuses it before anything runs.
    p.add("0002_no_guard", "SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN y int;\n",
          "ALTER TABLE t DROP COLUMN y;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 5) << r.all();
    EXPECT_TRUE(contains(r.all(), "0002_no_guard.up.sql:2:1")) << r.all();
    EXPECT_EQ(history_rows(p), 1);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'t' AND column_name = 'y'"),
              "0");

    // A shorter lock_timeout of its own is kept: behind a long reader, the ALTER gives up after
    // 100 ms each time, rollsafe retries within its budget, then exits BUSY with nothing changed.
    p.add("0002_no_guard", "SET lock_timeout = '100ms';\nALTER TABLE t ADD COLUMN y int;\n",
          "ALTER TABLE t DROP COLUMN y;\n");
    auto reader = p.db().connect();
    reader->exec("BEGIN; SELECT * FROM t;");
    auto t0 = std::chrono::steady_clock::now();
    r = p.run({"up"}, {{"ROLLSAFE_TIMEOUTS_LOCK_RETRY_BUDGET", "2s"}});
    EXPECT_EQ(r.code, 14) << r.all();
    EXPECT_LT(seconds_since(t0), 30.0);
    reader->exec("ROLLBACK");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'t' AND column_name = 'y'"),
              "0");
    EXPECT_EQ(p.history_count("0002", "up", "applied"), 0);
    // With the reader gone it applies.
    EXPECT_EQ(p.run({"up"}).code, 0);
}
