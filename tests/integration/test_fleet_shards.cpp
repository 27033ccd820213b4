// Sharding a fleet as an Indexed Job does (docs/fleet.md): shard runs that overlap with their own
// re-tries apply each migration to each database exactly once, waves hold across shards, and a
// canary that fails in one shard stops the others with its exit code.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/base/fs.h"
#include "core/fleet/shard.h"
#include "support/project.h"

using namespace rollsafe;

namespace {

// A migrations project with one fresh database per target, named so that each wave has
// targets in every shard (the names are picked with the shard function, not hard-coded).
class ShardedFleet {
  public:
    ShardedFleet(const std::vector<std::pair<std::string, int>>& waves, int shard_count)
        : m_shards(shard_count) {
        fs::make_dirs(m_dir / "migrations", 0755);
        int n = 0;
        std::string toml;
        std::string order;
        for (const auto& [wave, size] : waves) {
            std::map<int, int> per_shard;
            std::vector<std::string> names;
            // Deal names into shards round-robin so every shard of every wave gets targets.
            for (int want = 0; static_cast<int>(names.size()) < size; ++n) {
                std::string name = wave + "-" + std::to_string(n);
                if (fleet::shard_of(name, shard_count) != want % shard_count)
                    continue;
                names.push_back(name);
                ++want;
            }
            for (const auto& name : names) {
                m_dbs.push_back(std::make_unique<test::TestDb>());
                m_names.push_back(name);
                m_waves.push_back(wave);
                toml += "[[target]]\nname = \"" + name + "\"\nurl = \"" + m_dbs.back()->url() +
                        "\"\nwave = \"" + wave + "\"\n\n";
            }
            order += (order.empty() ? "\"" : ", \"") + wave + "\"";
        }
        m_dir.write("targets.toml", toml + "[waves]\norder = [" + order + "]\n");
    }
    const test::TempDir& dir() const { return m_dir; }
    std::size_t size() const { return m_dbs.size(); }
    const test::TestDb& db(std::size_t i) const { return *m_dbs[i]; }
    const std::string& name(std::size_t i) const { return m_names[i]; }
    const std::string& wave(std::size_t i) const { return m_waves[i]; }
    int shard(std::size_t i) const { return fleet::shard_of(m_names[i], m_shards); }

    void add(const std::string& id, const std::string& up, const std::string& down) {
        m_dir.write("migrations/" + id + ".up.sql", up);
        m_dir.write("migrations/" + id + ".down.sql", down);
    }
    // Runs one pod: shard `index` with its own lockfile (pods do not share a filesystem).
    test::CliResult pod(int index, const std::string& pod_name, std::vector<std::string> extra = {},
                        std::map<std::string, std::string> env = {}) const {
        std::vector<std::string> args = {"up",          "--targets",  "targets.toml",
                                         "--parallel",  "3",          "--snapshot-mode",
                                         "none",        "--lockfile", m_dir / (pod_name + ".lock"),
                                         "--lock-wait", "120s"};
        args.insert(args.end(), extra.begin(), extra.end());
        env["JOB_COMPLETION_INDEX"] = std::to_string(index);
        env["ROLLSAFE_FLEET_SHARD_COUNT"] = std::to_string(m_shards);
        test::CliOptions o;
        o.cwd = m_dir.path();
        o.env = env;
        return test::run_cli(args, o);
    }
    int count(std::size_t i, const std::string& sql) const {
        if (db(i).scalar("SELECT to_regnamespace('rollsafe') IS NOT NULL") != "t")
            return 0;
        return std::stoi(db(i).scalar(sql));
    }
    std::string ts(std::size_t i, const std::string& expr) const {
        return db(i).scalar("SELECT to_char(" + expr +
                            " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
                            "FROM rollsafe.history WHERE op = 'up'");
    }

  private:
    int m_shards;
    test::TempDir m_dir;
    std::vector<std::unique_ptr<test::TestDb>> m_dbs;
    std::vector<std::string> m_names, m_waves;
};

}  // namespace

