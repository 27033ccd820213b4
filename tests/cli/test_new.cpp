// `rollsafe new <name>`: the next version in the project's numbering and layout.
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

TEST(New, NumbersMigrationsOneAfterAnother) {
    test::TempDir dir;
    auto r = run_in(dir, {"new", "create users"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(r.out,
              "created migrations/0001_create_users.up.sql\n"
              "created migrations/0001_create_users.down.sql\n"
              "write the up and the down script, then: rollsafe validate\n");
    EXPECT_NE(
        test::read(dir / "migrations/0001_create_users.up.sql").find("-- 0001_create_users: up"),
        std::string::npos);
    r = run_in(dir, {"new", "AddOrders", "-o", "json"});
    EXPECT_EQ(r.code, 0) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("files"), nlohmann::json::array({"migrations/0002_addorders.up.sql",
                                                      "migrations/0002_addorders.down.sql"}));
    // An unfilled template does not validate: it cannot be shipped by mistake.
    auto v = run_in(dir, {"validate"});
    EXPECT_EQ(v.code, 2);
    EXPECT_NE(
        v.out.find(
            "migrations/0002_addorders.up.sql:1:1: error: the up script has no SQL statements"),
        std::string::npos)
        << v.out;
}

TEST(New, FollowsTimestampNumbering) {
    test::TempDir dir;
    dir.write("migrations/20200101000000_a.up.sql", "SELECT 1;");
    dir.write("migrations/20200101000000_a.down.sql", "SELECT 1;");
    auto r = run_in(dir, {"new", "b", "-o", "json"});
    EXPECT_EQ(r.code, 0) << r.all();
    auto file = nlohmann::json::parse(r.out).at("files")[0].get<std::string>();
    ASSERT_EQ(file.size(), std::string("migrations/20240101000000_b.up.sql").size()) << file;
    EXPECT_GT(file, "migrations/20200101000000_b.up.sql");
}

TEST(New, UsesTheLayoutOfTheFolderOrTheOneAskedFor) {
    test::TempDir dbmate;
    dbmate.write("db/0001_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n");
    auto r = run_in(dbmate, {"--migrations", "db", "new", "b"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "created db/0002_b.sql");

    test::TempDir flyway;
    r = run_in(flyway, {"--layout", "flyway", "new", "init"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(fs::exists(flyway / "migrations/V0001__init.sql"));
    EXPECT_TRUE(fs::exists(flyway / "migrations/U0001__init.sql"));
}

TEST(New, RejectsANameWithoutLettersOrDigits) {
    test::TempDir dir;
    auto r = run_in(dir, {"new", "--", "---"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("migration name \"---\" has no letters or digits"), std::string::npos)
        << r.err;
    auto missing = run_in(dir, {"new"});
    EXPECT_EQ(missing.code, 2);
    EXPECT_NE(missing.err.find("name is required"), std::string::npos) << missing.err;
}
