#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/duration.h"

namespace rollsafe {

// What to run: always an argv vector, never a shell string. Secrets go in env, never argv.
struct ProcessSpec {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env;  // set or override in the child
    std::vector<std::string> unset_env;
    std::string stdin_data;
    std::string stdout_path;  // when set, stdout goes to this file (created 0600), not captured
    Millis timeout{0};        // 0: none; on expiry the child gets SIGTERM, then SIGKILL
    bool new_process_group = false;       // keep terminal signals (Ctrl-C) away from the child
    bool kill_on_interrupt = true;        // SIGTERM the child when rollsafe is interrupted
    std::function<void()> on_tick;        // called about every 200 ms while the child runs
    std::function<void(pid_t)> on_start;  // called once the child runs (tests use the pid)
    std::string cwd;                      // working directory of the child; empty: ours
    bool merge_stderr = false;            // stderr into the captured stdout, in the order written
};

struct ProcessResult {
    int exit_code = -1;   // the child's exit status, or -1 when it did not exit normally
    int term_signal = 0;  // the signal that ended it, or 0
    bool timed_out = false;
    bool interrupted = false;
    std::string out;
    std::string err;

    bool ok() const { return exit_code == 0; }
    // Returns "exited with 1: <last stderr line>" or "killed by signal 9".
    std::string describe() const;
};

// Runs child processes. The real one uses posix_spawn; tests substitute a fake.
class ProcessRunner {
  public:
    virtual ~ProcessRunner() = default;
    // Runs spec to completion; throws Error(INTERNAL) only when the child cannot be started.
    virtual ProcessResult run(const ProcessSpec& spec) = 0;
};

class PosixProcessRunner : public ProcessRunner {
  public:
    ProcessResult run(const ProcessSpec& spec) override;
};

// Returns the process-wide real runner.
ProcessRunner& default_process_runner();

// Finds an executable by name on PATH; returns the full path or nullopt.
std::optional<std::string> find_on_path(const std::string& name);

}  // namespace rollsafe
