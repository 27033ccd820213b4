// Versions (ordering of integers, timestamps and dotted Flyway versions) and scripts built from
// text (checksums, directives, statements with file positions).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/base/sha256.h"
#include "core/migrations/migration.h"

using namespace rollsafe;

namespace {

Version v(const std::string& text) {
    auto parsed = Version::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(Version());
}

}  // namespace

TEST(Version, LeadingZerosDoNotMatter) {
    EXPECT_EQ(v("0002"), v("2"));
    EXPECT_EQ(v("0002").key(), "2");
    EXPECT_EQ(v("0002").text(), "0002");
    EXPECT_EQ(v("0000").key(), "0");
    EXPECT_LT(v("0009"), v("10"));
    EXPECT_LT(v("9"), v("0010"));
}

TEST(Version, TwentyDigitVersionsCompareWithoutOverflow) {
    // Beyond 2^64: 18446744073709551616 has 20 digits.
    EXPECT_LT(v("18446744073709551615"), v("18446744073709551616"));
    EXPECT_LT(v("20240101120000"), v("99999999999999999999"));
    EXPECT_LT(v("99999999999999999999"), v("100000000000000000000"));
    EXPECT_GT(v("20240101120001"), v("20240101120000"));
    EXPECT_EQ(v("00020240101120000"), v("20240101120000"));
}

TEST(Version, DottedFlywayVersionsCompareNumericallyPartByPart) {
    EXPECT_LT(v("1.2"), v("1.10"));
    EXPECT_LT(v("1.9.9"), v("1.10"));
    EXPECT_LT(v("1"), v("1.1"));
    EXPECT_LT(v("1.1"), v("2"));
    EXPECT_EQ(v("1.0"), v("1"));
    EXPECT_EQ(v("1.0.0").key(), "1");
    EXPECT_EQ(v("1_2"), v("1.2"));  // Flyway also writes V1_2__name.sql
    EXPECT_EQ(v("01.002"), v("1.2"));
    EXPECT_EQ(Version::compare(v("1.0"), v("1")), 0);
    EXPECT_EQ(v("0.0").key(), "0");
    EXPECT_EQ(v("10.0").key(), "10");
    EXPECT_EQ(v("1.20").key(), "1.20");
    EXPECT_EQ(v("0001_0100").key(), "1.100");
    EXPECT_LT(v("1"), v("1.0.1"));
    EXPECT_GT(v("2.0.0.1"), v("2"));
}

TEST(Version, SortsAMixedList) {
    std::vector<Version> list = {v("10"), v("0002"), v("1.5"), v("1"), v("20240101000000"), v("3")};
    std::sort(list.begin(), list.end());
    std::vector<std::string> keys;
    for (const auto& x : list)
        keys.push_back(x.text());
    EXPECT_EQ(keys, (std::vector<std::string>{"1", "1.5", "0002", "3", "10", "20240101000000"}));
}

TEST(Version, RejectsWhatIsNotAVersion) {
    for (const std::string s : {"", "v1", "1a", "1..2", ".1", "1.", "-1", "1 2", "１"})
        EXPECT_FALSE(Version::parse(s)) << s;
}

TEST(Script, CarriesChecksumsDirectivesAndStatementPositionsOfTheFile) {
    std::vector<Diagnostic> problems;
    const std::string text =
        "-- rollsafe:lock-timeout=2s\n"
        "ALTER TABLE users ADD COLUMN nick text;\n"
        "\n"
        "  CREATE INDEX users_nick ON users (nick);\n";
    auto s = make_script("m/0003_nick.up.sql", text, 5, problems);
    EXPECT_TRUE(problems.empty());
    EXPECT_EQ(s.sha256, sha256_hex(text));
    EXPECT_EQ(s.sha256.size(), 64u);
    ASSERT_NE(s.directive("lock-timeout"), nullptr);
    EXPECT_EQ(s.directive("lock-timeout")->line, 5);
    EXPECT_FALSE(s.no_transaction());
    ASSERT_EQ(s.statements.size(), 2u);
    EXPECT_EQ(s.statements[0].line, 6);
    EXPECT_EQ(s.statements[1].line, 8);
    EXPECT_EQ(s.statements[1].col, 3);
    EXPECT_EQ(s.where(s.statements[1]), "m/0003_nick.up.sql:8:3");
    EXPECT_EQ(s.statements[1].kind, "IndexStmt");
}

TEST(Script, SyntaxErrorIsReportedAtItsPlaceInTheFile) {
    std::vector<Diagnostic> problems;
    auto s = make_script("m/0004_x.up.sql", "SELECT 1;\nCREATE TABEL t (id int);\n", 3, problems);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].location_and_message(),
              "m/0004_x.up.sql:4:8: syntax error at or near \"TABEL\"");
    EXPECT_TRUE(s.statements.empty());
}

TEST(Script, DriftChecksumIgnoresWhitespaceAndComments) {
    std::vector<Diagnostic> problems;
    auto a = make_script("a", "CREATE TABLE t (id int);\n", 1, problems);
    auto b = make_script("b", "-- the table\nCREATE TABLE t (id bigint);\n", 1, problems);
    auto c = make_script("c", "CREATE   TABLE t (\n  id int -- key\n);\n", 1, problems);
    EXPECT_EQ(a.drift_sha256(), c.drift_sha256());
    EXPECT_NE(a.sha256, c.sha256);
    EXPECT_NE(a.drift_sha256(), b.drift_sha256());
}
