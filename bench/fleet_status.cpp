// Benchmark: fleet status of N small databases (default 200) on one PgSandbox. Each database is a
// copy of a template with a few applied migrations (one more is pending); the fleet is three
// waves. Timed: the built binary end to end (`rollsafe status --targets targets.toml -o json`,
// a cold process) at the default --parallel and a few others, and the same work in-process
// (read_target_status per target through the fleet runner). Goal: under 2 s end to end.
// Usage: bench_fleet_status [--targets 200] [--rounds 3] [--migrations 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/db/session.h"
#include "core/engine/engine.h"
#include "core/fleet/runner.h"
#include "core/fleet/target_status.h"
#include "core/fleet/targets.h"
#include "core/sandbox/pg_sandbox.h"

using namespace rollsafe;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The machine's 1-minute load average: the figures mean little on a busy machine.
std::string load_average() {
    auto text = fs::read_file("/proc/loadavg");
    return text ? text->substr(0, text->find(' ')) : "?";
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void add_migration(const std::string& dir, int i) {
    char v[16];
    std::snprintf(v, sizeof v, "%04d", i);
    std::string t = "t" + std::to_string(i);
    fs::write_file_atomic(dir + "/" + v + "_" + t + ".up.sql",
                          "CREATE TABLE " + t + " (id bigint PRIMARY KEY, v text);\n", 0644);
    fs::write_file_atomic(dir + "/" + v + "_" + t + ".down.sql", "DROP TABLE " + t + ";\n", 0644);
}

}  // namespace

