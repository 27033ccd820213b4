// Sharding: a stable hash of the target name, every target in exactly one shard, and where the
// shard index and count come from.
#include <gtest/gtest.h>

#include <set>

#include "core/base/error.h"
#include "core/fleet/shard.h"

using namespace rollsafe;
using namespace rollsafe::fleet;

namespace {

std::vector<std::string> names(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
        out.push_back("tenant-" + std::to_string(i));
    return out;
}

}  // namespace

TEST(FleetShard, TheHashIsFnv1a64AndNeverChanges) {
    // Published FNV-1a test vectors: scripts may compute shards themselves (docs/fleet.md).
    EXPECT_EQ(name_hash(""), 0xcbf29ce484222325ull);
    EXPECT_EQ(name_hash("a"), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(name_hash("foobar"), 0x85944171f73967e8ull);
    EXPECT_EQ(shard_of("foobar", 7), static_cast<int>(0x85944171f73967e8ull % 7));
}

TEST(FleetShard, EveryTargetIsInExactlyOneShard) {
    for (int count : {1, 2, 3, 4, 7, 16}) {
        auto all = names(500);
        std::set<std::string> covered;
        std::size_t total = 0;
        for (int index = 0; index < count; ++index) {
            for (const auto& n : all) {
                int s = shard_of(n, count);
                ASSERT_GE(s, 0);
                ASSERT_LT(s, count);
                if (s == index) {
                    EXPECT_TRUE(covered.insert(n).second) << n << " in two shards of " << count;
                    ++total;
                }
            }
        }
        EXPECT_EQ(total, all.size()) << count;
        EXPECT_EQ(covered.size(), all.size()) << count;
    }
}

TEST(FleetShard, AssignmentIsStableAndDependsOnlyOnTheName) {
    // The same name lands in the same shard whatever else the file holds or in what order.
    auto all = names(200);
    std::vector<int> first;
    for (const auto& n : all)
        first.push_back(shard_of(n, 5));
    std::vector<std::string> reversed(all.rbegin(), all.rend());
    for (std::size_t i = 0; i < reversed.size(); ++i)
        EXPECT_EQ(shard_of(reversed[i], 5), first[all.size() - 1 - i]);
    for (std::size_t i = 0; i < all.size(); ++i)
        EXPECT_EQ(shard_of(all[i], 5), first[i]);
}

TEST(FleetShard, ShardsAreRoughlyBalanced) {
    auto all = names(1000);
    std::vector<int> sizes(4, 0);
    for (const auto& n : all)
        ++sizes[static_cast<std::size_t>(shard_of(n, 4))];
    for (int s : sizes) {
        EXPECT_GT(s, 200);
        EXPECT_LT(s, 300);
    }
}

TEST(FleetShard, IndexComesFromTheFlagThenJobCompletionIndex) {
    auto s = resolve_shard(std::nullopt, std::nullopt, 1, "default", {});
    EXPECT_EQ(s.index, 0);
    EXPECT_EQ(s.count, 1);
    s = resolve_shard(std::nullopt, std::nullopt, 4, "rollsafe.toml:3",
                      {{"JOB_COMPLETION_INDEX", "3"}});
    EXPECT_EQ(s.index, 3);
    EXPECT_EQ(s.index_origin, "JOB_COMPLETION_INDEX");
    EXPECT_EQ(s.count, 4);
    EXPECT_EQ(s.count_origin, "rollsafe.toml:3");
    s = resolve_shard(1, 2, 4, "default", {{"JOB_COMPLETION_INDEX", "3"}});
    EXPECT_EQ(s.index, 1);
    EXPECT_EQ(s.count, 2);
    EXPECT_EQ(s.index_origin, "--shard-index");
    EXPECT_EQ(s.count_origin, "--shard-count");
}

TEST(FleetShard, BadShardSettingsAreUsageErrors) {
    auto fails = [](std::optional<int> index, std::optional<int> count, int configured,
                    std::map<std::string, std::string> env, const std::string& part) {
        try {
            resolve_shard(index, count, configured, "default", env);
            ADD_FAILURE() << part;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ExitCode::usage);
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    // An Indexed Job pod whose count was forgotten must not run shard 0's share twice.
    fails(std::nullopt, std::nullopt, 1, {{"JOB_COMPLETION_INDEX", "2"}},
          "shard index 2 (JOB_COMPLETION_INDEX)");
    fails(4, 4, 1, {}, "shard index 4 (--shard-index) is not below the shard count 4");
    fails(std::nullopt, 0, 1, {}, "must be at least 1");
    fails(std::nullopt, std::nullopt, 0, {}, "must be at least 1");
    fails(std::nullopt, std::nullopt, 4, {{"JOB_COMPLETION_INDEX", "x1"}},
          "not a non-negative integer");
}
