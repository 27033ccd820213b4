// Logs on stderr: text for people, JSON lines with --log-format json (every line, the final
// error included), more with -v, only warnings and errors with -q.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/helpers.h"

using namespace rollsafe;

namespace {

// Runs `status` against a port where nothing listens: a debug line per failed attempt, then
// the error (exit 10 UNAVAILABLE).
test::CliResult unreachable(const std::vector<std::string>& flags) {
    static test::TempDir dir;
    dir.write("migrations/0001_a.up.sql", "SELECT 1;\n");
    dir.write("migrations/0001_a.down.sql", "SELECT 1;\n");
    std::vector<std::string> args = {"status", "--database-url", "postgres://app@127.0.0.1:1/shop"};
    args.insert(args.end(), flags.begin(), flags.end());
    test::CliOptions o;
    o.cwd = dir.path();
    o.env = {{"ROLLSAFE_DATABASE_CONNECT_RETRIES", "2"}};
    return test::run_cli(args, o);
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);)
        if (!l.empty())
            out.push_back(l);
    return out;
}

}  // namespace

TEST(Logging, TextForPeople) {
    auto r = unreachable({"-v"});
    EXPECT_EQ(r.code, 10) << r.all();
    EXPECT_NE(r.err.find("connection attempt 1 of 2 failed: "), std::string::npos) << r.err;
    EXPECT_NE(
        r.err.find("rollsafe: cannot reach the database app@127.0.0.1:1/shop after 2 attempts"),
        std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("\x1b["), std::string::npos) << "colour although NO_COLOR is set";
}

TEST(Logging, QuietAndNormalLeaveOutDebugLines) {
    for (const auto& flags : std::vector<std::vector<std::string>>{{}, {"-q"}}) {
        auto r = unreachable(flags);
        EXPECT_EQ(r.code, 10);
        EXPECT_EQ(r.err.find("connection attempt"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("cannot reach the database"), std::string::npos) << r.err;
    }
}

TEST(Logging, JsonLinesIncludingTheFinalError) {
    auto r = unreachable({"-v", "--log-format", "json"});
    EXPECT_EQ(r.code, 10) << r.all();
    auto all = lines(r.err);
    ASSERT_GE(all.size(), 2u) << r.err;
    for (const auto& l : all) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not JSON: " << l;
        EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << l;
    }
    auto first = nlohmann::json::parse(all.front());
    EXPECT_EQ(first.at("level"), "debug");
    auto last = nlohmann::json::parse(all.back());
    EXPECT_EQ(last.at("level"), "error");
    EXPECT_EQ(last.at("exit_code"), "10");
    EXPECT_EQ(last.at("exit_name"), "UNAVAILABLE");
    EXPECT_NE(last.at("msg").get<std::string>().find("cannot reach the database"),
              std::string::npos);
    EXPECT_FALSE(last.at("hint").get<std::string>().empty());
}

TEST(Logging, JsonLinesForFileProblemsToo) {
    test::TempDir dir;
    dir.write("migrations/0001_a.up.sql", "SELECT 1;\n");
    dir.write("migrations/0002_b.up.sql", "SELECT 1;\n");
    dir.write("migrations/0002_b.down.sql", "SELECT 1;\n");
    dir.write("migrations/0003_c.down.sql", "SELECT 1;\n");
    test::CliOptions o;
    o.cwd = dir.path();
    o.env = {{"ROLLSAFE_LOG_FORMAT", "json"}};
    auto r = test::run_cli({"status", "--database-url", "postgres://app@127.0.0.1:1/shop"}, o);
    EXPECT_EQ(r.code, 2) << r.all();
    auto all = lines(r.err);
    ASSERT_GE(all.size(), 3u) << r.err;
    for (const auto& l : all)
        EXPECT_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded()) << l;
    EXPECT_NE(
        r.err.find("\"msg\":\"migrations/0001_a.up.sql:1:1: up script without a down script\""),
        std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("\"exit_name\":\"USAGE\""), std::string::npos) << r.err;
}