int main(int argc, char** argv) {
    int targets = 200, rounds = 3, migrations = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--targets"))
            targets = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--migrations"))
            migrations = std::atoi(argv[i + 1]);
    }
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);

    std::printf(
        "fleet status benchmark: %d databases, %d applied migrations + 1 pending each, %d rounds\n",
        targets, migrations, rounds);
    auto t0 = Clock::now();
    SandboxOptions so;
    so.settings = {{"max_connections", std::to_string(std::max(100, targets / 2 + 50))}};
    PgSandbox pg(so);
    std::string dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-bench-fleet-XXXXXX");
    std::string mig = dir + "/migrations";
    fs::make_dirs(mig, 0755);
    for (int i = 1; i <= migrations; ++i)
        add_migration(mig, i);

    // A template at the applied state, copied per target.
    pg.create_database("fleet_template");
    {
        Config c;
        c.database_url = pg.conninfo("fleet_template");
        c.migrations_dir = mig;
        c.snapshot_mode = "none";
        c.lockfile_path = dir + "/rollsafe.lock";
        Engine engine(c);
        auto r = engine.up({});
        if (r.code != ExitCode::ok) {
            std::fprintf(stderr, "template up failed: %s\n", r.message.c_str());
            return 1;
        }
    }
    add_migration(mig, migrations + 1);  // one pending everywhere
    std::string toml;
    for (int i = 0; i < targets; ++i) {
        std::string name = "tenant-" + std::to_string(i);
        // The template's last session may still be closing on the server: retry briefly.
        for (auto deadline = Clock::now() + std::chrono::seconds(10);;) {
            try {
                pg.create_database("fleet_" + std::to_string(i), "fleet_template");
                break;
            } catch (const std::exception&) {
                if (Clock::now() > deadline)
                    throw;
            }
        }
        std::string wave = i < 2 ? "canary" : i < targets / 4 ? "wave-1" : "wave-2";
        toml += "[[target]]\nname = \"" + name + "\"\nurl = \"" +
                pg.url("fleet_" + std::to_string(i)) + "\"\nwave = \"" + wave +
                "\"\nlabels = { region = \"" +
                (i % 3 == 0   ? "eu"
                 : i % 3 == 1 ? "us"
                              : "ap") +
                "\" }\n\n";
    }
    toml += "[waves]\norder = [\"canary\", \"wave-1\", \"wave-2\"]\n";
    fs::write_file_atomic(dir + "/targets.toml", toml, 0644);
    std::printf("set-up: %.1f s (sandbox, template, %d copies)\n\n", seconds_since(t0), targets);

    // End to end: the binary, cold, as a pipeline runs it.
    auto run_cli = [&](const std::vector<std::string>& extra, bool check) {
        ProcessSpec spec;
        spec.argv = {ROLLSAFE_BINARY, "status", "--targets", "targets.toml", "-o", "json", "-q"};
        spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
        spec.cwd = dir;
        spec.unset_env = {"DATABASE_URL", "PGHOST", "PGPORT",
                          "PGDATABASE",   "PGUSER", "ROLLSAFE_CONFIG"};
        auto t = Clock::now();
        auto r = default_process_runner().run(spec);
        double s = seconds_since(t);
        if (r.exit_code != 0) {
            std::fprintf(stderr, "rollsafe status --targets exited %d: %s\n", r.exit_code,
                         r.err.c_str());
            std::exit(1);
        }
        if (check) {
            auto doc = nlohmann::json::parse(r.out);
            int pending_ones = 0;
            for (const auto& t : doc["targets"])
                pending_ones += t["result"]["pending"] == 1;
            if (static_cast<int>(doc["targets"].size()) != targets || pending_ones != targets) {
                std::fprintf(stderr, "unexpected fleet status: %d targets, %d with 1 pending\n",
                             static_cast<int>(doc["targets"].size()), pending_ones);
                std::exit(1);
            }
        }
        return s;
    };
    run_cli({}, true);  // warm the server's caches once
    std::printf("%-48s %10s %10s\n", "case", "median s", "best s");
    double default_median = 0;
    struct Case {
        std::string label;
        std::vector<std::string> args;
        bool whole_fleet;
    };
    const std::vector<Case> cases = {
        {"status --targets (default: 16 at once)", {}, true},
        {"status --targets --parallel 1", {"--parallel", "1"}, true},
        {"status --targets --parallel 4", {"--parallel", "4"}, true},
        {"status --targets --parallel 8", {"--parallel", "8"}, true},
        {"status --targets --select name=tenant-0 (1 db)", {"--select", "name=tenant-0"}, false},
    };
    for (const auto& c : cases) {
        std::vector<double> times;
        for (int r = 0; r < rounds; ++r)
            times.push_back(run_cli(c.args, r == 0 && c.whole_fleet));
        std::printf("%-48s %10.3f %10.3f\n", c.label.c_str(), median(times),
                    *std::min_element(times.begin(), times.end()));
        if (c.args.empty())
            default_median = median(times);
    }

    // In-process: the same reads through the runner, without process start or JSON.
    auto file = fleet::read_targets(dir + "/targets.toml");
    auto rollout = fleet::plan_rollout(file, file.targets, fleet::Shard{});
    Config base;
    base.migrations_dir = mig;
    base.lockfile_path = dir + "/rollsafe.lock";
    for (int parallel : {4, 16}) {
        std::vector<double> times;
        for (int r = 0; r < rounds; ++r) {
            fleet::RunOptions o;
            o.parallel = parallel;
            o.waves_gate = false;
            auto t = Clock::now();
            auto res = fleet::run_rollout(rollout, o, [&](const fleet::Target& target) {
                Engine engine(fleet::target_config(base, target));
                auto ts = fleet::read_target_status(engine);
                fleet::Outcome out;
                out.code = ts.code;
                return out;
            });
            times.push_back(seconds_since(t));
            if (res.ok != targets) {
                std::fprintf(stderr, "in-process status: %d ok of %d\n", res.ok, targets);
                return 1;
            }
        }
        std::string label = "in-process runner (parallel " + std::to_string(parallel) + ")";
        std::printf("%-48s %10.3f %10.3f\n", label.c_str(), median(times),
                    *std::min_element(times.begin(), times.end()));
    }
    std::printf("\nload average %s on %u cores\n", load_average().c_str(),
                std::thread::hardware_concurrency());
    std::printf(
        "goal: fleet status of %d databases under 2 s end to end: %s (%.3f s at the default "
        "--parallel)\n",
        targets, default_median < 2.0 ? "met" : "NOT met", default_median);
    fs::remove_all(dir);
    return default_median < 2.0 ? 0 : 2;
}
