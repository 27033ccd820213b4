#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace rollsafe::fs {

// Reads a whole file; nullopt with errno_out set when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path, int* errno_out = nullptr);
// The same for a name relative to an open directory (openat): reading many files of one folder
// this way spares the kernel a walk of the folder's path for each of them.
std::optional<std::string> read_file_at(int dir_fd, const std::string& name,
                                        int* errno_out = nullptr);

// Writes content to path atomically: a temp file in the same directory, fsync, rename, fsync of
// the directory. The file gets `mode`. Throws Error(INTERNAL) with the path and errno text.
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode = 0600);

// fsyncs a directory so that a rename into it survives a crash; errors are ignored.
void fsync_dir(const std::string& dir);

// Creates dir and its parents with mode (existing directories are left as they are).
// Throws Error(INTERNAL) on failure.
void make_dirs(const std::string& dir, mode_t mode = 0700);

// Removes a file or a directory tree; ignores what does not exist.
void remove_all(const std::string& path);

// Creates a unique directory from a prefix such as "/tmp/rollsafe-XXXXXX"; throws on failure.
std::string make_temp_dir(const std::string& prefix);

// Returns the directory for temporary files ($TMPDIR or /tmp).
std::string temp_root();

bool exists(const std::string& path);

}  // namespace rollsafe::fs
