// Load: 50 `rollsafe gate --wait` processes polling (as 50 init containers would) while `up`
// runs a long migration. Every gate sees the schema behind, waits on one connection, and exits 0
// once the schema is ready. The migration blocks on an advisory lock the test holds until every
// gate has said it waits, and for at least ROLLSAFE_LOAD_SECONDS (default 5; the long
// form is 30): so the outcome does not depend on how fast 50 processes start on a loaded machine.
// Whether gates slow `up` down is a speed goal: bench/gate_load.cpp measures it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

int load_seconds() {
    const char* v = std::getenv("ROLLSAFE_LOAD_SECONDS");
    return v && *v ? std::max(1, std::atoi(v)) : 5;
}

constexpr int kGates = 50;

}  // namespace

TEST(GateLoad, FiftyGatesWaitThroughALongMigrationOnOneConnectionEach) {
    Project p;
    int seconds = load_seconds();
    p.add("0001_orders", "CREATE TABLE orders (id bigserial PRIMARY KEY, note text);\n",
          "DROP TABLE orders;\n");
    p.add("0002_slow_backfill",
          "ALTER TABLE orders ADD COLUMN status text;\nSELECT pg_advisory_xact_lock(4242);\n",
          "ALTER TABLE orders DROP COLUMN status;\n");
    p.dir().write("releases.toml", "[releases]\n\"v1\" = \"0001\"\n\"v2\" = \"0002\"\n");
    ASSERT_EQ(p.run({"up", "--to", "0001", "--release", "v1"}).code, 0);

    // The gates name themselves, so pg_stat_activity tells their connections apart.
    test::CliOptions gate_options;
    gate_options.env = {{"DATABASE_URL", p.db().url() + "?application_name=gate-load"}};
    gate_options.cwd = p.dir().path();
    test::CliOptions up_options;
    std::string patience = std::to_string(seconds + 300) + "s";
    up_options.env =
        p.env({{"ROLLSAFE_TIMEOUTS_STATEMENT", patience}, {"ROLLSAFE_TIMEOUTS_LOCK", patience}});
    up_options.cwd = p.dir().path();
    const std::string count_gates =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gate-load'";
    auto gate_connections = [&] { return std::stoi(p.db().scalar(count_gates)); };

    std::atomic<bool> sampling{true};
    std::atomic<int> peak{0}, samples{0};
    std::thread sampler([&] {
        auto s = p.db().connect();
        while (sampling) {
            int n = std::stoi(s->exec(count_gates).get(0, 0));
            peak = std::max(peak.load(), n);
            ++samples;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    auto stop_sampling = [&] {
        sampling = false;
        sampler.join();
    };

    auto holder = p.db().connect();
    holder->exec("SELECT pg_advisory_lock(4242)");
    test::CliProcess up({"up", "--release", "v2"}, up_options);
    bool blocked = test::wait_until(
        [&] {
            return p.db().scalar(
                       "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
                       "granted") == "1";
        },
        120000);
    if (!blocked) {
        stop_sampling();
        FAIL() << "the slow migration never started: " << up.wait(std::chrono::seconds(30)).all();
    }
    auto started = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<test::CliProcess>> gates;
    for (int i = 0; i < kGates; ++i)
        gates.push_back(std::make_unique<test::CliProcess>(
            std::vector<std::string>{"gate", "--release", "v2", "--wait",
                                     std::to_string(seconds + 300) + "s"},
            gate_options));
    int waited = 0;
    for (auto& g : gates)
        waited += g->wait_for_output(
            [](const std::string& s) {
                return s.find("waiting for the schema") != std::string::npos;
            },
            std::chrono::seconds(120));
    // Every gate waits on its own session, all at once.
    int waiting_connections = gate_connections();
    // The load lasts at least `seconds` (a duration of the load, not a synchronisation).
    std::this_thread::sleep_until(started + std::chrono::seconds(seconds));
    holder->exec("SELECT pg_advisory_unlock(4242)");

    auto up_result = up.wait(std::chrono::seconds(120));
    EXPECT_EQ(up_result.code, 0) << up_result.all();
    for (auto& g : gates) {
        // After `up`, a gate notices within one poll (its backoff stops growing at 5 s).
        auto r = g->wait(std::chrono::seconds(60));
        EXPECT_EQ(r.code, 0) << r.all();
    }
    stop_sampling();

    EXPECT_EQ(waited, kGates);
    EXPECT_EQ(waiting_connections, kGates);
    // ... each held one connection at most, and none is left.
    EXPECT_GT(samples.load(), 10);
    EXPECT_LE(peak.load(), kGates);
    EXPECT_EQ(gate_connections(), 0);
    std::printf(
        "[ figures  ] %d gates, %d s migration: %d gates waited, %d gate connections while "
        "waiting, peak %d (%d samples)\n",
        kGates, seconds, waited, waiting_connections, peak.load(), samples.load());
    EXPECT_EQ(p.history_count("0002", "up", "applied"), 1);
}
