// Benchmark: `rollsafe up` of N one-table migrations against the floor (one psql session running
// BEGIN; DDL; INSERT history; COMMIT per migration) and, when installed, dbmate; then `rollsafe
// status` on M applied migrations, cold process. Cases run interleaved (A B C A B C ...) on one
// PgSandbox; medians and ratios are printed. Usage:
//   bench_apply_status [--migrations 500] [--rounds 3] [--status-migrations 1000] [--dbmate PATH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/sandbox/pg_sandbox.h"

using namespace rollsafe;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double run_timed(const ProcessSpec& spec) {
    auto t0 = Clock::now();
    auto r = default_process_runner().run(spec);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok()) {
        std::fprintf(stderr, "command failed (%s): %s\n", spec.argv[0].c_str(), r.err.c_str());
        std::exit(1);
    }
    return s;
}

void write_project(const std::string& dir, int n, bool dbmate_layout) {
    fs::make_dirs(dir, 0755);
    for (int i = 1; i <= n; ++i) {
        char v[16];
        std::snprintf(v, sizeof v, "%06d", i);
        std::string table = "t" + std::to_string(i);
        std::string up = "CREATE TABLE " + table + " (id bigint PRIMARY KEY, v text);\n";
        std::string down = "DROP TABLE " + table + ";\n";
        if (dbmate_layout) {
            fs::write_file_atomic(dir + "/" + v + "_" + table + ".sql",
                                  "-- migrate:up\n" + up + "\n-- migrate:down\n" + down, 0644);
        } else {
            fs::write_file_atomic(dir + "/" + v + "_" + table + ".up.sql", up, 0644);
            fs::write_file_atomic(dir + "/" + v + "_" + table + ".down.sql", down, 0644);
        }
    }
}

std::string floor_script(int n) {
    std::string s =
        "CREATE TABLE bench_history (version text PRIMARY KEY, applied_at timestamptz DEFAULT "
        "now());\n";
    for (int i = 1; i <= n; ++i) {
        std::string t = "t" + std::to_string(i);
        s += "BEGIN;\nCREATE TABLE " + t +
             " (id bigint PRIMARY KEY, v text);\nINSERT INTO bench_history (version) VALUES ('" +
             std::to_string(i) + "');\nCOMMIT;\n";
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    int n = 500, rounds = 3, status_n = 1000;
    std::string dbmate;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--migrations")
            n = std::stoi(next());
        else if (a == "--rounds")
            rounds = std::stoi(next());
        else if (a == "--status-migrations")
            status_n = std::stoi(next());
        else if (a == "--dbmate")
            dbmate = next();
    }
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);
    PgSandbox sandbox;
    std::printf("PgSandbox ready in %lld ms (cold start)\n",
                static_cast<long long>(sandbox.startup_time().count()));
    auto work = fs::make_temp_dir(fs::temp_root() + "/rollsafe-bench-XXXXXX");
    write_project(work + "/native", n, false);
    write_project(work + "/dbmate", n, true);
    fs::write_file_atomic(work + "/floor.sql", floor_script(n), 0644);
    std::string psql = sandbox.bindir() + "/psql";

    std::vector<double> t_rollsafe, t_floor, t_dbmate;
    int db = 0;
    for (int r = 0; r < rounds; ++r) {
        {
            std::string name = "b" + std::to_string(db++);
            sandbox.create_database(name);
            ProcessSpec s;
            s.argv = {ROLLSAFE_BINARY, "up", "--migrations", work + "/native", "--snapshot-mode",
                      "none",          "-q"};
            s.env = {{"DATABASE_URL", sandbox.url(name)}};
            t_rollsafe.push_back(run_timed(s));
        }
        {
            std::string name = "b" + std::to_string(db++);
            sandbox.create_database(name);
            ProcessSpec s;
            s.argv = {psql,
                      "-X",
                      "-q",
                      "-v",
                      "ON_ERROR_STOP=1",
                      "-d",
                      sandbox.conninfo(name),
                      "-f",
                      work + "/floor.sql"};
            t_floor.push_back(run_timed(s));
        }
        if (!dbmate.empty()) {
            std::string name = "b" + std::to_string(db++);
            sandbox.create_database(name);
            ProcessSpec s;
            std::string url = "postgres://postgres@/" + name + "?socket=" + sandbox.socket_dir() +
                              "&port=" + std::to_string(sandbox.port()) + "&sslmode=disable";
            s.argv = {
                dbmate, "--url", url, "--migrations-dir", work + "/dbmate", "--no-dump-schema",
                "up"};
            t_dbmate.push_back(run_timed(s));
        }
    }
    double mr = median(t_rollsafe), mf = median(t_floor);
    std::printf("\napply %d one-table migrations, %d rounds interleaved (median seconds)\n", n,
                rounds);
    std::printf("  floor (psql, BEGIN; DDL; INSERT history; COMMIT)  %.3f s\n", mf);
    std::printf(
        "  rollsafe up                                        %.3f s   rollsafe/floor = %.2fx "
        "(goal <= 1.15x)\n",
        mr, mr / mf);
    if (!t_dbmate.empty()) {
        double md = median(t_dbmate);
        std::printf(
            "  dbmate up                                          %.3f s   rollsafe/dbmate = "
            "%.2fx\n",
            md, mr / md);
    }

    // status on status_n applied migrations, cold process each time.
    auto status_dir = work + "/status";
    write_project(status_dir, status_n, false);
    sandbox.create_database("status");
    {
        ProcessSpec s;
        s.argv = {ROLLSAFE_BINARY, "up", "--migrations", status_dir, "--snapshot-mode",
                  "none",          "-q"};
        s.env = {{"DATABASE_URL", sandbox.url("status")}};
        run_timed(s);
    }
    std::vector<double> t_status;
    for (int i = 0; i < 10; ++i) {
        ProcessSpec s;
        s.argv = {ROLLSAFE_BINARY, "status", "--migrations", status_dir, "-o", "json"};
        s.env = {{"DATABASE_URL", sandbox.url("status")}};
        t_status.push_back(run_timed(s));
    }
    double ms = median(t_status) * 1000;
    std::printf(
        "\nstatus on %d applied migrations, cold process, median of 10: %.1f ms (goal < 50 ms)\n",
        status_n, ms);
    fs::remove_all(work);
    return 0;
}
