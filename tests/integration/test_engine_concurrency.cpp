// Exactly-once under concurrency and crashes: many migrators at once, a holder killed with
// SIGKILL, and a hundred runs killed at random instants.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

// A statement that sleeps for rs.sleep seconds (0 when unset), so one process can be made slow
// with PGOPTIONS while its peers run the same file fast.
const char* kSleep =
    "SELECT pg_sleep(coalesce(nullif(current_setting('rs.sleep', true), ''), '0')::float);\n";

// Waits until no backend other than ours is connected to the database.
bool wait_for_no_other_backends(const test::TestDb& db) {
    return test::wait_until([&] {
        return db.scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                   "pid <> pg_backend_pid()") == "0";
    });
}

}  // namespace

TEST(EngineConcurrency, TenConcurrentUpsApplyEveryVersionExactlyOnce) {
    Project p;
    for (int i = 1; i <= 20; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "%04d_t%d", i, i);
        std::string up = "CREATE TABLE t" + std::to_string(i) + " (id int);\nINSERT INTO t" +
                         std::to_string(i) + " VALUES (1);\n";
        if (i == 7)
            up += "SELECT pg_sleep(5);\n";
        p.add(id, up, ("DROP TABLE t" + std::to_string(i) + ";\n").c_str());
    }
    std::vector<test::CliResult> results(10);
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i)
        threads.emplace_back([&, i] { results[i] = p.run({"up", "--lock-wait", "120s"}); });
    for (auto& t : threads)
        t.join();
    int zero = 0;
    for (const auto& r : results) {
        EXPECT_TRUE(r.code == 0 || r.code == 3) << r.all();
        zero += r.code == 0;
    }
    EXPECT_GE(zero, 1);
    EXPECT_EQ(p.db().scalar(
                  "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = 'applied'"),
              "20");
    EXPECT_EQ(p.db().scalar("SELECT count(DISTINCT version) FROM rollsafe.history WHERE op = 'up' "
                            "AND outcome = 'applied'"),
              "20");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history WHERE outcome <> 'applied'"),
              "0");
    for (int i = 1; i <= 20; ++i)
        EXPECT_EQ(p.db().scalar("SELECT count(*) FROM t" + std::to_string(i)), "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0");
}

TEST(EngineConcurrency, KilledHolderIsTakenOverAfterItsLeaseWithNothingPartial) {
    Project p;
    p.add("0001_base", "CREATE TABLE base (id int);\n", "DROP TABLE base;\n");
    p.add("0002_slow",
          std::string("CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\n") + kSleep,
          "DROP TABLE half;\n");
    std::map<std::string, std::string> lease = {{"ROLLSAFE_LOCK_LEASE", "2s"}};
    std::atomic<pid_t> holder{0};
    test::CliResult a;
    auto slow_env = lease;
    slow_env["PGOPTIONS"] = "-c rs.sleep=60";
    std::thread ta([&] { a = p.run({"up"}, slow_env, [&](pid_t pid) { holder = pid; }); });
    // The holder is inside 0002 once its pg_sleep shows up on the server.
    ASSERT_TRUE(test::wait_until([&] {
        return p.db().scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND "
                   "datname = current_database()") == "1";
    }));
    test::CliResult b;
    std::thread tb([&] { b = p.run({"up", "--lock-wait", "60s"}, lease); });
    ASSERT_TRUE(test::wait_until([&] {
        return std::stoi(p.db().scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND application_name = 'rollsafe'")) >= 3;
    }));
    ::kill(holder, SIGKILL);
    ta.join();
    tb.join();
    EXPECT_EQ(a.code, 128 + SIGKILL);
    EXPECT_EQ(b.code, 0) << b.all();
    EXPECT_NE(b.err.find("took over"), std::string::npos) << b.err;
    EXPECT_EQ(p.history_count("0002", "up", "applied"), 1);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM half"), "1");  // applied once, by the peer
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");
}

TEST(EngineConcurrency, RunsKilledAtRandomInstantsNeverSplitBodyFromHistory) {
    const char* up =
        "CREATE TABLE body (id int PRIMARY KEY, v text);\n"
        "INSERT INTO body SELECT g, md5(g::text) FROM generate_series(1, 2000) g;\n"
        "SELECT pg_sleep(0.02);\n"
        "CREATE INDEX body_v_idx ON body (v);\n"
        "UPDATE body SET v = upper(v);\n"
        "SELECT pg_sleep(0.02);\n"
        "ALTER TABLE body ADD COLUMN w int NOT NULL DEFAULT 0;\n";
    // Calibrate: how long one run takes from spawn to exit.
    long long window_ms = 0;
    {
        Project p;
        p.add("0001_body", up, "DROP TABLE body;\n");
        auto t0 = std::chrono::steady_clock::now();
        ASSERT_EQ(p.run({"up"}).code, 0);
        window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    }
    std::mt19937 rng(12345);
    int applied = 0, not_applied = 0;
    const int runs = 100;
    for (int i = 0; i < runs; ++i) {
        Project p;
        p.add("0001_body", up, "DROP TABLE body;\n");
        int delay = std::uniform_int_distribution<int>(0, static_cast<int>(window_ms))(rng);
        std::atomic<pid_t> pid{0};
        std::thread killer;
        auto r = p.run({"up"}, {}, [&](pid_t child) {
            pid = child;
            killer = std::thread([child, delay] {
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(delay));  // fault injection, not sync
                ::kill(child, SIGKILL);
            });
        });
        killer.join();
        ASSERT_TRUE(wait_for_no_other_backends(p.db())) << "run " << i;
        bool body = p.table_exists("body");
        bool history =
            p.table_exists("rollsafe.history") && p.history_count("0001", "up", "applied") == 1;
        ASSERT_EQ(body, history) << "run " << i << " killed after " << delay << " ms (exit "
                                 << r.code << ")";
        if (body) {
            EXPECT_EQ(p.db().scalar("SELECT count(*) FROM body WHERE w = 0"), "2000");
            ++applied;
        } else {
            ++not_applied;
        }
    }
    std::printf(
        "random kills: %d runs over a %lld ms window: %d applied, %d not applied, 0 split\n", runs,
        window_ms, applied, not_applied);
}
