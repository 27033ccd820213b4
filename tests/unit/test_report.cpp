#include <gtest/gtest.h>

#include "core/engine/report.h"

using namespace rollsafe;

namespace {

HistoryRow row(const std::string& run, const std::string& op, const std::string& outcome,
               const std::string& at, const std::string& version = "") {
    HistoryRow r;
    r.run_id = run;
    r.op = op;
    r.outcome = outcome;
    r.started_at = at;
    r.finished_at = at;
    r.version = version;
    r.name = version.empty() ? "" : "m" + version;
    r.os_user = "ops";
    r.host = "h";
    return r;
}

}  // namespace

TEST(Report, FoldsRunsAndMeasuresTimeToRecovery) {
    std::vector<HistoryRow> rows = {
        row("a", "up", "applied", "2026-01-01T10:00:00.000Z", "0001"),
        row("a", "release", "deployed", "2026-01-01T10:00:01.000Z", "0001"),
        row("b", "up", "started", "2026-01-01T11:00:00.000Z", "0002"),
        row("b", "up", "failed-dirty", "2026-01-01T11:00:05.000Z", "0002"),
        row("b", "freeze", "frozen", "2026-01-01T11:00:05.500Z"),
        row("c", "repair", "marked-rolled-back", "2026-01-01T11:10:00.000Z", "0002"),
        row("d", "unfreeze", "unfrozen", "2026-01-01T11:12:00.000Z"),
    };
    rows[3].error = "boom";
    rows[5].reason = "undone by hand";
    auto rep = build_report(rows, "db", false);
    EXPECT_EQ(rep.deploys, 1);
    EXPECT_EQ(rep.failures, 1);
    EXPECT_EQ(rep.freezes, 1);
    EXPECT_EQ(rep.unfreezes, 1);
    EXPECT_EQ(rep.first_failure_at, "2026-01-01T11:00:00.000Z");
    EXPECT_EQ(rep.recovered_at, "2026-01-01T11:12:00.000Z");
    EXPECT_EQ(rep.time_to_recovery_s, 12 * 60);
    ASSERT_EQ(rep.events.size(), 6u);  // up, release, failed up, freeze, repair, unfreeze
    EXPECT_EQ(rep.events[2].outcome, "failed-dirty");
    EXPECT_EQ(rep.events[2].exit_code, 7);
    EXPECT_EQ(rep.events[2].error, "boom");
    auto md = rep.to_markdown();
    EXPECT_NE(md.find("| time to recovery | 12m00s |"), std::string::npos) << md;
    EXPECT_NE(md.find("**failed-dirty**"), std::string::npos);
    auto j = rep.to_json();
    EXPECT_EQ(j["summary"]["time_to_recovery_seconds"], 720);
}

TEST(Report, NoRecoveryWhileFrozenOrFailingLast) {
    std::vector<HistoryRow> rows = {
        row("a", "up", "failed", "2026-01-01T10:00:00.000Z", "0001"),
    };
    auto rep = build_report(rows, "db", true);
    EXPECT_EQ(rep.failures, 1);
    EXPECT_TRUE(rep.recovered_at.empty());
    EXPECT_EQ(rep.time_to_recovery_s, -1);
    EXPECT_TRUE(rep.to_json()["summary"]["time_to_recovery_seconds"].is_null());
}

TEST(Report, SecondsBetweenIsoTimes) {
    EXPECT_EQ(seconds_between("2026-01-01T10:00:00Z", "2026-01-02T10:00:01Z"), 86401);
    EXPECT_EQ(seconds_between("garbage", "2026-01-02T10:00:01Z"), -1);
}
