// The fleet runner with fake work: waves in order, stop and continue within a wave, a failed
// canary stopping everything with its code, bounded parallelism, isolated failures, peers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/base/error.h"
#include "core/fleet/runner.h"

using namespace rollsafe;
using namespace rollsafe::fleet;

namespace {

// A fleet of `per_wave` targets in each named wave ("<wave>-<i>").
TargetsFile fleet_file(const std::vector<std::string>& waves, int per_wave) {
    TargetsFile f;
    f.path = "targets.toml";
    f.wave_order = waves;
    for (const auto& w : waves)
        for (int i = 0; i < per_wave; ++i) {
            Target t;
            t.name = w + "-" + std::to_string(i);
            t.url = "postgres://app@" + t.name + "/db";
            t.wave = w;
            f.targets.push_back(t);
        }
    return f;
}

Rollout whole(const TargetsFile& f) {
    return plan_rollout(f, f.targets, Shard{});
}

// Records the order in which work started, thread-safely.
struct Journal {
    std::mutex mutex;
    std::vector<std::string> started;
    void add(const std::string& name) {
        std::lock_guard<std::mutex> g(mutex);
        started.push_back(name);
    }
};

const TargetResult& result(const FleetResult& r, const std::string& name) {
    for (const auto& t : r.targets)
        if (t.target.name == name)
            return t;
    throw std::runtime_error("no result for " + name);
}

}  // namespace

TEST(FleetRunner, PlanGroupsByWaveOrderAndSplitsByShard) {
    auto f = fleet_file({"canary", "wave-1", "wave-2"}, 5);
    std::vector<Target> selected;
    for (const auto& t : f.targets)
        if (t.wave != "wave-2")
            selected.push_back(t);
    auto r = plan_rollout(f, selected, Shard{1, 3, "--shard-index", "--shard-count"});
    ASSERT_EQ(r.waves.size(), 2u) << "a wave with no selected target is left out";
    EXPECT_EQ(r.waves[0].name, "canary");
    EXPECT_EQ(r.selected, 10u);
    std::size_t all = 0;
    for (const auto& w : r.waves) {
        all += w.mine.size() + w.peers.size();
        for (const auto& t : w.mine)
            EXPECT_EQ(shard_of(t.name, 3), 1);
        for (const auto& t : w.peers)
            EXPECT_NE(shard_of(t.name, 3), 1);
    }
    EXPECT_EQ(all, 10u);
}

TEST(FleetRunner, WavesRunInOrderAndEveryTargetSucceeds) {
    auto f = fleet_file({"canary", "wave-1", "wave-2"}, 4);
    Journal j;
    std::atomic<int> wave_starts{0};
    Observer obs;
    std::vector<std::string> waves_seen;
    obs.wave_started = [&](const std::string& w, std::size_t n) {
        waves_seen.push_back(w);
        EXPECT_EQ(n, 4u);
        ++wave_starts;
    };
    int finished = 0;
    obs.target_finished = [&](const TargetResult&) { ++finished; };
    RunOptions o;
    o.parallel = 3;
    auto res = run_rollout(
        whole(f), o,
        [&](const Target& t) {
            j.add(t.name);
            return Outcome{ExitCode::ok, "applied", "", {{"n", 1}}};
        },
        obs);
    EXPECT_EQ(res.code, ExitCode::ok);
    EXPECT_EQ(res.ok, 12);
    EXPECT_EQ(finished, 12);
    EXPECT_EQ(waves_seen, (std::vector<std::string>{"canary", "wave-1", "wave-2"}));
    ASSERT_EQ(j.started.size(), 12u);
    // Every target of a wave started before any target of the next.
    auto wave_of = [](const std::string& name) { return name.substr(0, name.rfind('-')); };
    std::vector<std::string> order = {"canary", "wave-1", "wave-2"};
    std::size_t last = 0;
    for (const auto& n : j.started) {
        auto pos = static_cast<std::size_t>(std::find(order.begin(), order.end(), wave_of(n)) -
                                            order.begin());
        EXPECT_GE(pos, last) << n;
        last = pos;
    }
    for (const auto& t : res.targets) {
        EXPECT_EQ(t.state, "ok");
        EXPECT_FALSE(t.started_at.empty());
        EXPECT_EQ(t.outcome.detail["n"], 1);
    }
    for (const auto& w : res.waves)
        EXPECT_EQ(w.state, "ok");
}

