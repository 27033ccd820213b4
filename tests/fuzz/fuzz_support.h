#pragma once
// Helpers shared by the fuzz targets: a scratch folder per fuzzing process (on /dev/shm when
// there is one: the targets that read files write one per input) and plain file writes.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace rollsafe::fuzz {

// Returns this process's scratch folder, created on first use and removed at exit.
inline const std::string& scratch_dir() {
    static const std::string dir = [] {
        std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string tmpl = base + "/rollsafe-fuzz-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            std::abort();
        static std::string to_remove;
        to_remove = tmpl;
        std::atexit([] {
            std::string cmd = "rm -rf '" + to_remove + "'";
            (void)std::system(cmd.c_str());
        });
        return tmpl;
    }();
    return dir;
}

// Writes content to path (no fsync: the fuzzer writes thousands of files a second).
inline void write_plain(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        std::abort();
    std::size_t done = 0;
    while (done < content.size()) {
        auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n <= 0)
            std::abort();
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

}  // namespace rollsafe::fuzz
