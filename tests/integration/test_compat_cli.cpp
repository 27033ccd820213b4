// `rollsafe check --blue --green` with the dynamic layers, run as a user would: on
// migrations-example (every release step passes), on the example plus an intentionally breaking
// migration from tests/data/compat (the contract layer catches it with PostgreSQL's own words),
// in every output format, without server binaries, and `up` with check.layers.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/migrations/releases.h"
#include "support/helpers.h"
#include "support/project.h"

using namespace rollsafe;
namespace fsys = std::filesystem;

namespace {

const std::string kExample = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example";
const std::string kFixture = std::string(ROLLSAFE_SOURCE_DIR) + "/tests/data/compat/breaking";

test::CliResult run_in(const std::string& dir, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
    test::CliOptions o;
    o.cwd = dir;
    o.env = env;
    return test::run_cli(args, o);
}

// A copy of migrations-example with the breaking fixture as the next migration and release.
struct BrokenExample {
    test::TempDir dir;
    std::string blue, green = "v-breaking", migration;

    BrokenExample() {
        fsys::copy(kExample, dir.path(), fsys::copy_options::recursive);
        auto releases = read_releases(dir / "releases.toml");
        EXPECT_FALSE(releases.releases.empty());
        const auto& last = releases.releases.back();
        blue = last.name;
        // The next version, as wide as the last one ("0013" -> "0014").
        std::string next = std::to_string(std::stoll(last.version.text()) + 1);
        while (next.size() < last.version.text().size()) next = "0" + next;
        migration = next + "_rename_orders_total";
        dir.write("migrations/" + migration + ".up.sql", test::read(kFixture + "/rename_orders_total.up.sql"));
        dir.write("migrations/" + migration + ".down.sql", test::read(kFixture + "/rename_orders_total.down.sql"));
        dir.write("contracts/" + green + ".sql", test::read(kFixture + "/contract.sql"));
        dir.write("releases.toml", test::read(dir / "releases.toml") + "\"" + green + "\" = \"" + next + "\"\n");
    }
};

}  // namespace

TEST(CompatCli, EveryReleaseStepOfTheExamplePasses) {
    auto releases = read_releases(kExample + "/releases.toml");
    ASSERT_GE(releases.releases.size(), 2u);
    for (std::size_t i = 1; i < releases.releases.size(); ++i) {
        const auto& blue = releases.releases[i - 1].name;
        const auto& green = releases.releases[i].name;
        ASSERT_TRUE(fsys::exists(kExample + "/contracts/" + blue + ".sql")) << blue;
        ASSERT_TRUE(fsys::exists(kExample + "/contracts/" + green + ".sql")) << green;
        auto r = run_in(kExample, {"check", "--blue", blue, "--green", green, "--format", "json"});
        ASSERT_EQ(r.code, 0) << blue << " -> " << green << "\n" << r.all();
        auto j = nlohmann::json::parse(r.out);
        EXPECT_TRUE(j["verdict"]["compatible"].get<bool>());
        EXPECT_EQ(j["compat"]["errors"], 0) << j["compat"]["problems"].dump(2);
        // Blue works at every state of the deploy and after the downs; green at the end.
        for (const auto& run : j["compat"]["contracts"]) {
            EXPECT_TRUE(run["found"].get<bool>());
            for (const auto& st : run["statements"]) {
                for (std::size_t s = 0; s < st["cells"].size(); ++s) {
                    if (!run["required"][s].get<bool>()) continue;
                    EXPECT_EQ(st["cells"][s]["status"], "works") << run["release"] << " " << st["text"] << " at "
                                                                 << j["compat"]["states"][s]["label"];
                }
            }
        }
    }
}

