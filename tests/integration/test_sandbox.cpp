#include <gtest/gtest.h>

#include "support/helpers.h"

using namespace rollsafe;

TEST(Sandbox, ServesQueriesOnItsSocket) {
    test::TestDb db;
    EXPECT_EQ(db.scalar("SELECT 40 + 2"), "42");
    EXPECT_EQ(db.scalar("SHOW fsync"), "off");
    EXPECT_EQ(db.scalar("SHOW listen_addresses"), "");
}
