// `-- rollsafe:<key>[=<value>] [reason="..."]` comment lines in scripts.
#include <gtest/gtest.h>

#include "core/migrations/directive.h"

using namespace rollsafe;

namespace {

std::vector<Directive> parse(const std::string& text, std::vector<Diagnostic>& problems,
                             int first_line = 1) {
    return parse_directives(text, "m.up.sql", first_line, problems);
}

}  // namespace

TEST(Directive, ParsesEveryKnownKey) {
    std::vector<Diagnostic> problems;
    auto d = parse(
        "-- rollsafe:no-transaction\n"
        "-- rollsafe:lock-timeout=2s\n"
        "-- rollsafe:statement-timeout=10m\n"
        "-- rollsafe:snapshot=full\n"
        "-- rollsafe:allow=drop-column reason=\"column unused since v2.1\"\n"
        "-- rollsafe:irreversible reason=\"drops a table of logs\"\n"
        "SELECT 1;\n",
        problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_EQ(d.size(), 6u);
    EXPECT_EQ(d[0].key, "no-transaction");
    EXPECT_EQ(d[0].value, "");
    EXPECT_EQ(d[1].key, "lock-timeout");
    EXPECT_EQ(d[1].value, "2s");
    EXPECT_EQ(d[1].line, 2);
    EXPECT_EQ(d[2].value, "10m");
    EXPECT_EQ(d[3].key, "snapshot");
    EXPECT_EQ(d[3].value, "full");
    EXPECT_EQ(d[4].key, "allow");
    EXPECT_EQ(d[4].value, "drop-column");
    EXPECT_EQ(d[4].reason, "column unused since v2.1");
    EXPECT_EQ(d[5].key, "irreversible");
    EXPECT_EQ(d[5].reason, "drops a table of logs");
}

TEST(Directive, LinesAndColumnsAreThoseOfTheFile) {
    std::vector<Diagnostic> problems;
    auto d = parse("\n  -- rollsafe:lock-timeout=1s\n", problems, 10);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].line, 11);
    EXPECT_EQ(d[0].col, 3);
}

TEST(Directive, SpacingAndCaseOfTheKeyAreForgiven) {
    std::vector<Diagnostic> problems;
    auto d = parse("--rollsafe:NO-TRANSACTION\n--   rollsafe:lock-timeout=\"3s\"\n", problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].key, "no-transaction");
    EXPECT_EQ(d[1].value, "3s");
}

TEST(Directive, OrdinaryCommentsAndTrailingCommentsAreNotDirectives) {
    std::vector<Diagnostic> problems;
    auto d = parse(
        "-- add the column; rollsafe:no-transaction is not needed\n"
        "SELECT 1; -- rollsafe:no-transaction\n"
        "SELECT '-- rollsafe:bogus';\n",
        problems);
    EXPECT_TRUE(d.empty());
    EXPECT_TRUE(problems.empty());
}

TEST(Directive, BadDirectivesAreReportedWithFileLineAndColumn) {
    struct Case {
        const char* line;
        const char* message_part;
    };
    const Case cases[] = {
        {"-- rollsafe:no-transation", "unknown directive \"no-transation\""},
        {"-- rollsafe:no-transaction=yes", "no-transaction takes no value"},
        {"-- rollsafe:lock-timeout=soon", "lock-timeout needs a duration"},
        {"-- rollsafe:statement-timeout", "statement-timeout needs a duration"},
        {"-- rollsafe:snapshot=some", "snapshot must be none, touched or full"},
        {"-- rollsafe:allow=drop-column", "needs a reason"},
        {"-- rollsafe:allow=Drop_Column reason=\"x\"", "allow needs a rule id"},
        {"-- rollsafe:irreversible", "irreversible needs a reason"},
        {"-- rollsafe:irreversible reason=unquoted", "reason must be quoted"},
        {"-- rollsafe:irreversible reason=\"open", "unterminated reason"},
        {"-- rollsafe:lock-timeout=\"2s", "unterminated quoted value"},
        {"-- rollsafe:lock-timeout=2s extra", "unexpected text \"extra\""},
    };
    for (const auto& c : cases) {
        std::vector<Diagnostic> problems;
        auto d = parse(std::string("SELECT 1;\n") + c.line + "\n", problems);
        EXPECT_TRUE(d.empty()) << c.line;
        ASSERT_EQ(problems.size(), 1u) << c.line;
        EXPECT_EQ(problems[0].file, "m.up.sql");
        EXPECT_EQ(problems[0].line, 2) << c.line;
        EXPECT_EQ(problems[0].col, 1) << c.line;
        EXPECT_NE(problems[0].message.find(c.message_part), std::string::npos)
            << c.line << " -> " << problems[0].message;
        EXPECT_FALSE(problems[0].hint.empty());
    }
}
