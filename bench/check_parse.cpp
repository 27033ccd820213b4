// Benchmark: where `rollsafe check` spends its time on a large script. Generates an N-statement
// migration (a realistic mix: hazards, safe DDL, data changes), then times each phase in-process:
// libpg_query's parse to JSON, reading that JSON with nlohmann::json versus check's arena tree,
// the shared sql::parse_script/make_script path, the rule engine, and each renderer. Medians of
// --rounds runs. Usage:
//   bench_check_parse [--statements 20000] [--rounds 5] [--write FILE]   (--write: only write the
//   script)
#include <pg_query.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/check/check.h"
#include "core/check/output.h"
#include "core/check/sql_source.h"
#include "core/migrations/migration.h"
#include "core/sql/parser.h"

using namespace rollsafe;

namespace {

// One statement per line, cycling through a mix like real migrations (with unique names).
std::string generate(int n) {
    static const char* const templates[] = {
        "ALTER TABLE orders ADD COLUMN c{i} text;",
        "CREATE INDEX idx_{i} ON orders (c{i});",
        "ALTER TABLE users ALTER COLUMN name{i} TYPE varchar(200);",
        "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code varchar(16), "
        "created_at "
        "timestamp, payload json);",
        "INSERT INTO labels (status, label) VALUES ('s{i}', 'Label {i}');",
        "ALTER TABLE orders DROP COLUMN old{i};",
        "UPDATE orders SET note = 'x{i}' WHERE id = {i};",
        "ALTER TABLE orders ADD CONSTRAINT ck{i} CHECK (total_cents >= {i}) NOT VALID;",
        "CREATE VIEW v{i} AS SELECT id, email FROM users WHERE deleted_at IS NULL AND id > {i};",
        "ALTER TABLE orders ALTER COLUMN c{i} SET NOT NULL;",
    };
    std::string out;
    out.reserve(static_cast<std::size_t>(n) * 70);
    for (int i = 0; i < n; ++i) {
        std::string s = templates[i % 10];
        std::string num = std::to_string(i);
        for (auto p = s.find("{i}"); p != std::string::npos; p = s.find("{i}", p))
            s.replace(p, 3, num);
        out += s;
        out += '\n';
    }
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Median CPU time of `rounds` runs in milliseconds (process CPU time: a busy machine inflates it
// far less than wall time).
double time_ms(int rounds, const std::function<void()>& fn) {
    std::vector<double> runs;
    for (int r = 0; r < rounds; ++r) {
        std::clock_t t0 = std::clock();
        fn();
        runs.push_back(1000.0 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC);
    }
    return median(runs);
}

}  // namespace

int main(int argc, char** argv) {
    int statements = 20000, rounds = 5;
    std::string write_to;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--statements"))
            statements = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--write"))
            write_to = argv[i + 1];
    }
    const std::string text = generate(statements);
    if (!write_to.empty()) {
        std::ofstream(write_to) << text;
        std::printf("wrote %d statements (%zu bytes) to %s\n", statements, text.size(),
                    write_to.c_str());
        return 0;
    }
    std::printf("%d statements, %zu bytes, median CPU time of %d rounds\n\n", statements, text.size(),
                rounds);

    std::string json;
    auto row = [](const char* what, double ms) { std::printf("  %-52s %9.1f ms\n", what, ms); };
    row("pg_query_parse (libpg_query, emits JSON)", time_ms(rounds, [&] {
            auto r = pg_query_parse(text.c_str());
            json = r.parse_tree;
            pg_query_free_parse_result(r);
        }));
    std::printf("  %-52s %9.1f MB\n", "  JSON size", static_cast<double>(json.size()) / 1e6);
    row("nlohmann::json::parse of that JSON",
        time_ms(rounds, [&] { auto doc = nlohmann::json::parse(json); }));
    row("check::tree::Document::parse of that JSON", time_ms(rounds, [&] {
            check::tree::Document doc;
            doc.parse(json);
        }));
    row("check::parse_sql (parse + tree + statement spans)",
        time_ms(rounds, [&] { auto s = check::parse_sql(text); }));
    // The shared parser (used by the migrations reader) is slower; one round is enough to see it.
    row("sql::parse_script (shared parser, 1 round)",
        time_ms(1, [&] { auto s = sql::parse_script(text); }));

    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("1");
    m.name = "big";
    m.up.path = "big.sql";
    m.up.text = text;
    check::Report report;
    row("check_migrations (parse + rules + suppressions)",
        time_ms(rounds, [&] { report = check::check_migrations({&m}, {}); }));
    std::size_t findings = report.migrations.empty() ? 0 : report.migrations[0].findings.size();
    std::printf("  %-52s %9zu\n", "  findings", findings);
    check::RenderOptions o;
    o.tool_version = "bench";
    std::size_t bytes = 0;
    row("render_json", time_ms(rounds, [&] { bytes = check::render_json(report, o).size(); }));
    row("render_text", time_ms(rounds, [&] { bytes = check::render_text(report, o).size(); }));
    row("render_sarif", time_ms(rounds, [&] { bytes = check::render_sarif(report, o).size(); }));
    row("render_junit", time_ms(rounds, [&] { bytes = check::render_junit(report, o).size(); }));
    row("render_github", time_ms(rounds, [&] { bytes = check::render_github(report, o).size(); }));
    row("render_markdown",
        time_ms(rounds, [&] { bytes = check::render_markdown(report, o).size(); }));
    (void)bytes;
    return 0;
}
