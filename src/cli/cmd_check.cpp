// `rollsafe check`: blue/green and lock-safety verdicts from migration files alone.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/inputs.h"
#include "core/check/output.h"
#include "core/check/rules.h"
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

}  // namespace

int check_and_report(Context& ctx, const CheckArgs& args, const std::vector<const Migration*>& selected,
                     const std::vector<const Migration*>& applied, bool release_scope,
                     const std::vector<Diagnostic>& problems) {
    check::Options options;
    options.pg_version = args.pg_version > 0 ? args.pg_version : ctx.config.pg_version > 0 ? ctx.config.pg_version : 15;
    options.lock_timeout_ms = static_cast<long long>(ctx.config.lock_timeout.count());
    options.release_scope = release_scope;
    options.applied = applied;
    for (const auto& id : args.disable) {
        if (!check::find_rule(id))
            throw usage_error("--disable " + id + ": no such rule", "`rollsafe check --list-rules` shows them");
        options.disabled_rules.insert(id);
    }
    auto report = check::check_migrations(selected, options);

    // The reader already reported scripts that do not parse; keep one diagnostic per place.
    std::set<std::pair<std::string, int>> seen;
    std::vector<Diagnostic> all;
    for (const auto& d : problems)
        if (seen.insert({d.file, d.line}).second) all.push_back(d);
    for (const auto& d : report.parse_errors)
        if (seen.insert({d.file, d.line}).second) all.push_back(d);
    report.parse_errors = std::move(all);

    check::RenderOptions render;
    render.tool_version = ROLLSAFE_VERSION;
    std::string format = args.format.empty() ? (ctx.json() ? "json" : "text") : args.format;
    render.color = format == "text" && !ctx.globals.no_color && env("NO_COLOR").empty() && isatty(STDOUT_FILENO);
    const bool on_github = env("GITHUB_ACTIONS") == "true";

    if (format == "text") write_stdout(check::render_text(report, render));
    else if (format == "json") write_stdout(check::render_json(report, render));
    else if (format == "sarif") write_stdout(check::render_sarif(report, render));
    else if (format == "junit") write_stdout(check::render_junit(report, render));
    else if (format == "github") write_stdout(check::render_github(report, render));
    else if (format == "markdown") write_stdout(check::render_markdown(report, render));

    if (on_github && args.format.empty()) {
        // In GitHub Actions the default run also annotates the pull request and writes the job summary.
        if (format != "github") write_stdout(check::render_github(report, render));
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
    if (by_release && !args.files.empty())
        throw usage_error("give either files or --blue/--green, not both",
                          "--blue/--green select migrations from " + ctx.config.migrations_dir + " by releases.toml");

    std::vector<Diagnostic> problems;
    if (!args.files.empty()) {
        auto migrations = check::read_sql_files(args.files, problems);
        std::vector<const Migration*> selected;
        for (const auto& m : migrations) selected.push_back(&m);
        return check_and_report(ctx, args, selected, {}, false, problems);
    }
    auto set = read_migrations(ctx.config.migrations_dir, ctx.config.layout, problems);
    if (by_release) {
        auto releases = read_releases(args.releases.empty() ? releases_path_for(ctx.config.migrations_dir) : args.releases);
        auto range = check::select_release_range(set, releases, args.blue, args.green);
        return check_and_report(ctx, args, range.selected, range.applied, true, problems);
    }
    std::vector<const Migration*> selected;
    for (const auto& m : set.migrations) selected.push_back(&m);
    return check_and_report(ctx, args, selected, {}, false, problems);
}

}  // namespace rollsafe::cli
