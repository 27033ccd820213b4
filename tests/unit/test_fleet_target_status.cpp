// The exit code of one target in `status --targets`.
#include <gtest/gtest.h>

#include "core/fleet/target_status.h"

using namespace rollsafe;
using namespace rollsafe::fleet;

namespace {

StatusEntry entry(const std::string& version, const std::string& state) {
    StatusEntry e;
    e.version = version;
    e.name = "m";
    e.state = state;
    return e;
}

HistoryRow last(const std::string& op, const std::string& outcome, int exit_code = 0) {
    HistoryRow r;
    r.op = op;
    r.version = "0002";
    r.name = "m";
    r.outcome = outcome;
    if (exit_code)
        r.details["exit_code"] = exit_code;
    return r;
}

}  // namespace

TEST(FleetTargetStatus, PendingAloneIsFine) {
    StatusReport s;
    s.entries = {entry("0001", "applied"), entry("0002", "pending")};
    std::string why;
    EXPECT_EQ(target_status_code(s, last("up", "applied"), why), ExitCode::ok);
    EXPECT_TRUE(why.empty());
    EXPECT_EQ(target_status_code(s, std::nullopt, why), ExitCode::ok);
}

TEST(FleetTargetStatus, ALastFailureStandsWithItsRecordedCode) {
    StatusReport s;
    s.entries = {entry("0001", "applied"), entry("0002", "pending")};
    std::string why;
    EXPECT_EQ(target_status_code(s, last("up", "failed", 6), why), ExitCode::failed_clean);
    EXPECT_NE(why.find("last up of 0002_m failed"), std::string::npos);
    EXPECT_EQ(target_status_code(s, last("up", "failed", 14), why), ExitCode::busy);
    EXPECT_EQ(target_status_code(s, last("up", "failed"), why), ExitCode::failed_clean);
    EXPECT_EQ(target_status_code(s, last("down", "failed-dirty"), why), ExitCode::failed_dirty);
}

TEST(FleetTargetStatus, TheMostSevereConditionWins) {
    StatusReport s;
    s.entries = {entry("0001", "applied"), entry("0002", "dirty")};
    s.freeze =
        History::Freeze{"0002 failed part way", "2026-01-01T00:00:00Z", "me", "r", "0002", 7};
    std::string why;
    EXPECT_EQ(target_status_code(s, last("up", "failed", 6), why), ExitCode::failed_dirty);
    EXPECT_NE(why.find("dirty"), std::string::npos);
    s.entries = {entry("0001", "applied")};
    EXPECT_EQ(target_status_code(s, last("up", "failed", 6), why), ExitCode::frozen);
    EXPECT_NE(why.find("frozen since"), std::string::npos);
    s.freeze.reset();
    s.entries[0].drift = "changed";
    EXPECT_EQ(target_status_code(s, std::nullopt, why), ExitCode::drift);
}
