// The targets file (targets.toml): its contract format, every validation error with its line,
// and --select.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/fleet/targets.h"

using namespace rollsafe;
using namespace rollsafe::fleet;

namespace {

const char* kIssueExample = R"(# the format of issue 11
[[target]]
name = "eu-1"
url = "postgres://app@eu-1.db:5432/shop"
wave = "canary"
labels = { region = "eu" }

[[target]]
name = "us-1"
service = "shop-us-1"
wave = "wave-1"
labels = { region = "us", tier = "gold" }

[[target]]
name = "us-2"
url = "host=us-2.db user=app dbname=shop"

[waves]
order = ["canary", "wave-1"]
)";

// Returns the diagnostics of parsing text, or fails the test when it parses.
std::vector<Diagnostic> problems_of(const std::string& text) {
    try {
        parse_targets(text, "targets.toml");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        return e.diagnostics();
    }
    ADD_FAILURE() << "parsed:\n" << text;
    return {};
}

// True when some diagnostic is at `line` and its message contains `part`.
bool has(const std::vector<Diagnostic>& ds, int line, const std::string& part) {
    for (const auto& d : ds)
        if (d.line == line && d.file == "targets.toml" && d.message.find(part) != std::string::npos)
            return true;
    return false;
}

std::string dump(const std::vector<Diagnostic>& ds) {
    std::string out;
    for (const auto& d : ds)
        out += d.location_and_message() + "\n";
    return out;
}

}  // namespace

TEST(FleetTargets, ReadsTheContractFormat) {
    auto f = parse_targets(kIssueExample, "targets.toml");
    ASSERT_EQ(f.targets.size(), 3u);
    EXPECT_EQ(f.targets[0].name, "eu-1");
    EXPECT_EQ(f.targets[0].url, "postgres://app@eu-1.db:5432/shop");
    EXPECT_EQ(f.targets[0].database_url(), "postgres://app@eu-1.db:5432/shop");
    EXPECT_EQ(f.targets[0].wave, "canary");
    EXPECT_EQ(f.targets[0].labels.at("region"), "eu");
    EXPECT_EQ(f.targets[0].line, 3);
    EXPECT_EQ(f.targets[1].database_url(), "service=shop-us-1");
    EXPECT_EQ(f.targets[1].labels.size(), 2u);
    EXPECT_EQ(f.targets[2].wave, kDefaultWave);
    // Targets that name no wave run after the listed ones.
    EXPECT_EQ(f.wave_order, (std::vector<std::string>{"canary", "wave-1", "default"}));
}

TEST(FleetTargets, LabelsMayBeASubtableAndDefaultMayBeOrdered) {
    auto f = parse_targets(
        "[waves]\norder = [\"default\", \"late\"]\n[[target]]\nname = \"a\"\nurl = "
        "\"postgres://x@h/db\"\n"
        "[target.labels]\nregion = \"eu\"\n[[target]]\nname = \"b\"\nurl = "
        "\"postgres://x@h/db2\"\nwave = \"late\"\n",
        "t.toml");
    ASSERT_EQ(f.targets.size(), 2u);
    EXPECT_EQ(f.targets[0].labels.at("region"), "eu");
    EXPECT_EQ(f.wave_order, (std::vector<std::string>{"default", "late"}));
}

TEST(FleetTargets, TargetConfigPointsTheEngineAtTheTarget) {
    auto f = parse_targets(kIssueExample, "targets.toml");
    Config base;
    base.database_url = "postgres://other@elsewhere/db";
    auto c = target_config(base, f.targets[1]);
    EXPECT_EQ(c.database_url, "service=shop-us-1");
    EXPECT_EQ(c.origin["database.url"], "target us-1");
    EXPECT_EQ(c.history_schema, base.history_schema);
}

TEST(FleetTargets, APasswordInAUrlIsRejectedWithItsLineAndNeverEchoed) {
    auto ds = problems_of(
        "[[target]]\nname = \"a\"\nurl = \"postgres://app:s3cret@db/shop\"\n"
        "[[target]]\nname = \"b\"\nurl = \"host=db dbname=shop password=hunter2\"\n"
        "[[target]]\nname = \"c\"\nurl = \"postgres://app@db/shop?password=pw9\"\n");
    EXPECT_TRUE(has(ds, 3, "target \"a\": the url carries a password")) << dump(ds);
    EXPECT_TRUE(has(ds, 6, "target \"b\": the url carries a password")) << dump(ds);
    EXPECT_TRUE(has(ds, 9, "target \"c\": the url carries a password")) << dump(ds);
    for (const auto& d : ds) {
        EXPECT_EQ(d.message.find("s3cret"), std::string::npos);
        EXPECT_EQ(d.message.find("hunter2"), std::string::npos);
        EXPECT_EQ(d.message.find("pw9"), std::string::npos);
        EXPECT_NE(d.hint.find("PGPASSFILE"), std::string::npos);
    }
}