TEST(CompatCli, TheContractLayerCatchesTheBreakingFixtureWithPostgresText) {
    BrokenExample ex;
    auto r = run_in(ex.dir.path(), {"check", "--blue", ex.blue, "--green", ex.green});
    EXPECT_EQ(r.code, 5) << r.all();
    EXPECT_NE(r.out.find("PostgreSQL: column \"total_cents\" does not exist (42703)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("responsible: " + ex.migration), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verdict: INCOMPATIBLE"), std::string::npos) << r.out;

    auto js = run_in(ex.dir.path(), {"check", "--blue", ex.blue, "--green", ex.green, "-f", "json"});
    EXPECT_EQ(js.code, 5);
    auto j = nlohmann::json::parse(js.out);
    EXPECT_FALSE(j["verdict"]["compatible"].get<bool>());
    int breaks = 0;
    for (const auto& run : j["compat"]["contracts"]) {
        if (run["role"] != "blue") continue;
        for (const auto& st : run["statements"])
            for (const auto& cell : st["cells"])
                if (cell["status"] == "breaks") {
                    ++breaks;
                    EXPECT_EQ(cell["migration"], ex.migration);
                    EXPECT_NE(cell["message"].get<std::string>().find("\"total_cents\""), std::string::npos);
                    EXPECT_EQ(cell["sqlstate"], "42703");
                }
    }
    EXPECT_GE(breaks, 2);  // blue's SELECT and INSERT on orders
    // The class of the migration is what the database showed: contract.
    for (const auto& m : j["migrations"]) {
        if (m["migration"] == ex.migration) {
            EXPECT_EQ(m["class"], "contract");
        }
    }
}

TEST(CompatCli, EveryFormatCarriesTheDynamicFindings) {
    BrokenExample ex;
    std::vector<std::string> base = {"check", "--blue", ex.blue, "--green", ex.green, "--dev-url", test::cluster().url("postgres")};
    auto with = [&](const std::string& format) {
        auto args = base;
        args.insert(args.end(), {"--format", format});
        auto r = run_in(ex.dir.path(), args);
        EXPECT_EQ(r.code, 5) << format << "\n" << r.all();
        return r.out;
    };
    auto md = with("markdown");
    EXPECT_NE(md.find("| schema state |"), std::string::npos) << md;
    EXPECT_NE(md.find("verdict: INCOMPATIBLE"), std::string::npos) << md;
    auto junit = with("junit");
    EXPECT_NE(junit.find("<testsuite name=\"compatibility\""), std::string::npos) << junit;
    EXPECT_NE(junit.find("column &quot;total_cents&quot; does not exist"), std::string::npos) << junit;
    auto sarif = nlohmann::json::parse(with("sarif"));
    bool found = false;
    for (const auto& res : sarif["runs"][0]["results"])
        if (res["ruleId"] == "compat-contract-break") found = true;
    EXPECT_TRUE(found) << sarif.dump(2);
    auto gh = with("github");
    EXPECT_NE(gh.find("compat-contract-break"), std::string::npos) << gh;
    auto text = with("text");
    EXPECT_NE(text.find("dev server"), std::string::npos) << text;
}

