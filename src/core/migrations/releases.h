#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/migrations/migration.h"

namespace rollsafe {

// One application release and the last migration version it ships (releases.toml).
struct Release {
    std::string name;
    Version version;
    int line = 0;
};

struct ReleaseFile {
    std::string path;
    bool exists = false;
    std::vector<Release> releases;  // in file order

    // Returns the release with this name, or nullptr.
    const Release* find(const std::string& name) const;
};

// Returns where releases.toml lives for a migrations folder: beside it ("migrations" ->
// "releases.toml", "app/db/migrations" -> "app/db/releases.toml").
std::string releases_path_for(const std::string& migrations_dir);

// Reads releases.toml ([releases] "v1.0.0" = "0002"). A missing file gives exists=false.
// Throws Error(USAGE) with file:line for bad TOML, unknown keys and bad versions.
ReleaseFile read_releases(const std::string& path);

}  // namespace rollsafe