TEST(FleetRunner, AFailedCanaryStopsEverythingWithTheCanaryCode) {
    auto f = fleet_file({"canary", "wave-1"}, 3);
    Journal j;
    RunOptions o;
    o.parallel = 1;  // one at a time: canary-0 fails before its wave-mates start
    auto res = run_rollout(whole(f), o, [&](const Target& t) {
        j.add(t.name);
        if (t.name == "canary-0")
            return Outcome{ExitCode::failed_clean, "0003_x failed", "roll the app back", {}};
        return Outcome{};
    });
    EXPECT_EQ(res.code, ExitCode::failed_clean);
    EXPECT_EQ(j.started, (std::vector<std::string>{"canary-0"}));
    ASSERT_TRUE(res.stop);
    EXPECT_EQ(res.stop->target, "canary-0");
    EXPECT_EQ(res.stop->code, ExitCode::failed_clean);
    EXPECT_EQ(res.failed, 1);
    EXPECT_EQ(res.skipped, 5);
    EXPECT_NE(result(res, "canary-1").outcome.message.find("--on-failure is stop"),
              std::string::npos);
    EXPECT_NE(result(res, "wave-1-0").outcome.message.find("wave canary did not succeed"),
              std::string::npos);
    EXPECT_EQ(result(res, "wave-1-0").state, "skipped");
    EXPECT_TRUE(result(res, "wave-1-0").started_at.empty());
    EXPECT_EQ(res.waves[0].state, "failed");
    EXPECT_EQ(res.waves[1].state, "skipped");
}

TEST(FleetRunner, ContinueFinishesTheWaveButStartsNoLaterWave) {
    auto f = fleet_file({"canary", "wave-1"}, 3);
    Journal j;
    RunOptions o;
    o.parallel = 1;
    o.on_failure = OnFailure::continue_wave;
    auto res = run_rollout(whole(f), o, [&](const Target& t) {
        j.add(t.name);
        if (t.name == "canary-1")
            return Outcome{ExitCode::busy, "could not take its locks", "", {}};
        if (t.name == "canary-2")
            return Outcome{ExitCode::failed_dirty, "failed part way", "", {}};
        return Outcome{};
    });
    EXPECT_EQ(j.started, (std::vector<std::string>{"canary-0", "canary-1", "canary-2"}));
    EXPECT_EQ(res.code, ExitCode::failed_dirty) << "the most severe per-target code";
    EXPECT_EQ(res.stop->target, "canary-2");
    EXPECT_EQ(res.ok, 1);
    EXPECT_EQ(res.failed, 2);
    EXPECT_EQ(res.skipped, 3);
}

TEST(FleetRunner, ReadOnlyRunsVisitEveryTargetDespiteFailures) {
    auto f = fleet_file({"canary", "wave-1"}, 3);
    RunOptions o;
    o.waves_gate = false;
    auto res = run_rollout(whole(f), o, [&](const Target& t) {
        if (t.name == "canary-0")
            throw Error(ExitCode::unavailable, "cannot reach the database", "retry");
        if (t.name == "wave-1-2")
            return Outcome{ExitCode::frozen, "frozen", "", {}};
        return Outcome{};
    });
    EXPECT_EQ(res.ok, 4);
    EXPECT_EQ(res.failed, 2);
    EXPECT_EQ(res.skipped, 0);
    EXPECT_FALSE(res.stop);
    EXPECT_EQ(res.code, ExitCode::frozen) << "FROZEN is more severe than UNAVAILABLE";
    EXPECT_EQ(result(res, "canary-0").outcome.code, ExitCode::unavailable);
    EXPECT_EQ(result(res, "canary-0").outcome.hint, "retry");
}

TEST(FleetRunner, ExceptionsFailOnlyTheirTargetAndAreRedacted) {
    auto f = fleet_file({"w"}, 4);
    RunOptions o;
    o.on_failure = OnFailure::continue_wave;
    auto res = run_rollout(whole(f), o, [&](const Target& t) -> Outcome {
        if (t.name == "w-1")
            throw std::runtime_error("boom at postgres://app:topsecret@db/x");
        if (t.name == "w-2")
            throw Error(ExitCode::drift, "0001_a.up.sql changed");
        return Outcome{};
    });
    EXPECT_EQ(result(res, "w-0").state, "ok");
    EXPECT_EQ(result(res, "w-3").state, "ok");
    EXPECT_EQ(result(res, "w-1").outcome.code, ExitCode::internal);
    EXPECT_EQ(result(res, "w-1").outcome.message.find("topsecret"), std::string::npos);
    EXPECT_EQ(result(res, "w-2").outcome.code, ExitCode::drift);
    EXPECT_EQ(res.code, ExitCode::internal);
}

