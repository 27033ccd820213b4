// `rollsafe init`: a commented rollsafe.toml, releases.toml and migrations/ in the current
// folder, never overwriting a configuration without --force.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/base/fs.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

test::CliResult run_in(const test::TempDir& dir, const std::vector<std::string>& args) {
    test::CliOptions o;
    o.cwd = dir.path();
    return test::run_cli(args, o);
}

}  // namespace

TEST(Init, WritesConfigReleasesAndMigrationsFolder) {
    test::TempDir dir;
    auto r = run_in(dir, {"init"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(
        r.out,
        "wrote rollsafe.toml, releases.toml and migrations/\nnext: rollsafe new create_users\n");
    auto toml = test::read(dir / "rollsafe.toml");
    EXPECT_NE(toml.find("[migrations]\n"), std::string::npos);
    EXPECT_NE(toml.find("dir = \"migrations\""), std::string::npos);
    EXPECT_NE(toml.find("# url = \"postgres://"), std::string::npos);
    EXPECT_NE(toml.find("docs/configuration.md"), std::string::npos);
    EXPECT_NE(test::read(dir / "releases.toml").find("[releases]"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir / "migrations"));
    // What init wrote is a valid project: new + validate work on it.
    EXPECT_EQ(run_in(dir, {"new", "create_users"}).code, 0);
    dir.write("migrations/0001_create_users.up.sql", "CREATE TABLE users (id bigint);\n");
    dir.write("migrations/0001_create_users.down.sql", "DROP TABLE users;\n");
    auto v = run_in(dir, {"validate"});
    EXPECT_EQ(v.code, 0) << v.all();
}

TEST(Init, ForceReplacesABrokenConfiguration) {
    test::TempDir dir;
    dir.write("rollsafe.toml", "[lock]\nwiat = 5\n");
    EXPECT_EQ(run_in(dir, {"validate"}).code, 2);
    auto r = run_in(dir, {"init", "--force"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(run_in(dir, {"new", "x"}).code, 0);
}

TEST(Init, RefusesToOverwriteWithoutForce) {
    test::TempDir dir;
    dir.write("rollsafe.toml", "[lock]\nwait = \"5s\"\n");
    auto r = run_in(dir, {"init"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "rollsafe: rollsafe.toml already exists\nhint: use --force to overwrite it\n");
    EXPECT_EQ(test::read(dir / "rollsafe.toml"), "[lock]\nwait = \"5s\"\n");
    r = run_in(dir, {"init", "--force"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(test::read(dir / "rollsafe.toml").find("[migrations]"), std::string::npos);
}

TEST(Init, KeepsAnExistingReleasesFileAndHonoursConfigAndMigrationsFlags) {
    test::TempDir dir;
    dir.write("releases.toml", "[releases]\n\"v1\" = \"0001\"\n");
    // --config names the file to write (its folder is created); it need not exist yet.
    auto r = run_in(dir, {"--config", "ops/rollsafe.toml", "--migrations", "db/migrations", "init",
                          "-o", "json"});
    EXPECT_EQ(r.code, 0) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("config"), "ops/rollsafe.toml");
    EXPECT_EQ(doc.at("migrations"), "db/migrations");
    EXPECT_TRUE(fs::exists(dir / "ops/rollsafe.toml"));
    EXPECT_TRUE(fs::exists(dir / "db/migrations"));
    EXPECT_EQ(test::read(dir / "releases.toml"), "[releases]\n\"v1\" = \"0001\"\n");
}
