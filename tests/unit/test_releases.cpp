#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/migrations/releases.h"

using namespace rollsafe;

TEST(Releases, ReadsTheContractFormat) {
    auto dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-releases-XXXXXX");
    fs::write_file_atomic(
        dir + "/releases.toml",
        "# comment\n[releases]\n\"v1.0.0\" = \"0002\"   # ships 0001-0002\n\"v1.1.0\" = \"0004\"\n",
        0644);
    auto r = read_releases(dir + "/releases.toml");
    EXPECT_TRUE(r.exists);
    ASSERT_EQ(r.releases.size(), 2u);
    EXPECT_EQ(r.releases[0].name, "v1.0.0");
    EXPECT_EQ(r.releases[0].version.text(), "0002");
    EXPECT_EQ(r.find("v1.1.0")->version.key(), "4");
    EXPECT_EQ(r.find("v9"), nullptr);
    EXPECT_FALSE(read_releases(dir + "/missing.toml").exists);
    fs::remove_all(dir);
}

TEST(Releases, BadEntriesAreUsageErrorsWithLines) {
    auto dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-releases-XXXXXX");
    fs::write_file_atomic(dir + "/releases.toml",
                          "[releases]\n\"v1\" = \"0002\"\n\"v2\" = \"latest\"\n[other]\nx = 1\n",
                          0644);
    try {
        read_releases(dir + "/releases.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        ASSERT_EQ(e.diagnostics().size(), 2u);
        EXPECT_EQ(e.diagnostics()[0].line, 3);
        EXPECT_NE(e.diagnostics()[0].message.find("latest"), std::string::npos);
        EXPECT_NE(e.diagnostics()[1].message.find("other.x"), std::string::npos);
    }
    fs::remove_all(dir);
}

TEST(Releases, LiveBesideTheMigrationsFolder) {
    EXPECT_EQ(releases_path_for("migrations"), "releases.toml");
    EXPECT_EQ(releases_path_for("app/db/migrations/"), "app/db/releases.toml");
}