TEST(FleetTargets, EveryProblemComesWithItsLine) {
    auto ds = problems_of(R"([[target]]
name = "a"
url = "postgres://app@db/a"
wave = "canry"

[[target]]
url = "postgres://app@db/b"

[[target]]
name = "a"
service = "svc"
url = "postgres://app@db/c"

[[target]]
name = "bad name!"
service = "svc"
labels = { region = 1, wave = "x" }
colour = "red"

[[target]]
name = "d"

[waves]
order = ["canary", "canary"]
)");
    EXPECT_TRUE(has(ds, 4, "wave \"canry\" is not in [waves] order")) << dump(ds);
    EXPECT_TRUE(has(ds, 7, "a target has no name")) << dump(ds);
    EXPECT_TRUE(has(ds, 10, "target name \"a\" is used twice")) << dump(ds);
    EXPECT_TRUE(has(ds, 10, "needs exactly one of url and service")) << dump(ds);
    EXPECT_TRUE(has(ds, 15, "target name \"bad name!\" is not valid")) << dump(ds);
    EXPECT_TRUE(has(ds, 17, "label \"region\" must be a string")) << dump(ds);
    EXPECT_TRUE(has(ds, 17, "\"wave\" cannot be a label")) << dump(ds);
    EXPECT_TRUE(has(ds, 18, "unknown target key \"colour\"")) << dump(ds);
    EXPECT_TRUE(has(ds, 21, "target \"d\" needs exactly one of url and service")) << dump(ds);
    EXPECT_TRUE(has(ds, 24, "listed twice")) << dump(ds);
    for (std::size_t i = 1; i < ds.size(); ++i)
        EXPECT_LE(ds[i - 1].line, ds[i].line) << "sorted by line";
}

TEST(FleetTargets, TheWholeFileShapeIsChecked) {
    EXPECT_TRUE(has(problems_of("[target]\nname = \"a\"\nurl = \"postgres://x@h/d\"\n"), 2,
                    "write [[target]]"));
    EXPECT_TRUE(has(
        problems_of("[[target]]\nname = \"a\"\nurl = \"postgres://x@h/d\"\n[wave]\norder = []\n"),
        5, "unknown key \"wave.order\""));
    EXPECT_TRUE(
        has(problems_of("[[target]]\nname = \"a\"\nurl = \"postgres://x@h/d\"\nwave = \"w\"\n"), 4,
            "has no [waves] order"));
    EXPECT_TRUE(
        has(problems_of(
                "[[target]]\nname = \"a\"\nurl = \"postgres://x@h/d\"\n[waves]\norder = \"w\"\n"),
            5, "must be an array"));
    EXPECT_TRUE(has(problems_of("[[target]]\nname = 7\nurl = \"postgres://x@h/d\"\n"), 2,
                    "name must be a string"));
    auto empty = problems_of("# nothing\n");
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_NE(empty[0].message.find("no targets"), std::string::npos);
    // Bad TOML is reported by the TOML reader with its place.
    auto syntax = problems_of("[[target]]\nname = \"a\n");
    ASSERT_EQ(syntax.size(), 1u);
    EXPECT_EQ(syntax[0].line, 2);
}

TEST(FleetTargets, AMissingFileIsAUsageError) {
    try {
        read_targets("/nonexistent/targets.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/targets.toml"), std::string::npos);
    }
}

TEST(FleetTargets, SelectorsParseAsLabelEqualsValue) {
    auto s = parse_selector("region=eu");
    EXPECT_EQ(s.key, "region");
    EXPECT_EQ(s.value, "eu");
    EXPECT_EQ(parse_selector("k=a=b").value, "a=b");
    for (const char* bad : {"region", "=eu", "region=", ""}) {
        try {
            parse_selector(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ExitCode::usage);
        }
    }
}

TEST(FleetTargets, SelectionAndsKeysAndOrsValues) {
    auto f = parse_targets(kIssueExample, "targets.toml");
    auto names = [](const std::vector<Target>& ts) {
        std::vector<std::string> out;
        for (const auto& t : ts)
            out.push_back(t.name);
        return out;
    };
    EXPECT_EQ(names(select_targets(f, {})), (std::vector<std::string>{"eu-1", "us-1", "us-2"}));
    EXPECT_EQ(names(select_targets(f, {{"region", "us"}})), (std::vector<std::string>{"us-1"}));
    EXPECT_EQ(names(select_targets(f, {{"region", "us"}, {"region", "eu"}})),
              (std::vector<std::string>{"eu-1", "us-1"}));
    EXPECT_EQ(names(select_targets(f, {{"region", "us"}, {"tier", "gold"}})),
              (std::vector<std::string>{"us-1"}));
    EXPECT_EQ(names(select_targets(f, {{"wave", "default"}})), (std::vector<std::string>{"us-2"}));
    EXPECT_EQ(names(select_targets(f, {{"name", "eu-1"}, {"name", "us-2"}})),
              (std::vector<std::string>{"eu-1", "us-2"}));
}

TEST(FleetTargets, ASelectionThatCannotMatchIsAUsageError) {
    auto f = parse_targets(kIssueExample, "targets.toml");
    try {
        select_targets(f, {{"regoin", "eu"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("regoin"), std::string::npos);
        EXPECT_NE(e.hint().find("region, tier"), std::string::npos);
    }
    try {
        select_targets(f, {{"region", "eu"}, {"tier", "gold"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("no target"), std::string::npos);
    }
}
