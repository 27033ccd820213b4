// `rollsafe check`: blue/green and lock-safety verdicts from the migration files (rules) and, with
// --blue/--green or --layers, from a scratch database (diff, contracts, round-trip).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/inputs.h"
#include "core/check/output.h"
#include "core/check/rules.h"
#include "core/compat/compat.h"
#include "core/compat/contract.h"
#include "core/compat/output.h"
#include "core/engine/engine.h"
#include "core/migrations/reader.h"
#include "core/migrations/releases.h"

namespace rollsafe::cli {
namespace {

const std::set<std::string> kFormats = {"text", "json", "sarif", "junit", "github", "markdown"};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

void write_stdout(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

std::string list_rules(bool json) {
    std::string out;
    if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : check::rules())
            list.push_back({{"id", r.id},
                            {"title", r.title},
                            {"category", r.category},
                            {"severity", check::severity_text(r.severity)},
                            {"breaks", r.breaks},
                            {"classes", r.classes},
                            {"lock", r.lock},
                            {"detects", r.detects},
                            {"why", r.why},
                            {"fix", r.fix},
                            {"squawk", r.squawk},
                            {"docs", check::rule_doc_path(r.id)}});
        return list.dump(2) + "\n";
    }
    for (const auto& r : check::rules()) {
        std::string id = r.id;
        id.resize(std::max<std::size_t>(id.size(), 38), ' ');
        std::string sev = check::severity_text(r.severity);
        sev.resize(8, ' ');
        out += id + " " + sev + r.title + "\n";
    }
    return out;
}

// Prints the rules' report with the dynamic layers' one and the verdict; returns the exit code.
int report_with_dynamic_layers(Context& ctx, const CheckArgs& args, check::Report& report,
                               const compat::Report& dynamic, const compat::Layers& layers) {
    compat::refine_classes(report, dynamic);
    auto verdict = compat::verdict(report, &dynamic, layers);
    check::RenderOptions render;
    render.tool_version = ROLLSAFE_VERSION;
    std::string format = args.format.empty() ? (ctx.json() ? "json" : "text") : args.format;
    render.color = format == "text" && !ctx.globals.no_color && env("NO_COLOR").empty() &&
                   isatty(STDOUT_FILENO);
    check::Report with_findings = report;
    compat::add_findings(with_findings, dynamic);
    auto markdown = [&] {
        return (layers.rules ? check::render_markdown(report, render) + "\n" : std::string()) +
               compat::render_markdown(dynamic) + "**" + verdict.text + "**\n";
    };
    if (format == "text") {
        write_stdout((layers.rules ? check::render_text(report, render) + "\n" : std::string()) +
                     compat::render_text(dynamic) + "\n" + verdict.text + "\n");
    } else if (format == "json") {
        auto doc = nlohmann::json::parse(check::render_json(report, render));
        doc["compat"] = compat::render_json(dynamic);
        doc["verdict"] = {{"compatible", verdict.compatible},
                          {"exit_code", verdict.exit_code},
                          {"text", verdict.text},
                          {"layers", text::split(layers.text(), ',')}};
        write_stdout(doc.dump(2) + "\n");
    } else if (format == "sarif") {
        write_stdout(check::render_sarif(with_findings, render));
    } else if (format == "junit") {
        write_stdout(compat::splice_junit(check::render_junit(report, render), dynamic));
    } else if (format == "github") {
        write_stdout(check::render_github(with_findings, render));
    } else if (format == "markdown") {
        write_stdout(markdown());
    }
    if (env("GITHUB_ACTIONS") == "true" && format == "text" && args.format.empty()) {
        // As for the rules alone: annotations and the job summary accompany the text report only.
        write_stdout(check::render_github(with_findings, render));
        std::string summary = env("GITHUB_STEP_SUMMARY");
        if (!summary.empty()) {
            std::ofstream f(summary, std::ios::app);
            f << markdown();
        }
    }
    return verdict.exit_code;
}

// The dynamic layers (docs/compatibility.md): the migrations tried on a scratch database. Returns
// nullopt when only the rules were asked for.
std::optional<compat::Report> run_dynamic_layers(Context& ctx, const CheckArgs& args,
                                                 const compat::Layers& layers,
                                                 const std::vector<const Migration*>& selected,
                                                 const std::vector<const Migration*>& applied,
                                                 bool unparsable) {
    if (!layers.dynamic())
        return std::nullopt;
    compat::Report skipped;
    skipped.layers = layers;
    skipped.skipped = true;
    if (unparsable) {
        skipped.skipped_reason = "some scripts do not parse";
        return skipped;
    }
    compat::Request req;
    req.applied = applied;
    req.pending = selected;
    req.blue = args.blue;
    req.green = args.green;
    req.contracts_dir = args.contracts.empty()
                            ? compat::contracts_dir_for(ctx.config.migrations_dir)
                            : args.contracts;
    req.layers = layers;
    req.with_data = args.with_data;
    req.dev_url = args.dev_url;
    req.server_bindir = args.pg_bindir;
    req.client_bindir = ctx.config.pg_bindir;
    req.history_schema = ctx.config.history_schema;
    req.progress = [](const std::string& line) { log::info("check: {}", line); };
    auto origin = ctx.config.origin.find("database.url");
    if (origin != ctx.config.origin.end() && origin->second == "--database-url") {
        // "Before" is the target's own schema; what it has applied is not pending.
        req.before_database = ctx.config.database_url;
        const auto done = Engine(ctx.config).status().applied_keys();
        req.pending.clear();
        for (const auto* m : selected)
            if (!done.count(m->version.key()))
                req.pending.push_back(m);
    }
    if (auto why = compat::scratch_unavailable(req)) {
        if (!args.layers.empty())
            throw usage_error("--layers " + args.layers + " needs a scratch database: " + *why,
                              "drop the dynamic layers (--layers rules) or make PostgreSQL's "
                              "server binaries available");
        skipped.skipped_reason = *why;
        return skipped;
    }
    return compat::run(req);
}

}  // namespace

