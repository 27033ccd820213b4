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
    bool tcp = false;        // also listen on 127.0.0.1 (Unix socket only by default)
    std::string bindir;      // PostgreSQL server binaries; empty: discover
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
    void create_database(const std::string& name, const std::string& template_db = "template0") const;
    void drop_database(const std::string& name) const;

    // Stops the server and removes the folder; idempotent and thread-safe.
    void stop();

    const std::string& dir() const { return m_dir; }
    const std::string& socket_dir() const { return m_dir; }
    const std::string& bindir() const { return m_bindir; }
    int port() const { return m_port; }
    const std::string& run_as() const { return m_run_as; }  // "" when the server runs as us
    Millis startup_time() const { return m_startup; }
    // Runs a server program from bindir as the server's user (e.g. psql, pg_dump).
    ProcessResult run_tool(const std::string& tool, std::vector<std::string> args) const;

    // Stops and removes clusters whose owning process is gone; returns how many were swept.
    static int sweep_orphans();

private:
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
