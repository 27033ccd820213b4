// How long a PgSandbox takes from nothing to a server that answers a query (cold start), and
// what a fresh database costs when it is copied from a template (the test fixture's per-test
// database), with and without the example shop's schema in the template.
//
//   bench_sandbox_start [starts=5] [template_trials=20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/db/session.h"
#include "core/migrations/reader.h"
#include "core/sandbox/pg_sandbox.h"

using namespace rollsafe;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Stats {
    double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    Stats s;
    if (v.empty())
        return s;
    s.min = v.front();
    s.max = v.back();
    s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    return s;
}

void report(const std::string& what, const std::vector<double>& samples) {
    auto s = stats(samples);
    std::printf("%-58s median %7.1f ms  (min %.1f, max %.1f, n=%zu)\n", what.c_str(), s.median,
                s.min, s.max, samples.size());
}

// Applies the example shop's migrations to a database (the template of the second trial).
std::size_t apply_example(db::Session& s) {
    auto set = read_migrations(std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example/migrations");
    for (const auto& m : set.migrations) {
        if (m.up.no_transaction()) {
            for (const auto& st : m.up.statements)
                s.exec(st.text);
            continue;
        }
        db::Transaction tx(s);
        for (const auto& st : m.up.statements)
            s.exec(st.text);
        tx.commit();
    }
    return set.migrations.size();
}

// Times CREATE DATABASE ... TEMPLATE template_db STRATEGY strategy (PostgreSQL 15: WAL_LOG,
// the default, copies block by block through the WAL; FILE_COPY copies the files after a
// checkpoint) and the DROP after it, `trials` times.
void template_trials(const PgSandbox& sandbox, const std::string& template_db,
                     const std::string& strategy, int trials, const std::string& label) {
    auto admin = db::connect(Dsn::parse(sandbox.conninfo()));
    std::vector<double> create, drop;
    for (int i = 0; i < trials; ++i) {
        std::string name = "bench_copy_" + std::to_string(i);
        auto t0 = Clock::now();
        admin->exec("CREATE DATABASE " + name + " TEMPLATE " + template_db + " STRATEGY " +
                    strategy);
        create.push_back(ms_since(t0));
        t0 = Clock::now();
        admin->exec("DROP DATABASE " + name);
        drop.push_back(ms_since(t0));
    }
    report("CREATE DATABASE ... TEMPLATE " + label + " " + strategy, create);
    report("  DROP DATABASE of that copy", drop);
}

}  // namespace

int main(int argc, char** argv) {
    interrupt::install(interrupt::Mode::exit_after_hooks);  // Ctrl-C removes the clusters
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);
    int starts = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    int trials = argc > 2 ? std::max(1, std::atoi(argv[2])) : 20;
    try {
        std::printf("PostgreSQL server binaries: %s\n", find_pg_server_bindir().c_str());
        std::vector<double> ready, constructor, stop;
        for (int i = 0; i < starts; ++i) {
            auto t0 = Clock::now();
            PgSandbox sandbox;
            constructor.push_back(static_cast<double>(sandbox.startup_time().count()));
            auto s = db::connect(Dsn::parse(sandbox.conninfo()));
            s->exec("SELECT 1");
            ready.push_back(ms_since(t0));
            if (i == 0 && !sandbox.run_as().empty())
                std::printf("running as root: the server runs as user %s\n",
                            sandbox.run_as().c_str());
            s.reset();
            t0 = Clock::now();
            sandbox.stop();
            stop.push_back(ms_since(t0));
        }
        report("sandbox cold start to ready (first query answered)", ready);
        report("  of which PgSandbox constructor (initdb + pg_ctl start)", constructor);
        report("sandbox stop and removal", stop);

        PgSandbox sandbox;
        for (const char* strategy : {"WAL_LOG", "FILE_COPY"})
            template_trials(sandbox, "template0", strategy, trials, "template0");
        sandbox.create_database("shop_template");
        auto s = db::connect(Dsn::parse(sandbox.conninfo("shop_template")));
        auto t0 = Clock::now();
        auto n = apply_example(*s);
        double apply_ms = ms_since(t0);
        s.reset();  // a template must have no connections
        for (const char* strategy : {"WAL_LOG", "FILE_COPY"})
            template_trials(sandbox, "shop_template", strategy, trials,
                            "shop (" + std::to_string(n) + " migrations)");
        std::printf("%-62s %7.1f ms  (n=1)\n",
                    ("applying the " + std::to_string(n) + " example migrations instead").c_str(),
                    apply_ms);
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_sandbox_start: %s\n%s\n", e.what(), e.hint().c_str());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_sandbox_start: %s\n", e.what());
        return 1;
    }
    return 0;
}
