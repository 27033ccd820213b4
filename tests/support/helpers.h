#pragma once

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

// A scratch folder for one test, removed afterwards.
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

// Reads a whole file ("" when missing).
std::string read(const std::string& path);

}  // namespace rollsafe::test
