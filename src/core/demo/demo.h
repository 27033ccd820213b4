#pragma once

#include <functional>
#include <string>

namespace rollsafe {

struct DemoOptions {
    std::string binary;       // the rollsafe executable to run each step with
    std::string example_dir;  // migrations-example (empty: search the usual places)
    bool keep = false;        // keep the sandbox and project folder for poking around
    std::string engine = "postgres";  // postgres | sqlite (run_sqlite_demo)
};

// Returns the migrations-example folder: $ROLLSAFE_EXAMPLE_DIR, <binary dir>/../share/rollsafe/
// migrations-example, or the source tree's; throws Error(USAGE) when none exists.
std::string find_example_dir(const std::string& binary, const std::string& preferred = {});

// Walks a whole incident on a throwaway PostgreSQL with migrations-example, printing each
// command before it runs it: deploy the first release, the expand release, the contract
// release; the app fails and is rolled back, gate, rollback --to-release, a table restore, the
// report. Returns 0 when every step ended as expected; throws Error when one did not.
int run_demo(const DemoOptions& options, const std::function<void(const std::string&)>& out);

// The SQLite walk (`demo --engine sqlite`, sqlite_demo.cpp): no PostgreSQL needed. Up with a
// dry run, status, a table restored from a snapshot, a failed migration (exit
// 6), an older image refused (exit 12) then reverting with stored down scripts. Returns 0 when
// every step ended as expected; throws Error when one did not.
int run_sqlite_demo(const DemoOptions& options, const std::function<void(const std::string&)>& out);

// Returns migrations-example-sqlite: $ROLLSAFE_EXAMPLE_SQLITE_DIR, <binary dir>/../share/rollsafe/,
// or the source tree's; throws Error(USAGE) when none exists.
std::string find_sqlite_example_dir(const std::string& binary, const std::string& preferred = {});

}  // namespace rollsafe
