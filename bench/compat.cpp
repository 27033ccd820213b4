// What the dynamic compatibility layers of `rollsafe check` cost (docs/compatibility.md):
//   1. PgSandbox cold start to ready            goal <= 1.5 s
//   2. a template trial (CREATE DATABASE ... TEMPLATE <before>, the example's schema)   goal <= 0.2 s
//   3. a full `rollsafe check --blue --green` on migrations-example, per release step   goal < 3 s
//   4. the cost per pending migration: 10, 100 and 500 generated migrations, and the slope
//   5. `up` with check.layers against plain `up` (the reason it is opt-in)
//
//   bench_compat [starts=5] [trials=20] [check_runs=3]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/compat/compat.h"
#include "core/db/session.h"
#include "core/migrations/reader.h"
#include "core/migrations/releases.h"
#include "core/sandbox/pg_sandbox.h"

using namespace rollsafe;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kExample = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example";

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void line(const std::string& what, const std::vector<double>& samples, double goal_ms) {
    double m = median(samples);
    double lo = *std::min_element(samples.begin(), samples.end()), hi = *std::max_element(samples.begin(), samples.end());
    std::printf("%-60s median %8.1f ms (min %.1f, max %.1f, n=%zu)", what.c_str(), m, lo, hi, samples.size());
    if (goal_ms > 0) std::printf("  goal %.0f ms: %.2fx %s", goal_ms, m / goal_ms, m <= goal_ms ? "ok" : "OVER");
    std::printf("\n");
}

// Runs the built binary (a clean environment but PATH) and returns its wall time and exit code.
std::pair<double, int> run_binary(const std::vector<std::string>& args, const std::string& cwd,
                                  const std::vector<std::pair<std::string, std::string>>& env = {}) {
    ProcessSpec spec;
    spec.argv = {ROLLSAFE_BINARY};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.cwd = cwd;
    spec.env = env;
    spec.unset_env = {"DATABASE_URL", "ROLLSAFE_CHECK_LAYERS"};
    auto t0 = Clock::now();
    auto r = default_process_runner().run(spec);
    return {ms_since(t0), r.exit_code};
}

// Pending migrations for the slope: each adds a table with an index, or a column, to a schema
// that grows as they apply (what a real project's history looks like).
struct Generated {
    std::deque<Migration> migrations;
    std::vector<const Migration*> applied, pending;
};

Generated generate(int n) {
    Generated g;
    std::vector<Diagnostic> problems;
    auto add = [&](int version, const std::string& up, const std::string& down, bool applied) {
        Migration m;
        m.version = *Version::parse(std::to_string(version));
        m.name = "m" + std::to_string(version);
        m.up = make_script("gen/" + m.id() + ".up.sql", up, 1, problems);
        m.down = make_script("gen/" + m.id() + ".down.sql", down, 1, problems);
        g.migrations.push_back(std::move(m));
        (applied ? g.applied : g.pending).push_back(&g.migrations.back());
    };
    add(1, "CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL);", "DROP TABLE items;",
        true);
    for (int i = 0; i < n; ++i) {
        std::string t = "t" + std::to_string(i);
        if (i % 2 == 0)
            add(i + 2, "CREATE TABLE " + t + " (id bigint PRIMARY KEY, item_id bigint REFERENCES items, v text);\n"
                       "CREATE INDEX " + t + "_v_idx ON " + t + " (v);",
                "DROP TABLE " + t + ";", false);
        else
            add(i + 2, "ALTER TABLE items ADD COLUMN c" + std::to_string(i) + " text;",
                "ALTER TABLE items DROP COLUMN c" + std::to_string(i) + ";", false);
    }
    if (!problems.empty()) throw Error(ExitCode::internal, problems.front().location_and_message());
    return g;
}

}  // namespace

