#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rollsafe {

// Who a process is, in a way that survives pid reuse (containers restart pid numbering): the
// host name, the pid and the process start time in clock ticks since boot.
struct ProcessIdentity {
    std::string host;
    pid_t pid = 0;
    std::uint64_t start_time = 0;

    // Returns this process's identity.
    static ProcessIdentity current();
};

// Returns the start time of pid from /proc, or 0 when there is no such process.
std::uint64_t process_start_time(pid_t pid);

enum class Liveness { alive, dead, unknown_other_host };

// Tells whether the process that identity describes still runs: same host, same pid, same start.
Liveness liveness(const ProcessIdentity& identity);

// Returns the host name (or "unknown").
std::string host_name();

}  // namespace rollsafe
