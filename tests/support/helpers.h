#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/db/session.h"
#include "core/sandbox/pg_sandbox.h"

namespace rollsafe::test {

// The throwaway cluster of this test binary (started once by db_main.cpp).
PgSandbox& cluster();

// A fresh database for one test, dropped afterwards.
class TestDb {
  public:
    TestDb();
    ~TestDb();
    const std::string& name() const { return m_name; }
    std::string conninfo() const;
    std::string url() const;
    std::unique_ptr<db::Session> connect() const;
    // Runs sql and returns the first column of the first row ("" when none or NULL).
    std::string scalar(const std::string& sql) const;

  private:
    std::string m_name;
};

// A scratch folder for one test, removed afterwards. Mode 0755, so that a test can run a
// program in it as the unprivileged postgres user.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return m_path; }
    // Writes a file below the folder (creating parent folders); returns its full path.
    std::string write(const std::string& relative, const std::string& content) const;
    std::string operator/(const std::string& relative) const { return m_path + "/" + relative; }

  private:
    std::string m_path;
};

struct CliResult {
    int code = -1;
    std::string out;
    std::string err;
    std::string all() const { return out + err; }
};

struct CliOptions {
    std::map<std::string, std::string> env;  // added to a clean environment
    std::string cwd;
    std::string stdin_data;
    std::function<void(pid_t)> on_start;
};

// Runs the built rollsafe binary as a user would and returns its exit code and output. The
// environment is cleared of ROLLSAFE_*, DATABASE_URL and PG* first.
CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options = {});

// The built rollsafe binary running in the background, for tests that signal it or watch its
// output while it runs. The environment is cleaned as in run_cli; `argv_prefix` (e.g.
// {"runuser", "-u", "postgres", "--"}) goes before the binary, and `binary` replaces the built
// one (a copy elsewhere, say). Killed (SIGKILL) and reaped on destruction if still running.
class CliProcess {
  public:
    explicit CliProcess(const std::vector<std::string>& args, const CliOptions& options = {},
                        const std::vector<std::string>& argv_prefix = {},
                        const std::string& binary = ROLLSAFE_BINARY);
    ~CliProcess();
    CliProcess(const CliProcess&) = delete;
    CliProcess& operator=(const CliProcess&) = delete;

    pid_t pid() const { return m_pid; }
    // Returns what the process wrote to stdout so far (see wait_for_stdout).
    const std::string& out() const { return m_result.out; }
    // Reads output until done(stdout so far) holds; returns false when the process ends or the
    // timeout passes first.
    bool wait_for_stdout(const std::function<bool(const std::string&)>& done,
                         std::chrono::milliseconds timeout);
    // The same over stdout and stderr together (CliResult::all).
    bool wait_for_output(const std::function<bool(const std::string&)>& done,
                         std::chrono::milliseconds timeout);
    // Sends a signal to the process.
    void signal(int sig) const;
    // Waits for the process to end (SIGKILL after the timeout) and returns its code and output.
    CliResult wait(std::chrono::milliseconds timeout);

  private:
    // Reads what is available for up to `slice`; returns false once both pipes are closed.
    bool pump(std::chrono::milliseconds slice);
    // Pumps output until done() holds; false when the process ends or the timeout passes first.
    bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout);

    pid_t m_pid = -1;
    int m_out = -1;
    int m_err = -1;
    bool m_reaped = false;
    CliResult m_result;
};

// Polls cond every 20 ms until it holds or the timeout passes; returns its last value.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Returns true while pid runs (a zombie counts as gone).
bool process_running(pid_t pid);

// Returns the pids of processes whose command line or working folder mentions path.
std::vector<pid_t> processes_using(const std::string& path);

// Reads a whole file ("" when missing).
std::string read(const std::string& path);

}  // namespace rollsafe::test
