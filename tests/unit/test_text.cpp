#include <gtest/gtest.h>

#include "core/base/duration.h"
#include "core/base/text.h"

using namespace rollsafe;

TEST(Text, LineColCountsCharactersNotBytes) {
    std::string s = "ab\nçé x";
    auto lc = text::line_col_at(s, s.find('x'));
    EXPECT_EQ(lc.line, 2);
    EXPECT_EQ(lc.col, 4);
}

TEST(Text, FindsInvalidUtf8) {
    EXPECT_EQ(text::find_invalid_utf8("plain ascii"), std::string::npos);
    EXPECT_EQ(text::find_invalid_utf8("caf\xc3\xa9"), std::string::npos);
    EXPECT_EQ(text::find_invalid_utf8("ab\xff"), 2u);
    EXPECT_EQ(text::find_invalid_utf8("\xc0\xaf"), 0u);   // overlong
    EXPECT_EQ(text::find_invalid_utf8("x\xe2\x82"), 1u);  // truncated
}

TEST(Text, QuotesIdentifiersAndLiterals) {
    EXPECT_EQ(text::quote_ident("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(text::quote_literal("it's"), "'it''s'");
}

TEST(Duration, ParsesUnits) {
    EXPECT_EQ(parse_duration("250ms")->count(), 250);
    EXPECT_EQ(parse_duration("2s")->count(), 2000);
    EXPECT_EQ(parse_duration("15m")->count(), 900000);
    EXPECT_EQ(parse_duration("1h30m")->count(), 5400000);
    EXPECT_EQ(parse_duration("7")->count(), 7000);
    EXPECT_FALSE(parse_duration("fast"));
    EXPECT_FALSE(parse_duration("10 s"));
    EXPECT_FALSE(parse_duration(""));
    EXPECT_EQ(format_duration(Millis(60000)), "1m");
    EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
}
