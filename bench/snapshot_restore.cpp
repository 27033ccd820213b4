// Benchmark: the cost of rollsafe's snapshots and table restore against their floors, on one
// PgSandbox. A database holds a large table that the migration does not touch and a small one
// that it does:
//   - `rollsafe up` (touched snapshot + the migration) vs `pg_dump -Fc -t <touched table>` alone
//     (the floor: target <= 1.3x) and vs a full `pg_dump -Fc` (target >= 20x faster);
//   - `rollsafe restore --table` (swap) of a mid-size table vs a bare `pg_restore -t` of it into
//     an empty database (target <= 1.5x).
// Cases run interleaved; medians of --runs are printed with the ratios. Usage:
//   bench_snapshot_restore [--big-mb 1024] [--touched-mb 10] [--restore-mb 100] [--runs 5]
// A smaller --big-mb (e.g. 200) runs faster; the output says which sizes were used.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

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

double run_timed(ProcessSpec spec) {
    auto t0 = Clock::now();
    auto r = default_process_runner().run(spec);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok()) {
        std::fprintf(stderr, "command failed (%s %s): %s\n%s\n", spec.argv[0].c_str(),
                     spec.argv.size() > 1 ? spec.argv[1].c_str() : "", r.describe().c_str(),
                     r.err.c_str());
        std::exit(1);
    }
    return s;
}

long long arg(int argc, char** argv, const char* name, long long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return std::atoll(argv[i + 1]);
    return fallback;
}

std::string mb(long long bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

// Fills a table with rows of about 190 bytes (hex text that compresses like real data) until it
// reaches the size asked for.
void fill(db::Session& s, const std::string& table, long long target_mb) {
    long long rows = target_mb * 1024 * 1024 / 190;
    const long long batch = 200000;
    for (long long from = 1; from <= rows; from += batch) {
        long long to = std::min(rows, from + batch - 1);
        s.exec("INSERT INTO " + table +
               " SELECT g, (g % 5000)::int, md5(g::text) || md5((g * 3)::text) || "
               "md5((g * 7)::text) || md5((g * 11)::text), now() - (g || ' s')::interval FROM "
               "generate_series(" +
               std::to_string(from) + ", " + std::to_string(to) + ") g");
    }
    s.exec("VACUUM ANALYZE " + table);
}

}  // namespace

