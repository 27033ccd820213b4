// Benchmark: does a crowd of `rollsafe gate --wait` processes (init containers of a large
// Deployment) slow the migration Job down? Times `rollsafe up` of a migration that does real
// work (a table of --rows rows and an index on it) in three cases, interleaved, each on a fresh
// database of one PgSandbox: alone; with --gates gates started at the same moment (process
// starts and connections compete with up); with the gates already connected and polling when up
// starts. Prints the medians, the ratios (goal <= 1.10) and the peak number of connections the
// gates held. Usage:
//   bench_gate_load [--gates 50] [--rows 2000000] [--rounds 3]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/db/session.h"
#include "core/sandbox/pg_sandbox.h"

using namespace rollsafe;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

ProcessResult rollsafe_cli(const std::string& project, const std::string& url,
                           std::vector<std::string> args) {
    ProcessSpec s;
    s.argv = {ROLLSAFE_BINARY};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.env = {{"DATABASE_URL", url}, {"NO_COLOR", "1"}};
    s.cwd = project;
    return default_process_runner().run(s);
}

}  // namespace

int main(int argc, char** argv) {
    int gates = 50, rows = 2000000, rounds = 3;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
        if (a == "--gates")
            gates = next();
        else if (a == "--rows")
            rows = next();
        else if (a == "--rounds")
            rounds = next();
    }
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);
    PgSandbox sandbox;
    auto work = fs::make_temp_dir(fs::temp_root() + "/rollsafe-bench-XXXXXX");
    fs::make_dirs(work + "/migrations", 0755);
    auto write = [&](const std::string& rel, const std::string& text) {
        fs::write_file_atomic(work + "/" + rel, text, 0644);
    };
    write("releases.toml", "[releases]\n\"v1\" = \"0001\"\n\"v2\" = \"0002\"\n");
    write("migrations/0001_base.up.sql", "CREATE TABLE base (id int);\n");
    write("migrations/0001_base.down.sql", "DROP TABLE base;\n");
    write("migrations/0002_big.up.sql",
          "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, " +
              std::to_string(rows) + ") g;\nCREATE INDEX big_h ON big (h);\n");
    write("migrations/0002_big.down.sql", "DROP TABLE big;\n");

    // Three cases: alone; gates started with up (pods and the Job start together: 50 process
    // starts and connections compete with up); gates already waiting when up starts (polling only).
    enum Case { kAlone, kTogether, kWaiting };
    const char* names[] = {"alone", "gates start", "gates wait"};
    std::vector<double> times[3];
    int peak_overall = 0, failures = 0;
    for (int r = 0; r < rounds; ++r) {
        for (Case which : {kAlone, kTogether, kWaiting}) {
            bool with_gates = which != kAlone;
            std::string name = "g" + std::to_string(r) + "_" + std::to_string(which);
            sandbox.create_database(name);
            std::string url = sandbox.url(name);
            if (!rollsafe_cli(work, url, {"up", "--to", "0001", "--release", "v1", "-q"}).ok()) {
                std::fprintf(stderr, "setup up failed\n");
                return 1;
            }
            std::atomic<bool> sampling{true};
            std::atomic<int> peak{0};
            std::thread sampler([&] {
                auto s = db::connect(Dsn::parse(sandbox.conninfo(name)), {});
                while (sampling) {
                    int n = std::stoi(s->exec("SELECT count(*) FROM pg_stat_activity WHERE "
                                              "application_name = 'bench-gate'")
                                          .get(0, 0));
                    peak = std::max(peak.load(), n);
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
            });
            std::vector<std::thread> crowd;
            std::atomic<int> gate_failures{0};
            if (with_gates) {
                for (int g = 0; g < gates; ++g)
                    crowd.emplace_back([&] {
                        auto res =
                            rollsafe_cli(work, url + "?application_name=bench-gate",
                                         {"gate", "--release", "v2", "--wait", "600s", "-q"});
                        gate_failures += !res.ok();
                    });
            }
            if (which == kWaiting) {
                auto deadline = Clock::now() + std::chrono::seconds(120);
                while (peak.load() < gates && Clock::now() < deadline)
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                std::this_thread::sleep_for(std::chrono::seconds(2));  // past the first polls
            }
            auto t0 = Clock::now();
            auto up =
                rollsafe_cli(work, url, {"up", "--release", "v2", "--snapshot-mode", "none", "-q"});
            double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            for (auto& t : crowd)
                t.join();
            sampling = false;
            sampler.join();
            if (!up.ok()) {
                std::fprintf(stderr, "up failed: %s\n", up.err.c_str());
                return 1;
            }
            failures += gate_failures;
            peak_overall = std::max(peak_overall, peak.load());
            times[which].push_back(seconds);
            std::printf("round %d %-12s up %.2f s, peak gate connections %d\n", r + 1, names[which],
                        seconds, peak.load());
            std::fflush(stdout);
            sandbox.drop_database(name);
        }
    }
    double a = median(times[kAlone]), t = median(times[kTogether]), w = median(times[kWaiting]);
    std::printf("\nup of a %d-row table + index, median of %d rounds (interleaved)\n", rows,
                rounds);
    std::printf("  alone                              %.2f s\n", a);
    std::printf("  %d gates started with up           %.2f s   ratio %.3f (goal <= 1.10)\n", gates,
                t, t / a);
    std::printf("  %d gates already waiting, polling  %.2f s   ratio %.3f (goal <= 1.10)\n", gates,
                w, w / a);
    std::printf("  peak gate connections %d (bound: one per gate, %d)\n", peak_overall, gates);
    std::printf("  gates that did not exit 0: %d\n", failures);
    fs::remove_all(work);
    return failures == 0 ? 0 : 1;
}
