// `rollsafe new`: the next version in the project's style, and the files of each layout.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/migrations/reader.h"
#include "core/migrations/scaffold.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

const std::time_t kNoon = 1704110400;  // 2024-01-01 12:00:00 UTC

std::string base(const std::string& path) {
    return path.substr(path.rfind('/') + 1);
}

}  // namespace

TEST(Scaffold, FirstMigrationOfAnEmptyFolderIsNative0001) {
    test::TempDir dir;
    auto paths = create_migration(dir / "m", "auto", "Create users!", kNoon);
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(base(paths[0]), "0001_create_users.up.sql");
    EXPECT_EQ(base(paths[1]), "0001_create_users.down.sql");
    EXPECT_NE(test::read(paths[0]).find("-- 0001_create_users: up"), std::string::npos);
}

TEST(Scaffold, NumbersFollowTheNewestAndKeepTheWidth) {
    test::TempDir dir;
    dir.write("m/00009_a.up.sql", "SELECT 1;");
    dir.write("m/00009_a.down.sql", "SELECT 1;");
    dir.write("m/00002_b.up.sql", "SELECT 1;");
    dir.write("m/00002_b.down.sql", "SELECT 1;");
    EXPECT_EQ(next_version(dir / "m", "auto", kNoon), "00010");
    auto paths = create_migration(dir / "m", "auto", "add_orders", kNoon);
    EXPECT_EQ(base(paths[0]), "00010_add_orders.up.sql");
    EXPECT_EQ(next_version(dir / "m", "auto", kNoon), "00011");
}

TEST(Scaffold, TimestampProjectsGetAUtcTimestamp) {
    test::TempDir dir;
    dir.write("m/20230105093000_a.up.sql", "SELECT 1;");
    dir.write("m/20230105093000_a.down.sql", "SELECT 1;");
    EXPECT_EQ(next_version(dir / "m", "auto", kNoon), "20240101120000");
    // A clock behind the newest migration still gives a later version.
    dir.write("m/20250101000000_b.up.sql", "SELECT 1;");
    dir.write("m/20250101000000_b.down.sql", "SELECT 1;");
    EXPECT_EQ(next_version(dir / "m", "auto", kNoon), "20250101000001");
}

TEST(Scaffold, DbmateLayoutGetsOneFileWithBothSections) {
    test::TempDir dir;
    dir.write("m/0001_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n");
    auto paths = create_migration(dir / "m", "auto", "b", kNoon);
    ASSERT_EQ(paths.size(), 1u);
    EXPECT_EQ(base(paths[0]), "0002_b.sql");
    auto text = test::read(paths[0]);
    EXPECT_EQ(text.rfind("-- migrate:up\n", 0), 0u);
    EXPECT_NE(text.find("\n-- migrate:down\n"), std::string::npos);
}

TEST(Scaffold, FlywayLayoutGetsVersionedAndUndoFiles) {
    test::TempDir dir;
    dir.write("m/V1__a.sql", "SELECT 1;");
    dir.write("m/U1__a.sql", "SELECT 1;");
    auto paths = create_migration(dir / "m", "auto", "b", kNoon);
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(base(paths[0]), "V2__b.sql");
    EXPECT_EQ(base(paths[1]), "U2__b.sql");
    std::vector<Diagnostic> problems;
    auto set = read_migrations(dir / "m", "auto", problems);
    EXPECT_EQ(set.layout, "flyway");
    ASSERT_EQ(set.migrations.size(), 2u);
    EXPECT_EQ(set.migrations[1].id(), "2_b");
}

TEST(Scaffold, NewFilesAreReadBackAsOneMigrationOfTheLayout) {
    test::TempDir dir;
    auto paths = create_migration(dir / "m", "native", "x", kNoon);
    std::vector<Diagnostic> problems;
    auto set = read_migrations(dir / "m", "auto", problems);
    ASSERT_EQ(set.migrations.size(), 1u);
    EXPECT_EQ(set.migrations[0].id(), "0001_x");
    // An unfilled template is reported, so that it is not shipped by mistake.
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].message, "the up script has no SQL statements");
}

TEST(Scaffold, RefusesBadNamesAndExistingFiles) {
    test::TempDir dir;
    EXPECT_THROW(create_migration(dir / "m", "auto", "!!!", kNoon), Error);
    dir.write("m/0001_x.up.sql", "SELECT 1;");
    // 0001 is taken by an up without a down: the next one is 0002, and 0002_x is free.
    auto paths = create_migration(dir / "m", "auto", "x", kNoon);
    EXPECT_EQ(base(paths[0]), "0002_x.up.sql");
    dir.write("m/0003_y.down.sql", "SELECT 1;");
    try {
        create_migration(dir / "m", "native", "y", kNoon);
        FAIL() << "overwrote a file";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos);
    }
}
