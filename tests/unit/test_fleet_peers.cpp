// Waves across shards: when a peer counts as done, failed or still pending, and the wait loop.
#include <gtest/gtest.h>

#include "core/fleet/peers.h"

using namespace rollsafe;
using namespace rollsafe::fleet;

namespace {

StatusEntry entry(const std::string& version, const std::string& state) {
    StatusEntry e;
    e.version = version;
    e.version_key = Version::parse(version)->key();
    e.name = "m" + version;
    e.state = state;
    e.has_file = true;
    return e;
}

StatusReport status_with(std::vector<StatusEntry> entries) {
    StatusReport s;
    s.initialized = true;
    s.entries = std::move(entries);
    for (const auto& e : s.entries) {
        if (e.state == "applied")
            s.current_version = e.version;
        if (e.state == "pending")
            ++s.pending;
    }
    return s;
}

HistoryRow failed_row(const std::string& sha, int exit_code) {
    HistoryRow r;
    r.op = "up";
    r.version = "0002";
    r.name = "m0002";
    r.outcome = "failed";
    r.up_sha256 = sha;
    r.finished_at = "2026-01-01T00:00:00Z";
    r.error = "division by zero";
    r.details["exit_code"] = exit_code;
    return r;
}

std::vector<std::pair<std::string, Target>> peers(int n) {
    std::vector<std::pair<std::string, Target>> out;
    for (int i = 0; i < n; ++i) {
        Target t;
        t.name = "p" + std::to_string(i);
        out.emplace_back("canary", t);
    }
    return out;
}

}  // namespace

TEST(FleetPeers, NothingPendingUpToTheTargetVersionIsDone) {
    auto s = status_with({entry("0001", "applied"), entry("0002", "applied")});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).kind, PeerState::Kind::done);
    s = status_with({entry("0001", "applied"), entry("0002", "pending")});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).kind,
              PeerState::Kind::pending);
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", Version::parse("0001"), false).kind,
              PeerState::Kind::done);
    s = status_with({entry("0001", "out-of-order"), entry("0002", "applied")});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).kind, PeerState::Kind::done);
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, true).kind,
              PeerState::Kind::pending);
}

TEST(FleetPeers, AFailureOfTheSameScriptWithNoHolderIsAFailure) {
    auto s = status_with({entry("0001", "applied"), entry("0002", "pending")});
    auto st = up_peer_state(s, failed_row("abc", 6), "abc", std::nullopt, false);
    EXPECT_EQ(st.kind, PeerState::Kind::failed);
    EXPECT_EQ(st.code, ExitCode::failed_clean);
    EXPECT_NE(st.detail.find("division by zero"), std::string::npos);
    // A fixed script (another checksum) is a new attempt to wait for, not the old failure.
    EXPECT_EQ(up_peer_state(s, failed_row("old", 6), "abc", std::nullopt, false).kind,
              PeerState::Kind::pending);
    // Someone holds the peer's lock: a retry is running.
    auto locked = s;
    locked.lock = LockHolder{};
    EXPECT_EQ(up_peer_state(locked, failed_row("abc", 6), "abc", std::nullopt, false).kind,
              PeerState::Kind::pending);
    locked.lock->expired = true;
    EXPECT_EQ(up_peer_state(locked, failed_row("abc", 6), "abc", std::nullopt, false).kind,
              PeerState::Kind::failed);
    // Transient codes: the peer's pod retries.
    EXPECT_EQ(up_peer_state(s, failed_row("abc", 14), "abc", std::nullopt, false).kind,
              PeerState::Kind::pending);
    EXPECT_EQ(up_peer_state(s, failed_row("abc", 13), "abc", std::nullopt, false).kind,
              PeerState::Kind::pending);
}

TEST(FleetPeers, FrozenDirtyAndDriftedPeersHaveFailed) {
    auto s = status_with({entry("0001", "applied")});
    s.freeze = History::Freeze{"0002 failed part way", "t", "me", "r", "0002", 7};
    auto st = up_peer_state(s, std::nullopt, "", std::nullopt, false);
    EXPECT_EQ(st.kind, PeerState::Kind::failed);
    EXPECT_EQ(st.code, ExitCode::failed_dirty) << "the code the freeze recorded";
    s.freeze->exit_code = 0;
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).code, ExitCode::frozen);
    s = status_with({entry("0001", "dirty")});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).code, ExitCode::failed_dirty);
    auto drifted = entry("0001", "applied");
    drifted.drift = "changed";
    s = status_with({drifted});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).code, ExitCode::drift);
    drifted.drift = "cosmetic";
    s = status_with({drifted});
    EXPECT_EQ(up_peer_state(s, std::nullopt, "", std::nullopt, false).kind, PeerState::Kind::done);
}

TEST(FleetPeers, WaitAsksUntilEveryPeerIsDoneAndNotAgainAfterwards) {
    std::map<std::string, int> asked;
    auto probe = [&](const Target& t) {
        int n = ++asked[t.name];
        PeerState s;
        // p0 is done at once, p1 on the third look.
        s.kind = (t.name == "p0" || n >= 3) ? PeerState::Kind::done : PeerState::Kind::pending;
        return s;
    };
    int progress_lines = 0;
    auto v = wait_for_peers(peers(2), probe, std::chrono::seconds(30), Millis(1),
                            [&](const std::string& line) {
                                ++progress_lines;
                                EXPECT_NE(line.find("p1"), std::string::npos);
                            });
    EXPECT_EQ(v.kind, PeerVerdict::Kind::done);
    EXPECT_EQ(asked["p0"], 1);
    EXPECT_EQ(asked["p1"], 3);
    EXPECT_EQ(progress_lines, 2);
}

TEST(FleetPeers, AFailedPeerEndsTheWaitWithItsCode) {
    auto probe = [](const Target& t) {
        PeerState s;
        if (t.name == "p1") {
            s.kind = PeerState::Kind::failed;
            s.code = ExitCode::failed_clean;
            s.detail = "0002_x failed";
        }
        return s;
    };
    auto v = wait_for_peers(peers(3), probe, std::chrono::seconds(30), Millis(1));
    EXPECT_EQ(v.kind, PeerVerdict::Kind::failed);
    EXPECT_EQ(v.code, ExitCode::failed_clean);
    EXPECT_EQ(v.target, "p1");
    EXPECT_EQ(v.wave, "canary");
    EXPECT_NE(v.message.find("0002_x failed"), std::string::npos);
}

TEST(FleetPeers, APeerThatStaysBehindEndsTheWaitNotReady) {
    auto probe = [](const Target&) {
        PeerState s;
        s.detail = "1 pending from 0002_x";
        return s;
    };
    auto v = wait_for_peers(peers(8), probe, Millis(0), Millis(1));
    EXPECT_EQ(v.kind, PeerVerdict::Kind::timeout);
    EXPECT_EQ(v.code, ExitCode::not_ready);
    EXPECT_NE(v.message.find("8 target(s)"), std::string::npos) << v.message;
    EXPECT_NE(v.message.find("and 3 more"), std::string::npos) << v.message;
}
