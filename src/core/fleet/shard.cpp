#include "core/fleet/shard.h"

#include <algorithm>
#include <cctype>

#include "core/base/error.h"

namespace rollsafe::fleet {

std::uint64_t name_hash(const std::string& name) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : name) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

int shard_of(const std::string& name, int count) {
    if (count <= 1)
        return 0;
    return static_cast<int>(name_hash(name) % static_cast<std::uint64_t>(count));
}

Shard resolve_shard(std::optional<int> index_flag, std::optional<int> count_flag,
                    int configured_count, const std::string& configured_count_origin,
                    const std::map<std::string, std::string>& env) {
    Shard s;
    if (count_flag) {
        s.count = *count_flag;
        s.count_origin = "--shard-count";
    } else {
        s.count = configured_count;
        s.count_origin = configured_count_origin;
    }
    if (s.count < 1)
        throw usage_error("shard count " + std::to_string(s.count) + " (" + s.count_origin +
                              ") must be at least 1",
                          "use the Job's completions, e.g. --shard-count 4");
    if (index_flag) {
        s.index = *index_flag;
        s.index_origin = "--shard-index";
    } else if (auto it = env.find("JOB_COMPLETION_INDEX"); it != env.end() && !it->second.empty()) {
        const auto& v = it->second;
        if (v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
            }))
            throw usage_error("JOB_COMPLETION_INDEX \"" + v + "\" is not a non-negative integer",
                              "Kubernetes sets it in Indexed Jobs; pass --shard-index to override");
        s.index = std::stoi(v);
        s.index_origin = "JOB_COMPLETION_INDEX";
    }
    if (s.index < 0 || s.index >= s.count)
        throw usage_error("shard index " + std::to_string(s.index) + " (" + s.index_origin +
                              ") is not below the shard count " + std::to_string(s.count) + " (" +
                              s.count_origin + ")",
                          "set --shard-count or fleet.shard_count (ROLLSAFE_FLEET_SHARD_COUNT) to "
                          "the Job's completions");
    return s;
}

}  // namespace rollsafe::fleet
