// `rollsafe demo` walks the whole incident on a clean machine, as the README's first command does.
#include <gtest/gtest.h>

#include "support/helpers.h"

using namespace rollsafe;

TEST(Demo, RunsStartToFinish) {
    test::CliOptions o;
    o.env = {{"ROLLSAFE_EXAMPLE_DIR", std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example"}};
    auto r = test::run_cli({"demo"}, o);
    ASSERT_EQ(r.code, 0) << r.all();
    for (const char* expected :
         {"$ rollsafe up --release v1.0.0", "$ rollsafe gate --release v1.1.0", "verification: matched",
          "$ rollsafe restore --snapshot", "| rollback | success |", "Demo finished: every step ended as expected."})
        EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
}
