// parallel_for: what reading a project and parsing its scripts rely on.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/base/parallel.h"

using namespace rollsafe;

TEST(ParallelFor, RunsEveryItemExactlyOnce) {
    for (std::size_t n : {0u, 1u, 5u, 63u, 1000u}) {
        std::vector<std::atomic<int>> seen(n);
        parallel_for(
            n, [&](std::size_t i) { seen[i].fetch_add(1); }, 1);
        for (std::size_t i = 0; i < n; ++i)
            EXPECT_EQ(seen[i].load(), 1) << "n=" << n << " i=" << i;
    }
}

TEST(ParallelFor, AnItemsExceptionReachesTheCallerOnceEveryThreadHasEnded) {
    std::atomic<int> running{0};
    std::atomic<int> ran{0};
    try {
        parallel_for(
            1000,
            [&](std::size_t i) {
                running.fetch_add(1);
                ran.fetch_add(1);
                running.fetch_sub(1);
                if (i == 3)
                    throw std::runtime_error("item 3");
            },
            1);
        ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "item 3");
    }
    EXPECT_EQ(running.load(), 0);  // nothing still runs when the caller sees the error
    EXPECT_GE(ran.load(), 4);
}
