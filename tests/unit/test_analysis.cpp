// The pure file-vs-history decisions both engines share (core/engine/analysis.h).
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/engine/analysis.h"
#include "core/engine/port.h"

using namespace rollsafe;

namespace {

Migration migration(const std::string& version, const std::string& name, const std::string& up,
                    const std::string& down = "SELECT 1;") {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse(version);
    m.name = name;
    m.up = make_script("migrations/" + version + "_" + name + ".up.sql", up, 1, problems, false);
    m.down =
        make_script("migrations/" + version + "_" + name + ".down.sql", down, 1, problems, false);
    return m;
}

AppliedVersion applied(const Migration& m, const std::string& up_sha = "") {
    AppliedVersion av;
    av.row.version = m.version.text();
    av.row.version_key = m.version.key();
    av.row.name = m.name;
    av.row.up_sha256 = up_sha.empty() ? m.up.sha256 : up_sha;
    av.row.up_drift_sha256 = m.up.drift_sha256();
    av.row.down_sha256 = m.down->sha256;
    av.row.down_drift_sha256 = m.down->drift_sha256();
    av.row.down_script = m.down->text;
    return av;
}

MigrationSet three() {
    MigrationSet s;
    s.migrations.push_back(migration("0001", "a", "CREATE TABLE a (id int);\n"));
    s.migrations.push_back(migration("0002", "b", "CREATE TABLE b (id int);\n"));
    s.migrations.push_back(migration("0003", "c", "CREATE TABLE c (id int);\n"));
    return s;
}

}  // namespace

TEST(Analysis, PendingInVersionOrder) {
    auto set = three();
    auto a = analyze_files(set, {{"1", applied(set.migrations[0])}});
    ASSERT_EQ(a.pending.size(), 2u);
    EXPECT_EQ(a.pending[0]->id(), "0002_b");
    EXPECT_TRUE(a.out_of_order.empty());
    EXPECT_EQ(a.newest_applied->text(), "0001");
}

TEST(Analysis, OlderPendingIsOutOfOrderAndRefused) {
    auto set = three();
    auto a =
        analyze_files(set, {{"1", applied(set.migrations[0])}, {"3", applied(set.migrations[2])}});
    ASSERT_EQ(a.out_of_order.size(), 1u);
    EXPECT_EQ(a.out_of_order[0]->id(), "0002_b");
    EXPECT_THROW(check_out_of_order(a, false), Error);
    EXPECT_NO_THROW(check_out_of_order(a, true));
}

TEST(Analysis, ChangedUpIsDriftCosmeticIsAWarning) {
    auto set = three();
    auto cosmetic = migration("0001", "a", "-- note\nCREATE TABLE a (id int);\n");
    AppliedVersion av = applied(cosmetic);
    av.row.up_drift_sha256 = set.migrations[0].up.drift_sha256();
    auto a = analyze_files(set, {{"1", av}});
    Plan plan;
    EXPECT_NO_THROW(check_drift(a, plan));
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_NE(plan.warnings[0].find("whitespace or comments"), std::string::npos);

    auto b = analyze_files(set, {{"1", applied(set.migrations[0], std::string(64, 'f'))}});
    b.drift[0].cosmetic = false;
    Plan p2;
    try {
        check_drift(b, p2);
        FAIL() << "no drift error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::drift);
        EXPECT_NE(std::string(e.what()).find("0001_a.up.sql"), std::string::npos);
    }
}

TEST(Analysis, AppliedWithoutFileIsMissingOrAhead) {
    auto set = three();
    auto extra = migration("0009", "z", "SELECT 1;\n");
    auto mid = migration("0000", "zero", "SELECT 1;\n");
    auto a = analyze_files(set, {{"9", applied(extra)}, {"0", applied(mid)}});
    EXPECT_EQ(a.ahead, std::vector<std::string>{"9"});
    EXPECT_EQ(a.missing, std::vector<std::string>{"0"});
}

TEST(Analysis, DownTargetsNewestFirst) {
    auto set = three();
    std::map<std::string, AppliedVersion> state;
    for (const auto& m : set.migrations)
        state[m.version.key()] = applied(m);
    auto a = analyze_files(set, state);
    DownOptions o;
    o.to_version = "0001";
    auto t = down_targets(a, o);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0]->row.version, "0003");
    EXPECT_EQ(t[1]->row.version, "0002");
    DownOptions steps;
    steps.steps = 1;
    EXPECT_EQ(down_targets(a, steps).size(), 1u);
    DownOptions bad;
    bad.to_version = "x";
    EXPECT_THROW(down_targets(a, bad), Error);
}

TEST(Analysis, StatusCountsAndStates) {
    auto set = three();
    auto a =
        analyze_files(set, {{"1", applied(set.migrations[0])}, {"3", applied(set.migrations[2])}});
    StatusReport rep;
    fill_status(a, set, rep);
    ASSERT_EQ(rep.entries.size(), 3u);
    EXPECT_EQ(rep.entries[1].state, "out-of-order");
    EXPECT_EQ(rep.applied, 2);
    EXPECT_EQ(rep.pending, 1);
    EXPECT_EQ(rep.out_of_order, 1);
    EXPECT_EQ(rep.current_version, "0003");
}

TEST(EnginePort, UrlSchemeSelectsTheEngine) {
    EXPECT_EQ(engine_kind("sqlite:///tmp/app.db"), EngineKind::sqlite);
    EXPECT_EQ(engine_kind("SQLITE::memory:"), EngineKind::sqlite);
    EXPECT_EQ(engine_kind("sqlite:app.db"), EngineKind::sqlite);
    EXPECT_EQ(engine_kind("postgres://u@h/db"), EngineKind::postgres);
    EXPECT_EQ(engine_kind("host=h dbname=sqlite"), EngineKind::postgres);
    EXPECT_EQ(engine_kind(""), EngineKind::postgres);
}
