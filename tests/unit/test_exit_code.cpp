// Exit codes are a contract with pipelines: numbers, names and docs/exit-codes.md agree.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/base/exit_code.h"
#include "core/base/text.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

const char* const kNames[] = {"OK",           "INTERNAL",        "USAGE",        "LOCKED",
                              "FROZEN",       "CHECK_FAILED",    "FAILED_CLEAN", "FAILED_DIRTY",
                              "DRIFT",        "SNAPSHOT_FAILED", "UNAVAILABLE",  "NOT_READY",
                              "INCOMPATIBLE", "INTERRUPTED",     "BUSY"};

}  // namespace

TEST(ExitCode, NumbersAndNamesMatchTheDesign) {
    for (int i = 0; i < 15; ++i)
        EXPECT_EQ(exit_code_name(static_cast<ExitCode>(i)), kNames[i]) << i;
    EXPECT_EQ(static_cast<int>(ExitCode::failed_dirty), 7);
    EXPECT_EQ(static_cast<int>(ExitCode::busy), 14);
}

TEST(ExitCode, DocumentedWithMeaningAndPipelineAction) {
    auto doc = test::read(std::string(ROLLSAFE_SOURCE_DIR) + "/docs/exit-codes.md");
    ASSERT_FALSE(doc.empty());
    for (int i = 0; i < 15; ++i) {
        auto row = "| " + std::to_string(i) + " | " + kNames[i] + " | ";
        auto at = doc.find(row);
        ASSERT_NE(at, std::string::npos) << row;
        auto line = doc.substr(at, doc.find('\n', at) - at);
        EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 5)
            << line;  // code, name, meaning, action
    }
}

TEST(ExitCode, SeverityPutsStatesThatNeedAPersonFirst) {
    std::vector<ExitCode> codes;
    for (int i = 0; i < 15; ++i)
        codes.push_back(static_cast<ExitCode>(i));
    std::sort(codes.begin(), codes.end(),
              [](ExitCode a, ExitCode b) { return exit_code_severity(a) > exit_code_severity(b); });
    std::vector<std::string> order;
    for (auto c : codes)
        order.push_back(std::to_string(static_cast<int>(c)));
    EXPECT_EQ(text::join(order, ", "), "7, 1, 4, 8, 12, 6, 5, 9, 2, 13, 14, 10, 3, 11, 0");
    auto doc = test::read(std::string(ROLLSAFE_SOURCE_DIR) + "/docs/exit-codes.md");
    EXPECT_NE(doc.find(text::join(order, ", ")), std::string::npos) << "docs/exit-codes.md order";
}