TEST(CompatCli, WithoutServerBinariesTheRulesStillRunAndSaySo) {
    test::TempDir empty;
    auto r = run_in(kExample, {"check", "--blue", "v1.0.0", "--green", "v1.1.0", "--pg-bindir", empty.path()});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("skipped: " + empty.path() + ": no initdb/pg_ctl there"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verdict: compatible (rules: 0 blocking; diff/contracts/roundtrip skipped)"), std::string::npos)
        << r.out;
    // Asked for by name, a dynamic layer that cannot run is an error.
    auto explicit_layers = run_in(kExample, {"check", "--blue", "v1.0.0", "--green", "v1.1.0", "--pg-bindir", empty.path(),
                                             "--layers", "rules,diff"});
    EXPECT_EQ(explicit_layers.code, 2) << explicit_layers.all();
    EXPECT_NE(explicit_layers.err.find("--layers rules,diff needs a scratch database"), std::string::npos)
        << explicit_layers.all();
}

TEST(CompatCli, RulesOnlyIsTheStaticCheck) {
    auto rules = run_in(kExample, {"check", "--blue", "v1.0.0", "--green", "v1.1.0", "--layers", "rules", "-f", "json"});
    EXPECT_EQ(rules.code, 0) << rules.all();
    auto j = nlohmann::json::parse(rules.out);
    EXPECT_FALSE(j.contains("compat"));
    EXPECT_FALSE(j.contains("verdict"));
    // Files without --blue/--green: the rules only, as before.
    auto files = run_in(kExample, {"check"});
    EXPECT_EQ(files.out.find("dynamic layers"), std::string::npos) << files.out;
}

TEST(CompatCli, RoundTripAndWithDataOnTheExample) {
    auto r = run_in(kExample, {"check", "--blue", "v1.0.0", "--green", "v1.1.0", "--layers", "diff,contracts,roundtrip",
                               "--with-data", "-f", "json", "--dev-url", test::cluster().url("postgres")});
    ASSERT_EQ(r.code, 0) << r.all();
    auto j = nlohmann::json::parse(r.out);
    for (const auto& rt : j["compat"]["roundtrip"]) EXPECT_TRUE(rt["ok"].get<bool>()) << rt.dump();
    EXPECT_EQ(j["compat"]["roundtrip"].size(), j["compat"]["pending"].size());
    bool wrote = false;
    for (const auto& n : j["compat"]["notes"])
        if (n.get<std::string>().find("sample row(s) written") != std::string::npos) wrote = true;
    EXPECT_TRUE(wrote) << j["compat"]["notes"].dump();
}

TEST(CompatCli, UpWithCheckLayersStoresWhatTheDatabaseShowedAndBlocksABreak) {
    auto project = [](test::Project& p, bool breaking) {
        p.add("0001_t", "CREATE TABLE t (id bigint PRIMARY KEY, a text);\n", "DROP TABLE t;\n");
        // A DO block: the rules cannot see into it (class unknown); the database can.
        p.add("0002_add_b", "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN b text'; END $$;\n",
              "ALTER TABLE t DROP COLUMN b;\n");
        std::string releases = "[releases]\n\"v1\" = \"0001\"\n\"v2\" = \"0002\"\n";
        if (breaking) {
            p.add("0003_rename_a", "DO $$ BEGIN EXECUTE 'ALTER TABLE t RENAME COLUMN a TO a2'; END $$;\n",
                  "ALTER TABLE t RENAME COLUMN a2 TO a;\n");
            releases += "\"v3\" = \"0003\"\n";
        }
        p.dir().write("releases.toml", releases);
        p.dir().write("contracts/v1.sql", "SELECT id, a FROM t WHERE id = $1;\n");
        p.dir().write("contracts/v2.sql", "SELECT id, a, b FROM t WHERE id = $1;\n");
    };
    std::map<std::string, std::string> layers = {{"ROLLSAFE_CHECK_LAYERS", "rules,diff,contracts"}};

    test::Project plain;
    project(plain, false);
    ASSERT_EQ(plain.run({"up", "--to", "0001", "--release", "v1"}).code, 0);
    ASSERT_EQ(plain.run({"up", "--release", "v2"}).code, 0);
    auto plain_class = plain.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0002' AND op = 'up'");
    EXPECT_NE(plain_class.find("unknown"), std::string::npos) << plain_class;

    test::Project checked;
    project(checked, true);
    ASSERT_EQ(checked.run({"up", "--to", "0001", "--release", "v1"}, layers).code, 0);
    auto v2 = checked.run({"up", "--to", "0002", "--release", "v2"}, layers);
    ASSERT_EQ(v2.code, 0) << v2.all();
    // The rules' "unknown" is gone: the database showed a nullable column added (the down's
    // data-loss-on-down stays, it comes from the down script).
    auto checked_class = checked.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0002' AND op = 'up'");
    EXPECT_EQ(checked_class.find("unknown"), std::string::npos) << checked_class;
    EXPECT_EQ(checked_class.rfind("expand", 0), 0u) << checked_class;
    auto v3 = checked.run({"up", "--release", "v3"}, layers);
    EXPECT_EQ(v3.code, 5) << v3.all();
    EXPECT_NE(v3.all().find("column \"a\" does not exist"), std::string::npos) << v3.all();
    EXPECT_EQ(checked.history_count("0003", "up", "applied"), 0);
    EXPECT_EQ(checked.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'a'"),
              "1");
}
