// Passwords never reach stdout or stderr: failing commands given a DSN with a password, in
// every form and through every source, with debug and JSON logs on.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/helpers.h"

using namespace rollsafe;

namespace {

const std::string kPassword = "Sup3rS3cretPw";

// Expects a failed run whose output does not contain the password.
void expect_no_password(const test::CliResult& r, const std::string& what) {
    EXPECT_NE(r.code, 0) << what;
    EXPECT_NE(r.all(), "") << what;
    EXPECT_EQ(r.all().find(kPassword), std::string::npos) << what << ":\n" << r.all();
    EXPECT_EQ(r.all().find("Sup3r"), std::string::npos) << what;  // not even a prefix
}

}  // namespace

TEST(Secrets, InvalidDatabaseUrlFromEverySourceIsRedacted) {
    // libpq quotes the whole URL in this error message.
    const std::string url = "postgres://app:" + kPassword + "@[::1/shop";
    test::TempDir dir;
    test::CliOptions o;
    o.cwd = dir.path();

    auto flag = test::run_cli({"validate", "-v", "--database-url", url}, o);
    expect_no_password(flag, "--database-url");
    EXPECT_EQ(flag.code, 2);
    EXPECT_NE(flag.err.find("postgres://app:***@"), std::string::npos) << flag.err;

    o.env = {{"DATABASE_URL", url}};
    expect_no_password(test::run_cli({"validate", "--log-format", "json"}, o), "DATABASE_URL");
    o.env = {{"ROLLSAFE_DATABASE_URL", url}};
    expect_no_password(test::run_cli({"validate", "-o", "json"}, o), "ROLLSAFE_DATABASE_URL");
    o.env = {};
    dir.write("rollsafe.toml", "[database]\nurl = \"" + url + "\"\n");
    expect_no_password(test::run_cli({"validate"}, o), "rollsafe.toml");
}

TEST(Secrets, UnexpectedArgumentsAreRedacted) {
    auto r = test::run_cli({"validate", "postgres://app:" + kPassword + "@db/shop",
                            "host=db password='" + kPassword + " x'"});
    expect_no_password(r, "stray arguments");
    EXPECT_EQ(r.code, 2);
}

TEST(Secrets, ConnectionFailureIsRedacted) {
    // Nothing listens on port 1: the command fails to connect and says where it tried.
    test::TempDir dir;
    dir.write("migrations/0001_a.up.sql", "SELECT 1;\n");
    dir.write("migrations/0001_a.down.sql", "SELECT 1;\n");
    test::CliOptions o;
    o.cwd = dir.path();
    o.env = {{"ROLLSAFE_DATABASE_CONNECT_RETRIES", "2"},
             {"ROLLSAFE_DATABASE_CONNECT_TIMEOUT", "2s"}};
    for (const std::string& dsn :
         {"postgres://app:" + kPassword + "@127.0.0.1:1/shop",
          "postgres://app@127.0.0.1:1/shop?password=" + kPassword,
          "host=127.0.0.1 port=1 user=app dbname=shop password='" + kPassword + " with spaces'"}) {
        auto r = test::run_cli({"status", "-vv", "--database-url", dsn}, o);
        expect_no_password(r, dsn);
        EXPECT_EQ(r.code, 10) << r.all();  // UNAVAILABLE
        auto json = test::run_cli(
            {"status", "-v", "--log-format", "json", "-o", "json", "--database-url", dsn}, o);
        expect_no_password(json, dsn + " (json)");
        EXPECT_EQ(json.code, 10) << json.all();
    }
}

TEST(Secrets, PasswordOnTheCommandLineIsHiddenFromPs) {
    // A gate waiting for an unreachable database runs long enough to look at its command line.
    test::TempDir dir;
    dir.write("migrations/0001_a.up.sql", "SELECT 1;\n");
    dir.write("migrations/0001_a.down.sql", "SELECT 1;\n");
    test::CliOptions o;
    o.cwd = dir.path();
    o.env = {{"ROLLSAFE_DATABASE_CONNECT_TIMEOUT", "1s"}};
    test::CliProcess proc(
        {"gate", "--wait", "4s", "--database-url",
         "postgres://app:" + kPassword + "@127.0.0.1:1/shop?password=" + kPassword, "-v"},
        o);
    std::string cmdline;
    // Parsing takes a few milliseconds; after that the arguments must be clean for good.
    ASSERT_TRUE(test::eventually(
        [&] {
            cmdline = test::read("/proc/" + std::to_string(proc.pid()) + "/cmdline");
            return cmdline.find("gate") != std::string::npos &&
                   cmdline.find(kPassword) == std::string::npos;
        },
        std::chrono::seconds(2)))
        << cmdline;
    for (int i = 0; i < 20 && test::process_running(proc.pid()); ++i) {
        cmdline = test::read("/proc/" + std::to_string(proc.pid()) + "/cmdline");
        EXPECT_EQ(cmdline.find("Sup3r"), std::string::npos) << cmdline;
        EXPECT_NE(cmdline.find("127.0.0.1:1/shop"), std::string::npos) << cmdline;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto r = proc.wait(std::chrono::seconds(30));
    EXPECT_EQ(r.code, 10) << r.all();
    expect_no_password(r, "gate --database-url");
}
