#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace rollsafe {

// Returns the version a new migration gets in dir: the next number, zero-padded like the
// existing ones (0001 when there are none), or a UTC timestamp when the project uses timestamps.
std::string next_version(const std::string& dir, const std::string& layout, std::time_t now);

// Creates the files of a new migration from a template, in the project's layout ("auto"
// detects it; an empty folder gets the native layout). Returns the paths written. Throws
// Error(USAGE) for a bad name or when a file exists.
std::vector<std::string> create_migration(const std::string& dir, const std::string& layout,
                                          const std::string& name, std::time_t now);

}  // namespace rollsafe
