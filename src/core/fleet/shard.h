#pragma once

// Sharding a fleet across the pods of a Kubernetes Indexed Job: each pod takes the targets whose
// name hashes to its index, so N pods cover every target exactly once, whatever order they run in.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace rollsafe::fleet {

// Returns the 64-bit FNV-1a hash of a target name. A contract (docs/fleet.md): scripts may
// compute which pod holds a target, so it never changes.
std::uint64_t name_hash(const std::string& name);

// Returns the shard (0 .. count-1) that owns a target name; count must be at least 1.
int shard_of(const std::string& name, int count);

// The shard this run takes, and where its index and count came from (for reports).
struct Shard {
    int index = 0;
    int count = 1;
    std::string index_origin = "default";  // "--shard-index", "JOB_COMPLETION_INDEX" or "default"
    std::string count_origin = "default";  // "--shard-count" or the configuration's origin
};

// Resolves this run's shard: the index from the flag, else JOB_COMPLETION_INDEX (set by an
// Indexed Job), else 0; the count from the flag, else the configured fleet.shard_count. Throws
// Error(USAGE) for non-numbers, a count below 1 and an index that is not below the count.
Shard resolve_shard(std::optional<int> index_flag, std::optional<int> count_flag,
                    int configured_count, const std::string& configured_count_origin,
                    const std::map<std::string, std::string>& env);

}  // namespace rollsafe::fleet
