#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/base/duration.h"
#include "core/base/interrupt.h"
#include "core/base/process.h"

namespace rollsafe {

struct SandboxOptions {
    bool tcp = false;    // also listen on 127.0.0.1 (Unix socket only by default)
    std::string bindir;  // PostgreSQL server binaries; empty: discover
    std::vector<std::pair<std::string, std::string>> settings;  // extra postgresql.conf lines
    std::string superuser = "postgres";
};

// Returns the folder holding initdb and pg_ctl: `pg_config --bindir`, then PATH, then
// /usr/lib/postgresql/<major>/bin newest first. Throws Error(INTERNAL) with a hint when none.
std::string find_pg_server_bindir(const std::string& preferred = {});

// A throwaway PostgreSQL cluster in a temp folder, on a Unix socket in that folder (and on a
// free TCP port of 127.0.0.1 when asked). Built for speed: fsync off, small buffers. Stops and
// removes itself on destruction and when the process is interrupted; clusters left behind by a
// killed owner are swept by the next sandbox that starts. As root, the server runs as the
// unprivileged `postgres` user (initdb refuses root).
class PgSandbox {
  public:
    // Starts the cluster; throws Error(INTERNAL) with the server log's tail when it cannot.
    explicit PgSandbox(SandboxOptions options = {});
    ~PgSandbox();
    PgSandbox(const PgSandbox&) = delete;
    PgSandbox& operator=(const PgSandbox&) = delete;

    // Returns a key=value conninfo for a database of the cluster (no password: trust auth).
    std::string conninfo(const std::string& dbname = "postgres") const;
    // Returns the same as a postgresql:// URL.
    std::string url(const std::string& dbname = "postgres") const;

    // Creates a database (from template0 unless another template is named).
    void create_database(const std::string& name,
                         const std::string& template_db = "template0") const;
    void drop_database(const std::string& name) const;

    // Stops the server and removes the folder; idempotent and thread-safe.
    void stop();

    const std::string& dir() const { return m_dir; }
    const std::string& socket_dir() const { return m_dir; }
    const std::string& bindir() const { return m_bindir; }
    int port() const { return m_port; }
    const std::string& run_as() const { return m_run_as; }  // "" when the server runs as us
    Millis startup_time() const { return m_startup; }
    // Runs a program from bindir (psql, pg_dump, ...) as this process's user, and returns its
    // result; connect it with conninfo() (trust authentication, so no password is involved).
    ProcessResult run_tool(const std::string& tool, std::vector<std::string> args) const;

    // Stops and removes the clusters in the temp folder whose owning process is gone (killed
    // with SIGKILL, say); returns how many were swept. Every new sandbox calls it first.
    static int sweep_orphans();

  private:
    // Writes the owner file, runs initdb and pg_ctl start; throws Error(INTERNAL) on failure.
    void start();
    // Stops the server of a data folder if its postmaster.pid exists: pg_ctl stop -m immediate,
    // then SIGKILL of the postmaster when pg_ctl fails.
    static void stop_server(const std::string& bindir, const std::string& data,
                            const std::string& run_as);
    std::vector<std::string> as_server_user(std::vector<std::string> argv) const;

    SandboxOptions m_options;
    std::string m_dir;
    std::string m_data;
    std::string m_bindir;
    std::string m_run_as;
    int m_port = 0;
    Millis m_startup{0};
    std::mutex m_mutex;
    bool m_running = false;
    interrupt::Hook m_hook;
};

}  // namespace rollsafe
