// Faults during a migration: a lock held by a reader (lock_timeout and retries, traffic keeps
// flowing), SIGTERM, a terminated backend, and a failed CREATE INDEX CONCURRENTLY.
#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/project.h"

using namespace rollsafe;
using test::Project;
using Clock = std::chrono::steady_clock;

namespace {

const char* kSleep =
    "SELECT pg_sleep(coalesce(nullif(current_setting('rs.sleep', true), ''), '0')::float);\n";

bool sleeping_on_server(const Project& p) {
    return p.db().scalar(
               "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' "
               "AND datname = current_database() AND state = 'active'") == "1";
}

// Runs `SELECT 1 FROM t` every 50 ms on its own connection and keeps the worst latency.
class Probe {
  public:
    explicit Probe(const test::TestDb& db) : m_session(db.connect()) {
        m_thread = std::thread([this] {
            while (!m_stop) {
                auto t0 = Clock::now();
                m_session->exec("SELECT 1 FROM t LIMIT 1");
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
                              .count();
                m_worst = std::max<long long>(m_worst, ms);
                ++m_count;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the probe's pace
            }
        });
    }
    ~Probe() { stop(); }
    void stop() {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    long long worst() const { return m_worst; }
    int count() const { return m_count; }

  private:
    std::unique_ptr<db::Session> m_session;
    std::atomic<bool> m_stop{false};
    std::atomic<long long> m_worst{0};
    std::atomic<int> m_count{0};
    std::thread m_thread;
};

}  // namespace

TEST(EngineFaults, LockTimeoutRetriesKeepTrafficFlowingThenBusyAfterTheBudget) {
    Project p;
    p.add("0001_t", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n", "DROP TABLE t;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0002_alter", "ALTER TABLE t ADD COLUMN c int;\n", "ALTER TABLE t DROP COLUMN c;\n");
    auto reader = p.db().connect();
    reader->exec("BEGIN; SELECT * FROM t");  // idle in transaction, holding ACCESS SHARE on t
    Probe probe(p.db());
    auto r = p.run({"up", "--lock-timeout", "1s", "--lock-retry-budget", "5s"});
    probe.stop();
    EXPECT_EQ(r.code, 14) << r.all();
    EXPECT_NE(r.err.find("nothing changed"), std::string::npos) << r.err;
    EXPECT_GE(probe.count(), 20);
    EXPECT_LE(probe.worst(), 1000 + 100) << "a reader waited behind the migration's lock request";
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'t' AND column_name = 'c'"),
              "0");
    EXPECT_EQ(p.history_count("0002", "up", "failed"), 1);
    std::printf("lock stall probe: %d probes, worst latency %lld ms (lock_timeout 1000 ms)\n",
                probe.count(), probe.worst());

    // The migration succeeds once the reader commits during the retries.
    std::thread release([&] {
        test::wait_until([&] {
            return p.db().scalar(
                       "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE t%' "
                       "AND wait_event_type = 'Lock'") == "1";
        });
        reader->exec("COMMIT");
    });
    auto ok = p.run({"up", "--lock-timeout", "1s", "--lock-retry-budget", "60s"});
    release.join();
    EXPECT_EQ(ok.code, 0) << ok.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'t' AND column_name = 'c'"),
              "1");
}

TEST(EngineFaults, SigtermCancelsTheStatementRollsBackAndExits13) {
    Project p;
    p.add("0001_slow", std::string("CREATE TABLE s1 (id int);\n") + kSleep, "DROP TABLE s1;\n");
    std::atomic<pid_t> pid{0};
    test::CliResult r;
    Clock::time_point signalled;
    std::thread t([&] {
        r = p.run({"up"}, {{"PGOPTIONS", "-c rs.sleep=120"}}, [&](pid_t c) { pid = c; });
    });
    ASSERT_TRUE(test::wait_until([&] { return sleeping_on_server(p); }));
    signalled = Clock::now();
    ::kill(pid, SIGTERM);
    t.join();
    auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
    EXPECT_EQ(r.code, 13) << r.all();
    EXPECT_LT(took, 5000);
    EXPECT_FALSE(p.table_exists("s1"));
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");
    EXPECT_NE(p.db()
                  .scalar("SELECT error FROM rollsafe.history WHERE outcome = 'failed'")
                  .find("interrupted"),
              std::string::npos);
    auto again = p.run({"up"});
    EXPECT_EQ(again.code, 0) << again.all();
    EXPECT_TRUE(p.table_exists("s1"));
}

