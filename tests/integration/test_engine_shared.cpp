// The engine behaviours PostgreSQL and SQLite share (issue 12), one body per behaviour, run
// against both engines through the real binary: only the database URL differs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <set>
#include <thread>

#include "support/engine_project.h"

using namespace rollsafe;
using test::EngineProject;

namespace {

class SharedEngine : public ::testing::TestWithParam<EngineKind> {
  protected:
    // SQL both dialects accept.
    static void add_shop(EngineProject& p) {
        p.add("0001_users", "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n",
              "DROP TABLE users;\n");
        p.add("0002_orders",
              "CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id));\n"
              "INSERT INTO users (id, email) VALUES (1, 'a@example.com');\n",
              "DROP TABLE orders;\nDELETE FROM users WHERE email = 'a@example.com';\n");
        p.add("0003_orders_note", "ALTER TABLE orders ADD COLUMN note text;\n",
              "ALTER TABLE orders DROP COLUMN note;\n");
    }
    static std::vector<std::string> history_ops(const EngineProject& p) {
        auto h = p.run({"history", "-o", "json"});
        std::vector<std::string> out;
        auto doc = nlohmann::json::parse(h.out);
        for (const auto& r : doc["history"])
            out.push_back(r["op"].get<std::string>() + ":" + r["version"].get<std::string>() +
                          ":" + r["outcome"].get<std::string>());
        return out;
    }
};

TEST_P(SharedEngine, UpAppliesEachMigrationOnceWithHistory) {
    EngineProject p(GetParam());
    add_shop(p);
    auto r = p.run({"up", "--release", "v1.0.0"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(p.table_exists("orders"));
    EXPECT_TRUE(p.column_exists("orders", "note"));
    for (const char* v : {"0001", "0002", "0003"})
        EXPECT_EQ(p.history_count(v, "up", "applied"), 1) << v;
    EXPECT_EQ(p.scalar("SELECT down_script FROM " + p.history_table() + " WHERE version = '0003'"),
              "ALTER TABLE orders DROP COLUMN note;\n");
    EXPECT_EQ(p.scalar("SELECT release FROM " + p.history_table() + " WHERE version = '0001'"),
              "v1.0.0");
    auto again = p.run({"up"});
    EXPECT_EQ(again.code, 0) << again.all();
    EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
    EXPECT_EQ(p.scalar("SELECT count(*) FROM " + p.history_table() + " WHERE op = 'up'"), "3");
}

TEST_P(SharedEngine, HistoryIsAppendOnly) {
    EngineProject p(GetParam());
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_NE(p.exec_error("UPDATE " + p.history_table() + " SET outcome = 'x'"), "");
    EXPECT_NE(p.exec_error("DELETE FROM " + p.history_table()), "");
    EXPECT_EQ(p.scalar("SELECT count(*) FROM " + p.history_table()), "3");
}

TEST_P(SharedEngine, DownRevertsNewestFirst) {
    EngineProject p(GetParam());
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto r = p.run({"down", "--to", "0001", "--reason", "test"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_FALSE(p.table_exists("orders"));
    EXPECT_TRUE(p.table_exists("users"));
    EXPECT_EQ(p.scalar("SELECT count(*) FROM users"), "0");
    auto ops = history_ops(p);
    ASSERT_EQ(ops.size(), 5u);
    EXPECT_EQ(ops[3], "down:0003:rolled-back");
    EXPECT_EQ(ops[4], "down:0002:rolled-back");
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_TRUE(p.table_exists("orders"));
}

TEST_P(SharedEngine, DownFromTheStoredTextAfterTheFilesAreGone) {
    EngineProject p(GetParam());
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.remove("0003_orders_note");  // an older image lacks the newer files
    auto r = p.run({"down", "--to", "0002"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("stored"), std::string::npos) << r.err;
    EXPECT_FALSE(p.column_exists("orders", "note"));
    auto h = nlohmann::json::parse(p.run({"history", "--op", "down", "-o", "json"}).out);
    ASSERT_EQ(h["history"].size(), 1u);
    EXPECT_EQ(h["history"][0]["details"]["source"], "stored");
}

TEST_P(SharedEngine, ChangedAppliedScriptIsDriftExit8) {
    EngineProject p(GetParam());
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0001_users", "-- a comment\nCREATE TABLE users (id integer PRIMARY KEY,\n  email text NOT NULL);\n",
          "DROP TABLE users;\n");
    auto cosmetic = p.run({"up"});
    EXPECT_EQ(cosmetic.code, 0) << cosmetic.all();
    EXPECT_NE(cosmetic.err.find("whitespace or comments"), std::string::npos) << cosmetic.err;
    p.add("0001_users", "CREATE TABLE users (id integer PRIMARY KEY, email text);\n",
          "DROP TABLE users;\n");
    auto drift = p.run({"up"});
    EXPECT_EQ(drift.code, 8) << drift.all();
    EXPECT_NE(drift.err.find("migrations/0001_users.up.sql"), std::string::npos) << drift.err;
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["migrations"][0]["drift"], "changed");
    // A changed down file is drift too, unless a side is chosen.
    p.add("0001_users", "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n",
          "DROP TABLE users;\n");
    p.add("0003_orders_note", "ALTER TABLE orders ADD COLUMN note text;\n",
          "ALTER TABLE orders DROP COLUMN note;\nSELECT 'changed';\n");
    EXPECT_EQ(p.run({"down", "--steps", "1"}).code, 8);
    EXPECT_EQ(p.run({"down", "--steps", "1", "--use-stored"}).code, 0);
}

TEST_P(SharedEngine, OutOfOrderIsRefusedUnlessAllowed) {
    EngineProject p(GetParam());
    p.add("0001_a", "CREATE TABLE a (id integer);\n", "DROP TABLE a;\n");
    p.add("0003_c", "CREATE TABLE c (id integer);\n", "DROP TABLE c;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0002_b", "CREATE TABLE b (id integer);\n", "DROP TABLE b;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("out-of-order"), std::string::npos) << r.err;
    EXPECT_FALSE(p.table_exists("b"));
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["counts"]["out_of_order"], 1);
    auto ok = p.run({"up", "--allow-out-of-order"});
    EXPECT_EQ(ok.code, 0) << ok.all();
    EXPECT_TRUE(p.table_exists("b"));
}

TEST_P(SharedEngine, FailedMigrationRollsBackCleanly) {
    EngineProject p(GetParam());
    add_shop(p);
    p.add("0004_broken",
          "CREATE TABLE t4 (id integer);\nINSERT INTO t4 VALUES (1);\nINSERT INTO nope VALUES (1);\n",
          "DROP TABLE t4;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_NE(r.err.find("migrations/0004_broken.up.sql:3:1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
    EXPECT_FALSE(p.table_exists("t4"));
    EXPECT_TRUE(p.table_exists("orders"));  // earlier migrations stay
    EXPECT_EQ(p.history_count("0004", "up", "failed"), 1);
    EXPECT_EQ(p.history_count("0004", "up", "applied"), 0);
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["current_version"], "0003");
    EXPECT_EQ(st["counts"]["pending"], 1);
}

TEST_P(SharedEngine, AtomicDownIsAllOrNothing) {
    EngineProject p(GetParam());
    add_shop(p);
    p.add("0004_bad_down", "CREATE TABLE t4 (id integer);\n",
          "DROP TABLE t4;\nINSERT INTO nope VALUES (1);\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto r = p.run({"down", "--to", "0002", "--atomic"});
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_TRUE(p.table_exists("t4"));
    EXPECT_TRUE(p.column_exists("orders", "note"));
    EXPECT_EQ(p.history_count("0004", "down", "rolled-back"), 0);
}

TEST_P(SharedEngine, DryRunAndPlanChangeNothing) {
    EngineProject p(GetParam());
    add_shop(p);
    auto r = p.run({"up", "--dry-run"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("migrations/0002_orders.up.sql:2:1"), std::string::npos) << r.out;
    EXPECT_FALSE(p.table_exists("users"));
    EXPECT_FALSE(p.table_exists(p.kind() == EngineKind::sqlite ? "rollsafe_history" : "rollsafe.history"));
    auto plan = p.run({"plan", "-o", "json"});
    ASSERT_EQ(plan.code, 0) << plan.all();
    auto j = nlohmann::json::parse(plan.out);
    ASSERT_EQ(j["steps"].size(), 3u);
    EXPECT_EQ(j["steps"][1]["statements"].size(), 2u);
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto down = p.run({"down", "--steps", "2", "--dry-run"});
    ASSERT_EQ(down.code, 0) << down.all();
    EXPECT_TRUE(p.table_exists("orders"));
    EXPECT_EQ(p.history_count("0003", "down", "rolled-back"), 0);
}

TEST_P(SharedEngine, StatusJson) {
    EngineProject p(GetParam());
    add_shop(p);
    auto fresh = p.run({"status", "-o", "json"});
    ASSERT_EQ(fresh.code, 0) << fresh.all();
    EXPECT_EQ(nlohmann::json::parse(fresh.out)["counts"]["pending"], 3);
    ASSERT_EQ(p.run({"up", "--to", "0002"}).code, 0);
    auto r = p.run({"status", "-o", "json"});
    ASSERT_EQ(r.code, 0) << r.all();
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["current_version"], "0002");
    EXPECT_EQ(j["counts"]["applied"], 2);
    EXPECT_EQ(j["counts"]["pending"], 1);
    EXPECT_EQ(j["migrations"][2]["state"], "pending");
    EXPECT_TRUE(j["lock"].is_null());
    auto h = nlohmann::json::parse(p.run({"history", "-o", "json"}).out)["history"];
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0]["version"], "0001");
    EXPECT_EQ(h[0]["outcome"], "applied");
    EXPECT_FALSE(h[0]["host"].get<std::string>().empty());
}

TEST_P(SharedEngine, ConcurrentUpAppliesEachVersionExactlyOnce) {
    EngineProject p(GetParam());
    for (int i = 1; i <= 6; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "%04d_t%d", i, i);
        p.add(id, "CREATE TABLE t" + std::to_string(i) + " (id integer);\n",
              ("DROP TABLE t" + std::to_string(i) + ";\n").c_str());
    }
    // Separate lockfiles: the processes meet only at the database's migration lock.
    std::vector<std::unique_ptr<test::CliProcess>> procs;
    for (int i = 0; i < 4; ++i) {
        test::CliOptions o;
        o.env = p.env();
        o.cwd = p.dir().path();
        procs.push_back(std::make_unique<test::CliProcess>(
            std::vector<std::string>{"up", "--lockfile", p.dir() / ("lock" + std::to_string(i)),
                                     "--lock-wait", "60s", "--snapshot-mode", "none"},
            o));
    }
    int ok = 0;
    for (auto& proc : procs) {
        auto r = proc->wait(std::chrono::seconds(120));
        EXPECT_TRUE(r.code == 0 || r.code == 3) << r.all();
        ok += r.code == 0;
    }
    EXPECT_GE(ok, 1);
    for (int i = 1; i <= 6; ++i) {
        char v[8];
        std::snprintf(v, sizeof v, "%04d", i);
        EXPECT_EQ(p.history_count(v, "up", "applied"), 1) << v;
        EXPECT_TRUE(p.table_exists("t" + std::to_string(i)));
    }
}

INSTANTIATE_TEST_SUITE_P(Engines, SharedEngine,
                         ::testing::Values(EngineKind::postgres, EngineKind::sqlite),
                         test::EngineKindName());

// --- SQLite only

TEST(SqliteEngine, SnapshotVerifyAndRestoreOneTable) {
    EngineProject p(EngineKind::sqlite);

    p.add("0001_users", "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n"
                        "CREATE INDEX users_email ON users (email);\n"
                        "INSERT INTO users VALUES (1, 'a'), (2, 'b');\n",
          "DROP TABLE users;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto snap = p.run({"snapshot", "create", "-o", "json"});
    ASSERT_EQ(snap.code, 0) << snap.all();
    auto m = nlohmann::json::parse(snap.out);
    std::string id = m["id"];
    struct stat st {};
    ASSERT_EQ(::stat(m["path"].get<std::string>().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((p.dir() / ".rollsafe/snapshots").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto verify = p.run({"snapshot", "verify", id});
    EXPECT_EQ(verify.code, 0) << verify.all();

    ASSERT_EQ(p.exec_error("DELETE FROM users WHERE id = 2; UPDATE users SET email = 'x'"), "");
    auto dry = p.run({"restore", "--snapshot", id, "--table", "users", "--dry-run"});
    ASSERT_EQ(dry.code, 0) << dry.all();
    EXPECT_EQ(p.scalar("SELECT count(*) FROM users"), "1");
    auto r = p.run({"restore", "--snapshot", id, "--table", "users", "--yes", "--reason", "t"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.scalar("SELECT group_concat(email) FROM (SELECT email FROM users ORDER BY id)"), "a,b");
    EXPECT_EQ(p.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'users_email'"), "1");
    // The current table is kept aside, not dropped.
    EXPECT_EQ(p.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'users_before_restore_%'"), "1");
    EXPECT_EQ(p.scalar("SELECT count(*) FROM rollsafe_history WHERE op = 'restore'"), "1");

    // A damaged copy fails verification and is not restored from.
    {
        std::string path = m["path"];
        FILE* f = std::fopen(path.c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        std::fseek(f, 200, SEEK_SET);
        std::fputc('X', f);
        std::fclose(f);
    }
    EXPECT_EQ(p.run({"snapshot", "verify", id}).code, 9);
    EXPECT_EQ(p.run({"restore", "--snapshot", id, "--table", "users", "--yes"}).code, 9);
}

TEST(SqliteEngine, PostgresOnlyCommandsSayUsage) {
    EngineProject p(EngineKind::sqlite);
    auto r = p.run({"gate"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("needs PostgreSQL"), std::string::npos) << r.err;
    EXPECT_EQ(p.run({"rollback", "--to-version", "1"}).code, 2);
}

TEST(SqliteEngine, LockHeldByAnotherProcessGivesExit3AndAnExpiredLeaseIsTakenOver) {
    EngineProject p(EngineKind::sqlite);
    p.add("0001_a", "CREATE TABLE a (id integer);\n", "DROP TABLE a;\n");
    ASSERT_EQ(p.run({"status"}).code, 0);
    ASSERT_EQ(p.run({"up", "--to", "0"}).code, 0);  // creates rollsafe's tables, applies nothing
    ASSERT_EQ(p.exec_error("INSERT INTO rollsafe_lock VALUES (1, 'other', 'h', '', 42, 'up', 'a', "
                           "'b', 'c', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) "
                           "+ 600000)"),
              "");
    auto ls = p.run({"lock", "status", "-o", "json"});
    EXPECT_EQ(nlohmann::json::parse(ls.out)["held"], true) << ls.all();
    auto r = p.run({"up", "--lock-wait", "1s"});
    EXPECT_EQ(r.code, 3) << r.all();
    EXPECT_FALSE(p.table_exists("a"));
    ASSERT_EQ(p.exec_error("UPDATE rollsafe_lock SET expires_ms = 0"), "");
    auto ok = p.run({"up", "--lock-wait", "1s"});
    EXPECT_EQ(ok.code, 0) << ok.all();
    EXPECT_TRUE(p.table_exists("a"));
    EXPECT_TRUE(nlohmann::json::parse(p.run({"lock", "status", "-o", "json"}).out)["holder"].is_null());
}

TEST(SqliteEngine, MemoryDatabaseRunsInOneProcess) {
    EngineProject p(EngineKind::sqlite);
    p.add("0001_a", "CREATE TABLE a (id integer);\n", "DROP TABLE a;\n");
    test::CliOptions o;
    o.env = {{"DATABASE_URL", "sqlite::memory:"}};
    o.cwd = p.dir().path();
    auto r = test::run_cli({"up", "-o", "json"}, o);
    EXPECT_EQ(r.code, 0) << r.all();
}

}  // namespace

namespace {

void add_slow(EngineProject& p) {
    p.add("0001_big",
          "CREATE TABLE big (x integer);\n"
          "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000000)\n"
          "INSERT INTO big SELECT i FROM c;\n",
          "DROP TABLE big;\n");
}

}  // namespace

TEST(SqliteEngine, SigtermCancelsTheStatementAndRollsBack) {
    EngineProject p(EngineKind::sqlite);
    add_slow(p);
    test::CliOptions o;
    o.env = p.env();
    o.cwd = p.dir().path();
    test::CliProcess proc({"up", "--snapshot-mode", "none"}, o);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    proc.signal(SIGTERM);
    auto r = proc.wait(std::chrono::seconds(60));
    EXPECT_EQ(r.code, 13) << r.all();
    EXPECT_FALSE(p.table_exists("big"));
    EXPECT_EQ(p.history_count("0001", "up", "failed"), 1);
    EXPECT_EQ(p.scalar("SELECT count(*) FROM rollsafe_lock"), "0");
}

TEST(SqliteEngine, HolderKilledWithSigkillLosesTheLockWhenItsLeaseExpires) {
    EngineProject p(EngineKind::sqlite);
    add_slow(p);
    test::CliOptions o;
    o.env = p.env();
    o.env["ROLLSAFE_LOCK_LEASE"] = "2s";
    o.cwd = p.dir().path();
    {
        test::CliProcess proc({"up", "--snapshot-mode", "none", "--lockfile", p.dir() / "l1"}, o);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        proc.signal(SIGKILL);
        proc.wait(std::chrono::seconds(10));
    }
    p.add("0001_big", "CREATE TABLE big (x integer);\n", "DROP TABLE big;\n");
    test::CliOptions o2 = o;
    auto r = test::run_cli({"up", "--snapshot-mode", "none", "--lockfile", p.dir() / "l2",
                            "--lock-wait", "20s"},
                           o2);
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("took over"), std::string::npos) << r.err;
    EXPECT_TRUE(p.table_exists("big"));
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 1);
}