int check_and_report(Context& ctx, const CheckArgs& args,
                     const std::vector<const Migration*>& selected,
                     const std::vector<const Migration*>& applied, bool release_scope,
                     const std::vector<Diagnostic>& problems) {
    const bool by_release = !args.blue.empty() || !args.green.empty();
    const compat::Layers layers =
        args.layers.empty() ? compat::parse_layers(by_release ? "rules,diff,contracts" : "rules")
                            : compat::parse_layers(args.layers);
    check::Options options;
    options.pg_version = args.pg_version > 0         ? args.pg_version
                         : ctx.config.pg_version > 0 ? ctx.config.pg_version
                                                     : 15;
    options.lock_timeout_ms = static_cast<long long>(ctx.config.lock_timeout.count());
    options.release_scope = release_scope;
    options.applied = applied;
    for (const auto& id : args.disable) {
        if (!check::find_rule(id))
            throw usage_error("--disable " + id + ": no such rule",
                              "`rollsafe check --list-rules` shows them");
        options.disabled_rules.insert(id);
    }
    auto report = check::check_migrations(selected, options);

    // The reader already reported scripts that do not parse; keep one diagnostic per place.
    std::set<std::pair<std::string, int>> seen;
    std::vector<Diagnostic> all;
    for (const auto& d : problems)
        if (seen.insert({d.file, d.line}).second)
            all.push_back(d);
    for (const auto& d : report.parse_errors)
        if (seen.insert({d.file, d.line}).second)
            all.push_back(d);
    report.parse_errors = std::move(all);
    if (!layers.rules) {
        // --layers without rules: keep the migrations (and parse errors), drop the rules' verdicts.
        for (auto& v : report.migrations) {
            v.findings.clear();
            v.classes = {"expand"};
        }
    }
    auto dynamic =
        run_dynamic_layers(ctx, args, layers, selected, applied, !report.parse_errors.empty());
    if (dynamic)
        return report_with_dynamic_layers(ctx, args, report, *dynamic, layers);

    check::RenderOptions render;
    render.tool_version = ROLLSAFE_VERSION;
    std::string format = args.format.empty() ? (ctx.json() ? "json" : "text") : args.format;
    render.color = format == "text" && !ctx.globals.no_color && env("NO_COLOR").empty() &&
                   isatty(STDOUT_FILENO);
    const bool on_github = env("GITHUB_ACTIONS") == "true";

    if (format == "text")
        write_stdout(check::render_text(report, render));
    else if (format == "json")
        write_stdout(check::render_json(report, render));
    else if (format == "sarif")
        write_stdout(check::render_sarif(report, render));
    else if (format == "junit")
        write_stdout(check::render_junit(report, render));
    else if (format == "github")
        write_stdout(check::render_github(report, render));
    else if (format == "markdown")
        write_stdout(check::render_markdown(report, render));

    if (on_github && format == "text" && args.format.empty()) {
        // In GitHub Actions the default (text) run also annotates the pull request and writes the
        // job summary; machine formats stay clean for their readers.
        write_stdout(check::render_github(report, render));
        std::string summary = env("GITHUB_STEP_SUMMARY");
        if (!summary.empty()) {
            std::ofstream f(summary, std::ios::app);
            f << check::render_markdown(report, render);
        }
    }
    return report.exit_code();
}