TEST(FleetShards, OverlappingShardRunsAndRetriesApplyEachMigrationToEachDatabaseExactlyOnce) {
    ShardedFleet f({{"canary", 2}, {"wave-1", 18}}, 2);
    // Each migration also writes a row, so a second application would show in the data.
    f.add("0001_runs",
          "CREATE TABLE runs (version text, at timestamptz DEFAULT clock_timestamp());\n"
          "INSERT INTO runs (version) VALUES ('0001');\nSELECT pg_sleep(0.2);\n",
          "DROP TABLE runs;\n");
    f.add("0002_more", "INSERT INTO runs (version) VALUES ('0002');\nSELECT pg_sleep(0.2);\n",
          "DELETE FROM runs WHERE version = '0002';\n");

    // Pods 0 and 1 start together; pod 0 is also re-tried while it still runs (a pod the Job
    // thought lost), and pod 1 is re-run after everything finished.
    std::vector<test::CliResult> results(3);
    std::vector<std::thread> pods;
    pods.emplace_back([&] { results[0] = f.pod(0, "pod-0"); });
    pods.emplace_back([&] { results[1] = f.pod(1, "pod-1"); });
    pods.emplace_back([&] { results[2] = f.pod(0, "pod-0-retry"); });
    for (auto& p : pods)
        p.join();
    for (const auto& r : results)
        EXPECT_EQ(r.code, 0) << r.all();
    auto rerun = f.pod(1, "pod-1-rerun", {"-o", "json"});
    ASSERT_EQ(rerun.code, 0) << rerun.all();
    auto doc = nlohmann::json::parse(rerun.out);
    EXPECT_EQ(doc["shard"]["index"], 1);
    EXPECT_EQ(doc["shard"]["index_from"], "JOB_COMPLETION_INDEX");
    EXPECT_EQ(doc["shard"]["count"], 2);
    for (const auto& t : doc["targets"]) {
        EXPECT_EQ(t["shard"], 1);
        EXPECT_TRUE(t["result"]["nothing_to_do"].get<bool>()) << t.dump();
    }

    std::size_t in_shard[2] = {0, 0};
    std::string canary_end, wave1_start;
    for (std::size_t i = 0; i < f.size(); ++i) {
        ++in_shard[f.shard(i)];
        EXPECT_EQ(f.count(i,
                          "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = "
                          "'applied' AND version = '0001'"),
                  1)
            << f.name(i);
        EXPECT_EQ(f.count(i,
                          "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = "
                          "'applied' AND version = '0002'"),
                  1)
            << f.name(i);
        EXPECT_EQ(f.count(i, "SELECT count(*) FROM rollsafe.history WHERE outcome <> 'applied'"), 0)
            << f.name(i);
        EXPECT_EQ(f.db(i).scalar("SELECT count(*) FROM runs WHERE version = '0001'"), "1")
            << f.name(i);
        EXPECT_EQ(f.db(i).scalar("SELECT count(*) FROM runs WHERE version = '0002'"), "1")
            << f.name(i);
        if (f.wave(i) == "canary") {
            auto end = f.ts(i, "max(finished_at)");
            if (end > canary_end)
                canary_end = end;
        } else {
            auto start = f.ts(i, "min(started_at)");
            if (wave1_start.empty() || start < wave1_start)
                wave1_start = start;
        }
    }
    EXPECT_GT(in_shard[0], 0u);
    EXPECT_GT(in_shard[1], 0u);
    // Waves hold across pods: no wave-1 database started before every canary, in either shard, was
    // done.
    EXPECT_LT(canary_end, wave1_start);
}

TEST(FleetShards, ACanaryFailingInOneShardStopsTheOtherShardWithItsCode) {
    ShardedFleet f({{"canary", 1}, {"wave-1", 6}}, 2);
    f.add("0001_items", "CREATE TABLE items (id int);\nSELECT 1 / (SELECT count(*) FROM items);\n",
          "DROP TABLE items;\n");
    std::size_t canary = 0;
    ASSERT_EQ(f.wave(canary), "canary");
    int canary_shard = f.shard(canary);
    int other = 1 - canary_shard;

    // The canary has not run yet: the other pod waits for it, then gives up NOT_READY.
    auto early = f.pod(other, "early", {"-o", "json"}, {{"ROLLSAFE_FLEET_WAVE_WAIT", "1s"}});
    EXPECT_EQ(early.code, 11) << early.all();
    auto doc = nlohmann::json::parse(early.out);
    EXPECT_NE(doc["stopped"]["reason"].get<std::string>().find(f.name(canary)), std::string::npos)
        << doc.dump(2);
    EXPECT_EQ(doc["summary"]["ok"], 0);

    // Both pods together: the canary's pod fails with 6, the other stops with the canary's 6.
    std::vector<test::CliResult> results(2);
    std::thread a([&] { results[0] = f.pod(canary_shard, "canary-pod"); });
    std::thread b([&] { results[1] = f.pod(other, "other-pod", {"-o", "json"}); });
    a.join();
    b.join();
    EXPECT_EQ(results[0].code, 6) << results[0].all();
    EXPECT_EQ(results[1].code, 6) << results[1].all();
    doc = nlohmann::json::parse(results[1].out);
    EXPECT_EQ(doc["stopped"]["target"], f.name(canary));
    EXPECT_EQ(doc["stopped"]["wave"], "canary");
    EXPECT_EQ(doc["summary"]["skipped"], doc["summary"]["in_shard"]);
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (i == canary)
            continue;
        EXPECT_EQ(
            f.db(i).scalar(
                "SELECT to_regnamespace('rollsafe') IS NULL AND to_regclass('items') IS NULL"),
            "t")
            << f.name(i) << " was touched";
    }
    // A re-run of the other pod sees the recorded failure at once.
    auto again = f.pod(other, "other-pod-again");
    EXPECT_EQ(again.code, 6) << again.all();
    EXPECT_NE(again.out.find("stopped: target " + f.name(canary) +
                             " of wave canary (another shard) failed"),
              std::string::npos)
        << again.out;
}
