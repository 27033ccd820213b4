#include "core/base/process_identity.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace rollsafe {

std::string host_name() {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "unknown";
    return buf;
}

std::uint64_t process_start_time(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in)
        return 0;
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    auto close = content.rfind(')');
    if (close == std::string::npos)
        return 0;
    std::istringstream rest(content.substr(close + 2));
    std::string field;
    // Fields after the name start at 3 (state); starttime is field 22.
    for (int i = 3; i < 22; ++i)
        rest >> field;
    std::uint64_t start = 0;
    rest >> start;
    return start;
}

ProcessIdentity ProcessIdentity::current() {
    ProcessIdentity id;
    id.host = host_name();
    id.pid = ::getpid();
    id.start_time = process_start_time(id.pid);
    return id;
}

Liveness liveness(const ProcessIdentity& identity) {
    if (identity.host != host_name())
        return Liveness::unknown_other_host;
    auto start = process_start_time(identity.pid);
    if (start == 0)
        return Liveness::dead;
    if (identity.start_time != 0 && start != identity.start_time)
        return Liveness::dead;
    return Liveness::alive;
}

}  // namespace rollsafe