int run_check(Context& ctx, const CheckArgs& args) {
    if (args.list_rules) {
        write_stdout(list_rules(ctx.json()));
        return 0;
    }
    if (!args.format.empty() && !kFormats.count(args.format))
        throw usage_error("--format " + args.format + ": unknown format",
                          "use text, json, sarif, junit, github or markdown");
    bool by_release = !args.blue.empty() || !args.green.empty();
    if (args.pending && (by_release || !args.files.empty()))
        throw usage_error("--pending checks the migrations folder against the database",
                          "give --pending alone, or files, or --blue/--green");
    if (by_release && !args.files.empty())
        throw usage_error("give either files or --blue/--green, not both",
                          "--blue/--green select migrations from " + ctx.config.migrations_dir +
                              " by releases.toml");

    std::vector<Diagnostic> problems;
    // --schema files are read before everything else, for column types only (no findings).
    auto schema = check::read_sql_files(args.schema, problems);
    std::vector<const Migration*> known;
    for (const auto& m : schema)
        known.push_back(&m);
    if (!args.files.empty()) {
        auto migrations = check::read_sql_files(args.files, problems);
        std::vector<const Migration*> selected;
        for (const auto& m : migrations)
            selected.push_back(&m);
        return check_and_report(ctx, args, selected, known, false, problems);
    }
    auto set = read_migrations(ctx.config.migrations_dir, ctx.config.layout, problems);
    if (by_release) {
        auto releases = read_releases(
            args.releases.empty() ? releases_path_for(ctx.config.migrations_dir) : args.releases);
        auto range = check::select_release_range(set, releases, args.blue, args.green);
        known.insert(known.end(), range.applied.begin(), range.applied.end());
        return check_and_report(ctx, args, range.selected, known, true, problems);
    }
    std::vector<const Migration*> selected;
    if (args.pending) {
        // What a deploy would run now: the database's applied versions are the schema the
        // pending ones meet (column types, tables created earlier), not findings.
        const auto done = Engine(ctx.config).status().applied_keys();
        for (const auto& m : set.migrations)
            (done.count(m.version.key()) ? known : selected).push_back(&m);
        log::info("check: {} pending migration(s), {} applied", selected.size(),
                  set.migrations.size() - selected.size());
        return check_and_report(ctx, args, selected, known, false, problems);
    }
    for (const auto& m : set.migrations)
        selected.push_back(&m);
    return check_and_report(ctx, args, selected, known, false, problems);
}

}  // namespace rollsafe::cli