TEST(FleetRunner, NeverMoreThanParallelTargetsAtOnce) {
    auto f = fleet_file({"w"}, 24);
    for (int parallel : {1, 4, 7}) {
        std::atomic<int> active{0}, peak{0};
        RunOptions o;
        o.parallel = parallel;
        auto res = run_rollout(whole(f), o, [&](const Target&) {
            int now = ++active;
            int p = peak.load();
            while (now > p && !peak.compare_exchange_weak(p, now)) {
            }
            // Hold the slot until the pool is full (or a deadline passes), so that the peak is
            // reached whenever the runner allows it.
            auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
            while (peak.load() < parallel && std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
            --active;
            return Outcome{};
        });
        EXPECT_EQ(res.ok, 24);
        EXPECT_EQ(peak.load(), parallel);
    }
}

TEST(FleetRunner, PeersOfEarlierWavesAreAskedBeforeAWave) {
    auto f = fleet_file({"canary", "wave-1", "wave-2"}, 6);
    Shard shard{0, 2, "--shard-index", "--shard-count"};
    auto rollout = plan_rollout(f, f.targets, shard);
    std::vector<std::size_t> asked;  // number of peers asked about, per call
    RunOptions o;
    o.wait_for_peers = [&](const std::vector<std::pair<std::string, Target>>& peers) {
        asked.push_back(peers.size());
        for (const auto& [wave, t] : peers)
            EXPECT_EQ(shard_of(t.name, 2), 1) << t.name;
        return PeerVerdict{};
    };
    auto res = run_rollout(rollout, o, [](const Target&) { return Outcome{}; });
    EXPECT_EQ(res.code, ExitCode::ok);
    std::vector<std::size_t> expected;
    std::size_t earlier = 0;
    for (std::size_t w = 0; w < rollout.waves.size(); ++w) {
        if (!rollout.waves[w].mine.empty() && earlier > 0)
            expected.push_back(earlier);
        earlier += rollout.waves[w].peers.size();
    }
    EXPECT_EQ(asked, expected);
}

TEST(FleetRunner, AFailedPeerStopsThisShardWithThePeersCode) {
    auto f = fleet_file({"canary", "wave-1"}, 6);
    Shard shard{0, 2, "--shard-index", "--shard-count"};
    auto rollout = plan_rollout(f, f.targets, shard);
    ASSERT_FALSE(rollout.waves[0].peers.empty());
    ASSERT_FALSE(rollout.waves[1].mine.empty());
    RunOptions o;
    o.wait_for_peers = [&](const std::vector<std::pair<std::string, Target>>& peers) {
        PeerVerdict v;
        v.kind = PeerVerdict::Kind::failed;
        v.code = ExitCode::failed_clean;
        v.target = peers.front().second.name;
        v.wave = peers.front().first;
        v.message = "target " + v.target + " of wave canary (another shard) failed";
        return v;
    };
    std::atomic<int> ran_wave1{0};
    auto res = run_rollout(rollout, o, [&](const Target& t) {
        if (t.wave == "wave-1")
            ++ran_wave1;
        return Outcome{};
    });
    EXPECT_EQ(ran_wave1.load(), 0);
    EXPECT_EQ(res.code, ExitCode::failed_clean);
    ASSERT_TRUE(res.stop);
    EXPECT_EQ(res.stop->wave, "canary");
    EXPECT_EQ(res.skipped, static_cast<int>(rollout.waves[1].mine.size()));
}

TEST(FleetRunner, OnFailureParsesBothWays) {
    EXPECT_EQ(parse_on_failure("stop"), OnFailure::stop);
    EXPECT_EQ(parse_on_failure("continue"), OnFailure::continue_wave);
    EXPECT_FALSE(parse_on_failure("halt"));
    EXPECT_STREQ(on_failure_name(OnFailure::continue_wave), "continue");
    EXPECT_EQ(more_severe(ExitCode::locked, ExitCode::failed_dirty), ExitCode::failed_dirty);
    EXPECT_EQ(more_severe(ExitCode::ok, ExitCode::not_ready), ExitCode::not_ready);
}
