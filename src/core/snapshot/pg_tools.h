#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/dsn.h"
#include "core/base/interrupt.h"
#include "core/base/process.h"

namespace rollsafe::snapshot {

// A client program (pg_dump, pg_restore) and its version.
struct PgTool {
    std::string path;
    int major = 0;
    std::string version;  // "15.4"
};

// Parses the output of `pg_dump --version` ("pg_dump (PostgreSQL) 15.4 (Debian 15.4-1)");
// returns the major number and the version text, or nullopt.
std::optional<std::pair<int, std::string>> parse_tool_version(const std::string& output);

// Finds a client program for a server of major version server_major: in bindir when set, else in
// /usr/lib/postgresql/<server_major>/bin, the newest /usr/lib/postgresql/*/bin, then PATH; runs
// it with --version. Throws Error(SNAPSHOT_FAILED) when none is found or it does not run.
PgTool find_pg_tool(const std::string& name, const std::string& bindir, int server_major,
                    ProcessRunner& runner);

// Throws Error(SNAPSHOT_FAILED) when tool's major version is older than the server's (pg_dump
// refuses newer servers, and an older one would silently miss newer catalog features).
void require_tool_not_older(const PgTool& tool, int server_version_num,
                            const std::string& server_version);

// A private libpq password file for one child process: a 0600 file in a fresh 0700 directory,
// removed on destruction and as soon as SIGTERM/SIGINT arrives. Never put a password in argv.
class PassFile {
  public:
    // Writes the password; throws Error(INTERNAL) when the file cannot be created.
    explicit PassFile(const std::string& password);
    ~PassFile();
    PassFile(const PassFile&) = delete;
    PassFile& operator=(const PassFile&) = delete;

    const std::string& path() const { return m_path; }

  private:
    std::string m_dir;
    std::string m_path;
    interrupt::Hook m_hook;
};

// How a child program reaches the database: a conninfo without the password for its argv and,
// when the DSN has a password, a PassFile named in its environment (PGPASSWORD is unset then,
// since libpq would prefer it).
class ChildConnection {
  public:
    explicit ChildConnection(const Dsn& dsn);

    // Appends --dbname=<conninfo without password> (if any), sets PGPASSFILE in spec.
    void apply(ProcessSpec& spec) const;
    bool has_passfile() const { return m_passfile != nullptr; }
    const std::string& conninfo() const { return m_conninfo; }

  private:
    std::string m_conninfo;
    std::unique_ptr<PassFile> m_passfile;
};

}  // namespace rollsafe::snapshot