int main(int argc, char** argv) {
    log::Options lo;
    lo.verbosity = -1;
    log::init(lo);
    long long big_mb = arg(argc, argv, "--big-mb", 1024);
    long long touched_mb = arg(argc, argv, "--touched-mb", 10);
    long long restore_mb = arg(argc, argv, "--restore-mb", 100);
    int runs = static_cast<int>(arg(argc, argv, "--runs", 5));

    SandboxOptions so;
    so.settings = {
        {"shared_buffers", "256MB"}, {"max_wal_size", "8GB"}, {"maintenance_work_mem", "256MB"}};
    PgSandbox pg(so);
    pg.create_database("bench");
    std::string url = pg.url("bench");
    auto s = db::connect(Dsn::parse(pg.conninfo("bench")), {});
    const char* ddl =
        " (id bigint PRIMARY KEY, customer int NOT NULL, payload text NOT NULL, created "
        "timestamptz NOT NULL)";
    std::fprintf(stderr, "filling: big %lld MB, touched %lld MB, restore %lld MB ...\n", big_mb,
                 touched_mb, restore_mb);
    for (const char* t : {"big", "touched", "mid"})
        s->exec(std::string("CREATE TABLE ") + t + ddl);
    s->exec("CREATE INDEX mid_customer_idx ON mid (customer)");
    fill(*s, "big", big_mb);
    fill(*s, "touched", touched_mb);
    fill(*s, "mid", restore_mb);
    auto size = [&](const std::string& t) {
        return std::stoll(s->exec("SELECT pg_table_size('" + t + "')").get(0, 0));
    };

    std::string work = fs::make_temp_dir(fs::temp_root() + "/rollsafe-bench-snap-XXXXXX");
    fs::make_dirs(work + "/migrations", 0755);
    auto rollsafe = [&](std::vector<std::string> args) {
        ProcessSpec spec;
        spec.argv = {ROLLSAFE_BINARY};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        spec.env = {{"DATABASE_URL", url}, {"NO_COLOR", "1"}};
        spec.cwd = work;
        return spec;
    };
    auto tool = [&](const std::string& name, std::vector<std::string> args) {
        ProcessSpec spec;
        spec.argv = {pg.bindir() + "/" + name};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        return spec;
    };
    auto migration = [&](int i) {
        char v[16];
        std::snprintf(v, sizeof v, "%04d", i);
        std::string col = "c" + std::to_string(i);
        fs::write_file_atomic(work + "/migrations/" + v + "_add_" + col + ".up.sql",
                              "ALTER TABLE touched ADD COLUMN " + col + " int;\n", 0644);
        fs::write_file_atomic(work + "/migrations/" + v + "_add_" + col + ".down.sql",
                              "ALTER TABLE touched DROP COLUMN " + col + ";\n", 0644);
    };
    // Warm-up: rollsafe's own tables, caches.
    migration(1);
    run_timed(rollsafe({"up"}));

    std::vector<double> up, floor_dump;
    for (int i = 0; i < runs; ++i) {
        migration(i + 2);
        up.push_back(run_timed(rollsafe({"up"})));
        floor_dump.push_back(
            run_timed(tool("pg_dump", {"-Fc", "-t", "public.touched", "-f", work + "/floor.dump",
                                       pg.conninfo("bench")})));
    }
    double full =
        run_timed(tool("pg_dump", {"-Fc", "-f", work + "/full.dump", pg.conninfo("bench")}));

    // Restore: a snapshot of mid, verified once; then swap vs bare pg_restore -t into an empty db.
    ProcessSpec create = rollsafe({"snapshot", "create", "--table", "mid", "-o", "json"});
    auto created = default_process_runner().run(create);
    if (!created.ok()) {
        std::fprintf(stderr, "snapshot create failed: %s\n", created.err.c_str());
        return 1;
    }
    std::string id = created.out.substr(created.out.find("\"id\": \"") + 7, 22);
    std::string archive = work + "/.rollsafe/snapshots/" + id + ".dump";
    double verify = run_timed(rollsafe({"snapshot", "verify", id}));
    std::vector<double> restore, bare;
    for (int i = 0; i < runs; ++i) {
        pg.drop_database("empty");
        pg.create_database("empty");
        bare.push_back(
            run_timed(tool("pg_restore", {"-d", pg.conninfo("empty"), "-t", "mid", archive})));
        restore.push_back(
            run_timed(rollsafe({"restore", "--snapshot", id, "--table", "mid", "--yes"})));
        auto aside = s->exec(
            "SELECT relname FROM pg_class WHERE relname LIKE 'mid\\_rollsafe\\_%' AND relkind = "
            "'r'");
        for (std::size_t k = 0; k < aside.size(); ++k)
            s->exec("DROP TABLE " + aside.get(k, 0));
    }

    double up_m = median(up), floor_m = median(floor_dump), restore_m = median(restore),
           bare_m = median(bare);
    std::printf("snapshot/restore benchmark (%d runs each, medians; %d cores)\n", runs,
                static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
    std::printf("  tables: big %s (untouched), touched %s, mid %s (restored)%s\n",
                mb(size("big")).c_str(), mb(size("touched")).c_str(), mb(size("mid")).c_str(),
                big_mb < 1024 ? "  [smaller than the 1 GB of the target: --big-mb]" : "");
    std::printf("  rollsafe up (touched snapshot + migration)   %8.3f s\n", up_m);
    std::printf("  pg_dump -Fc -t touched (floor)                %8.3f s\n", floor_m);
    std::printf("  pg_dump -Fc full                              %8.3f s\n", full);
    std::printf("  rollsafe restore --table mid (swap)           %8.3f s\n", restore_m);
    std::printf("  pg_restore -t mid into an empty database      %8.3f s\n", bare_m);
    std::printf("  rollsafe snapshot verify (once, full read)    %8.3f s\n", verify);
    std::printf("ratios\n");
    std::printf("  up / floor            %6.2fx   (target <= 1.3x)  %s\n", up_m / floor_m,
                up_m / floor_m <= 1.3 ? "ok" : "MISSED");
    std::printf("  full dump / up        %6.1fx   (target >= 20x)   %s\n", full / up_m,
                full / up_m >= 20 ? "ok" : "MISSED");
    std::printf("  restore / pg_restore  %6.2fx   (target <= 1.5x)  %s\n", restore_m / bare_m,
                restore_m / bare_m <= 1.5 ? "ok" : "MISSED");
    fs::remove_all(work);
    return 0;
}