TEST(EngineFaults, TerminatedBackendOfATransactionalMigrationIsFailedClean) {
    Project p;
    p.add("0001_slow", std::string("CREATE TABLE s1 (id int);\n") + kSleep, "DROP TABLE s1;\n");
    test::CliResult r;
    std::thread t([&] { r = p.run({"up"}, {{"PGOPTIONS", "-c rs.sleep=120"}}); });
    ASSERT_TRUE(test::wait_until([&] { return sleeping_on_server(p); }));
    p.db().scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT "
        "pg_sleep(%' AND datname = current_database()");
    t.join();
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_FALSE(p.table_exists("s1"));
    EXPECT_EQ(p.history_count("0001", "up", "failed"), 1);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.freeze"), "0");
    EXPECT_EQ(p.run({"up"}).code, 0);
}

TEST(EngineFaults, TerminatedConcurrentIndexBuildIsDirtyFrozenAndResumable) {
    Project p;
    p.add("0001_t",
          "CREATE TABLE t (id int, v text, w text);\nINSERT INTO t SELECT g, g::text, g::text FROM "
          "generate_series(1, 1000) g;\n",
          "DROP TABLE t;\n");
    p.add("0002_indexes",
          "-- rollsafe:no-transaction\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\nCREATE INDEX "
          "CONCURRENTLY t_w_idx ON t (w);\n",
          "-- rollsafe:no-transaction\nDROP INDEX CONCURRENTLY t_w_idx;\nDROP INDEX CONCURRENTLY "
          "t_v_idx;\n");
    ASSERT_EQ(p.run({"up", "--to", "0001"}).code, 0);
    // An old snapshot makes the index build wait, so it can be terminated mid-way.
    auto blocker = p.db().connect();
    blocker->exec("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t");
    test::CliResult r;
    std::thread t([&] { r = p.run({"up"}); });
    ASSERT_TRUE(test::wait_until([&] {
        return p.db().scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX "
                   "CONCURRENTLY t_v_idx%' AND wait_event_type = 'Lock'") == "1";
    }));
    p.db().scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX "
        "CONCURRENTLY%'");
    t.join();
    blocker->exec("COMMIT");
    EXPECT_EQ(r.code, 7) << r.all();
    EXPECT_NE(r.err.find("repair --resume"), std::string::npos) << r.err;
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.freeze"), "1");
    EXPECT_EQ(
        p.db().scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass"),
        "f");
    EXPECT_EQ(p.history_count("0002", "up", "failed-dirty"), 1);
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["migrations"][1]["state"], "dirty");
    EXPECT_FALSE(st["freeze"].is_null());

    EXPECT_EQ(p.run({"up"}).code, 4);  // frozen
    auto repair = p.run({"repair", "--resume", "--version", "0002", "--reason", "blocker gone"});
    EXPECT_EQ(repair.code, 0) << repair.all();
    EXPECT_NE(repair.err.find("INVALID index"), std::string::npos) << repair.err;
    EXPECT_EQ(
        p.db().scalar("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 't'::regclass"),
        "t");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass"), "2");
    EXPECT_EQ(p.history_count("0002", "repair", "applied"), 1);
    EXPECT_EQ(p.run({"up"}).code, 4);  // still frozen until a person clears it
    EXPECT_EQ(p.run({"unfreeze", "--reason", "index rebuilt"}).code, 0);
    auto up = p.run({"up"});
    EXPECT_EQ(up.code, 0) << up.all();
    EXPECT_NE(up.out.find("nothing to do"), std::string::npos);
}

TEST(EngineFaults, DirtyMigrationLeftByAKilledProcessIsDetected) {
    Project p;
    p.add("0001_t", "CREATE TABLE t (id int, v text);\n", "DROP TABLE t;\n");
    p.add("0002_idx",
          std::string("-- rollsafe:no-transaction\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n") +
              kSleep,
          "-- rollsafe:no-transaction\nDROP INDEX CONCURRENTLY t_v_idx;\n");
    std::atomic<pid_t> pid{0};
    test::CliResult r;
    std::thread t([&] {
        r = p.run({"up"}, {{"PGOPTIONS", "-c rs.sleep=120"}, {"ROLLSAFE_LOCK_LEASE", "1s"}},
                  [&](pid_t c) { pid = c; });
    });
    ASSERT_TRUE(test::wait_until([&] { return sleeping_on_server(p); }));
    ::kill(pid, SIGKILL);
    t.join();
    test::wait_until([&] { return !sleeping_on_server(p); });
    auto up = p.run({"up", "--lock-wait", "10s"});
    EXPECT_EQ(up.code, 7) << up.all();
    EXPECT_NE(up.err.find("interrupted part way"), std::string::npos) << up.err;
    auto mark = p.run({"repair", "--mark-applied", "--version", "0002", "--reason",
                       "index is there, sleep irrelevant", "--lock-wait", "10s"});
    EXPECT_EQ(mark.code, 0) << mark.all();
    EXPECT_EQ(p.run({"up"}).code, 0);
}