int main(int argc, char** argv) {
    interrupt::install(interrupt::Mode::exit_after_hooks);
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);
    int starts = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    int trials = argc > 2 ? std::max(1, std::atoi(argv[2])) : 20;
    int check_runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
    try {
        std::printf("bench_compat: PostgreSQL server binaries in %s; %ld cores online\n", find_pg_server_bindir().c_str(),
                    sysconf(_SC_NPROCESSORS_ONLN));

        // 1. Cold start.
        std::vector<double> ready;
        for (int i = 0; i < starts; ++i) {
            auto t0 = Clock::now();
            PgSandbox sandbox;
            db::connect(Dsn::parse(sandbox.conninfo()))->exec("SELECT 1");
            ready.push_back(ms_since(t0));
        }
        line("1. PgSandbox cold start to first query", ready, 1500);

        // 2. Template trials on the example's schema before its newest release.
        PgSandbox sandbox;
        auto set = read_migrations(kExample + "/migrations");
        auto releases = read_releases(kExample + "/releases.toml");
        sandbox.create_database("before");
        {
            auto s = db::connect(Dsn::parse(sandbox.conninfo("before")));
            const Version& upto = releases.releases[releases.releases.size() - 2].version;
            for (const auto& m : set.migrations) {
                if (upto < m.version) break;
                for (const auto& st : m.up.statements) s->exec(st.text);
            }
        }
        auto admin = db::connect(Dsn::parse(sandbox.conninfo()));
        for (const char* strategy : {"WAL_LOG", "FILE_COPY"}) {
            std::vector<double> copy;
            for (int i = 0; i < trials; ++i) {
                auto t0 = Clock::now();
                admin->exec(std::string("CREATE DATABASE trial TEMPLATE before STRATEGY ") + strategy);
                copy.push_back(ms_since(t0));
                admin->exec("DROP DATABASE trial");
            }
            line(std::string("2. template trial: CREATE DATABASE ... TEMPLATE (") + strategy + ")", copy,
                 std::string(strategy) == "WAL_LOG" ? 200 : 0);
        }

        // 3. The full check on the example, as CI runs it.
        for (std::size_t i = 1; i < releases.releases.size(); ++i) {
            std::vector<double> wall;
            int code = 0;
            for (int k = 0; k < check_runs; ++k) {
                auto [ms, rc] = run_binary({"check", "--blue", releases.releases[i - 1].name, "--green",
                                            releases.releases[i].name, "-q"},
                                           kExample);
                wall.push_back(ms);
                code = rc;
            }
            line("3. check --blue " + releases.releases[i - 1].name + " --green " + releases.releases[i].name +
                     " (exit " + std::to_string(code) + ")",
                 wall, 3000);
        }
        {
            std::vector<double> wall;
            for (int k = 0; k < check_runs; ++k)
                wall.push_back(run_binary({"check", "--blue", releases.releases.front().name, "--green",
                                           releases.releases.back().name, "--layers", "rules", "-q"},
                                          kExample)
                                   .first);
            line("   the same, rules only (no scratch database)", wall, 0);
        }

        // 4. Cost per pending migration (scratch databases on a running sandbox: no start-up).
        std::printf("4. pending migrations (diff + contracts; diff + contracts + roundtrip), scratch on a running server\n");
        auto dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-bench-compat-XXXXXX");
        fs::make_dirs(dir + "/contracts", 0755);
        {
            std::string contract =
                "SELECT id, title FROM items WHERE id = $1;\nINSERT INTO items (title) VALUES ($1) RETURNING id;\n"
                "UPDATE items SET title = $1 WHERE id = $2;\nDELETE FROM items WHERE id = $1;\nSELECT count(*) FROM items;\n";
            fs::write_file_atomic(dir + "/contracts/blue.sql", contract, 0644);
            fs::write_file_atomic(dir + "/contracts/green.sql", contract, 0644);
        }
        std::vector<std::pair<int, double>> points[2];
        for (int n : {10, 100, 500}) {
            auto g = generate(n);
            for (int with_roundtrip = 0; with_roundtrip < 2; ++with_roundtrip) {
                compat::Request req;
                req.applied = g.applied;
                req.pending = g.pending;
                req.blue = "blue";
                req.green = "green";
                req.contracts_dir = dir + "/contracts";
                req.layers = compat::parse_layers(with_roundtrip ? "diff,contracts,roundtrip" : "diff,contracts");
                req.dev_url = sandbox.url("postgres");
                auto t0 = Clock::now();
                auto r = compat::run(req);
                double ms = ms_since(t0);
                points[with_roundtrip].emplace_back(n, ms);
                std::printf("   %3d pending, %-26s %9.1f ms total, %6.2f ms per migration (%d errors)\n", n,
                            with_roundtrip ? "diff,contracts,roundtrip:" : "diff,contracts:", ms, ms / n, r.errors());
            }
        }
        for (int k = 0; k < 2; ++k) {
            // Least-squares slope over the three sizes: the marginal cost of one more migration.
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (auto [x, y] : points[k]) {
                sx += x;
                sy += y;
                sxx += double(x) * x;
                sxy += double(x) * y;
            }
            double n = static_cast<double>(points[k].size());
            double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
            double s_small = (points[k][1].second - points[k][0].second) / (points[k][1].first - points[k][0].first);
            double s_large = (points[k][2].second - points[k][1].second) / (points[k][2].first - points[k][1].first);
            std::printf("   slope (%s): %.2f ms per additional migration (10->100: %.2f, 100->500: %.2f; ratio %.2f)\n",
                        k ? "with roundtrip" : "diff,contracts", slope, s_small, s_large, s_large / s_small);
        }
        fs::remove_all(dir);

        // 5. `up` with and without check.layers on a copy of the example (fresh database each run).
        std::printf("5. up of migrations-example into an empty database\n");
        for (const char* layers : {"rules", "rules,diff,contracts"}) {
            std::vector<double> wall;
            for (int k = 0; k < check_runs; ++k) {
                std::string db = "up_" + std::to_string(k) + (std::string(layers) == "rules" ? "_r" : "_d");
                sandbox.create_database(db);
                auto [ms, rc] = run_binary({"up", "-q", "--snapshot-mode", "none", "--lockfile", ""}, kExample,
                                           {{"DATABASE_URL", sandbox.url(db)}, {"ROLLSAFE_CHECK_LAYERS", layers}});
                if (rc != 0) std::printf("   (up exited %d)\n", rc);
                wall.push_back(ms);
            }
            line(std::string("   check.layers = ") + layers, wall, 0);
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_compat: %s\n%s\n", e.what(), e.hint().c_str());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_compat: %s\n", e.what());
        return 1;
    }
    return 0;
}
