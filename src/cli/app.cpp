// The command-line adapter: the only translation unit that includes CLI11. It declares every
// command and flag in one place, fills plain option structs, and dispatches to cmd_*.cpp.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/db/session.h"
#include "core/engine/port.h"

namespace rollsafe::cli {
namespace {

// A command: its name, one-line help, examples for --help, and how to run it once parsed.
struct Command {
    std::string name;
    std::string help;
    std::string examples;
    CLI::App* app = nullptr;
    std::function<int(Context&)> run;
    bool lockfile = false;  // changes the database: holds the lockfile while it runs
    bool metrics = false;   // writes --metrics-file after it runs
};

// Flags that override a configuration key (file < environment < flag).
struct ConfigFlag {
    const char* flag;
    const char* key;
    const char* help;
};
const ConfigFlag kConfigFlags[] = {
    {"--database-url", "database.url", "PostgreSQL URL or conninfo (default: DATABASE_URL, then PG* variables)"},
    {"--migrations", "migrations.dir", "migrations folder (default: ./migrations)"},
    {"--layout", "migrations.layout", "file layout: auto, native, dbmate, flyway"},
    {"--history-schema", "history.schema", "schema of rollsafe's history tables"},
    {"--lock-wait", "lock.wait", "how long to wait for another migrator, e.g. 60s (then exit 3)"},
    {"--lock-timeout", "timeouts.lock", "lock_timeout per statement, e.g. 1s"},
    {"--statement-timeout", "timeouts.statement", "statement_timeout per statement, e.g. 15m"},
    {"--lock-retry-budget", "timeouts.lock_retry_budget", "time spent retrying lock timeouts (then exit 14)"},
    {"--snapshot-dir", "snapshot.dir", "where snapshots are written"},
    {"--snapshot-mode", "snapshot.mode", "touched, full or none"},
    {"--lockfile", "lockfile.path", "path of the JSON lockfile"},
    {"--log-format", "log.format", "text or json (JSON lines for log collectors)"},
};

// Overwrites, in place, every password in our own arguments (a --database-url with one, say), so
// that ps and /proc/<pid>/cmdline stop showing it once the arguments are parsed.
void hide_passwords_in_argv(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string safe = redact(arg);
        if (safe == arg)
            continue;
        safe.resize(arg.size(), ' ');
        std::copy(safe.begin(), safe.end(), argv[i]);
    }
}

std::string examples_footer(const std::string& examples) {
    return examples.empty() ? "" : "\nExamples:\n" + examples;
}

int print_error(const Error& e, const Globals& g) {
    if (g.output == "json") {
        nlohmann::json diags = nlohmann::json::array();
        for (const auto& d : e.diagnostics()) diags.push_back(diagnostic_json(d));
        nlohmann::json doc = {{"error", redact(e.what())},
                              {"exit_code", static_cast<int>(e.code())},
                              {"exit_name", std::string(exit_code_name(e.code()))},
                              {"diagnostics", diags}};
        if (!e.hint().empty()) doc["hint"] = redact(e.hint());
        std::cout << doc.dump(2) << std::endl;
    } else if (log::format() == log::Format::json) {
        // Log collectors read stderr as JSON lines: the error is one more line (or several).
        if (e.diagnostics().size() > 1) {
            for (const auto& d : e.diagnostics())
                log::write(log::Level::error, d.location_and_message(), {{"hint", d.hint}});
        }
        log::Fields fields = {{"exit_code", std::to_string(static_cast<int>(e.code()))},
                              {"exit_name", std::string(exit_code_name(e.code()))}};
        if (!e.hint().empty()) fields.emplace_back("hint", e.hint());
        log::write(log::Level::error, e.what(), fields);
    } else {
        std::string out;
        if (e.diagnostics().size() > 1) {
            out = render_diagnostics(e.diagnostics(), "error");
            out += "rollsafe: " + std::to_string(e.diagnostics().size()) + " problems\n";
        } else {
            out = "rollsafe: " + std::string(e.what()) + "\n";
            if (!e.hint().empty()) out += "hint: " + e.hint() + "\n";
        }
        std::cerr << redact(out) << std::flush;
    }
    return static_cast<int>(e.code());
}

}  // namespace

int run(int argc, char** argv) {
    interrupt::install();
    Globals g;
    CLI::App app{"rollsafe: PostgreSQL schema migrations that roll back safely", "rollsafe"};
    app.set_version_flag("--version", std::string("rollsafe ") + ROLLSAFE_VERSION);
    app.require_subcommand(1);
    app.fallthrough(true);
    app.footer("\nExit codes are a contract: docs/exit-codes.md. Configuration: docs/configuration.md.");

    app.add_option("--config", g.config_path, "configuration file (default: ./rollsafe.toml)");
    app.add_option("--output,-o", g.output, "output format")->check(CLI::IsMember({"text", "json"}));
    auto* verbose = app.add_flag("-v,--verbose", "more log detail (repeat for trace)");
    auto* quiet = app.add_flag("-q,--quiet", "only warnings and errors");
    app.add_flag("--no-color", g.no_color, "no colour in logs (also NO_COLOR)");
    app.add_option("--metrics-file", g.metrics_file,
                   "write a Prometheus textfile (node-exporter textfile collector) after the run");
    std::map<std::string, std::string> flag_values;
    std::map<std::string, CLI::Option*> flag_options;
    for (const auto& f : kConfigFlags) {
        flag_options[f.key] = app.add_option(f.flag, flag_values[f.key], f.help);
        g.flag_names[f.key] = f.flag;
    }

    std::vector<Command> commands;
    auto add = [&](std::string name, std::string help, std::string examples) -> CLI::App* {
        auto* sub = app.add_subcommand(name, help);
        sub->footer(examples_footer(examples));
        commands.push_back({name, help, examples, sub, nullptr});
        return sub;
    };
    auto on_run = [&](std::function<int(Context&)> fn) { commands.back().run = std::move(fn); };
    // Declares, in one place per command, that it changes the database (lockfile) and reports
    // metrics; the lockfile is then taken once, centrally, below.
    auto changes_database = [&] {
        commands.back().lockfile = true;
        commands.back().metrics = true;
    };

    // --- init
    InitArgs init_args;
    auto* init = add("init", "write a commented rollsafe.toml, releases.toml and migrations/",
                     "  rollsafe init\n  rollsafe init --force\n");
    init->add_flag("--force", init_args.force, "overwrite an existing rollsafe.toml");
    on_run([&](Context& c) { return run_init(c, init_args); });

    // --- new
    NewArgs new_args;
    auto* nw = add("new", "create the next migration's up and down files from a template",
                   "  rollsafe new add_orders_status\n  rollsafe --migrations db/migrations new create_users\n");
    nw->add_option("name", new_args.name, "what the migration does, e.g. add_orders_status")->required();
    on_run([&](Context& c) { return run_new(c, new_args); });

    // --- validate
    ValidateArgs validate_args;
    add("validate", "check every migration file (names, pairs, SQL, directives); no database needed",
        "  rollsafe validate\n  rollsafe validate --migrations migrations-example/migrations -o json\n");
    on_run([&](Context& c) { return run_validate(c, validate_args); });

    // --- sandbox
    SandboxArgs sandbox_args;
    auto* sandbox = add("sandbox", "start a throwaway PostgreSQL for local work; removed on Ctrl-C",
                        "  rollsafe sandbox\n  rollsafe sandbox --tcp -o json\n");
    sandbox->add_flag("--tcp", sandbox_args.tcp, "also listen on 127.0.0.1");
    sandbox->add_option("--set", sandbox_args.settings, "extra server setting key=value (repeatable)");
    on_run([&](Context& c) { return run_sandbox(c, sandbox_args); });

    // --- fleets (docs/fleet.md): the same flags on each command that can run on many targets
    FleetArgs fleet_args;
    auto fleet_flags = [&](CLI::App* sub) {
        sub->add_option("--targets", fleet_args.targets, "run on every database of this targets.toml (docs/fleet.md)");
        sub->add_option("--select", fleet_args.select,
                        "with --targets: only targets with this label=value (repeatable; also name=..., wave=...)")
            ->allow_extra_args(false);
        sub->add_option("--parallel", fleet_args.parallel, "with --targets: targets worked on at once (default fleet.parallel)")
            ->check(CLI::PositiveNumber);
        sub->add_option("--on-failure", fleet_args.on_failure,
                        "with --targets: when a target fails, stop or continue the rest of its wave (default fleet.on_failure)")
            ->check(CLI::IsMember({"stop", "continue"}));
        sub->add_option("--shard-index", fleet_args.shard_index,
                        "with --targets: this pod's shard (default JOB_COMPLETION_INDEX, else 0)")
            ->check(CLI::NonNegativeNumber);
        sub->add_option("--shard-count", fleet_args.shard_count, "with --targets: number of shards (default fleet.shard_count)")
            ->check(CLI::PositiveNumber);
    };

    // --- up
    UpArgs up_args;
    auto* up = add("up", "apply pending migrations, each in a transaction with its history row",
                   "  rollsafe up\n  rollsafe up --release v2.4.0 --lock-wait 120s\n  rollsafe up --dry-run\n"
                   "  rollsafe up --to 0042\n  rollsafe up --targets targets.toml --release v2.4.0 --parallel 8\n");
    up->add_option("--to", up_args.to, "apply up to and including this version");
    up->add_option("--release", up_args.release, "application release this deploy ships (recorded in history)");
    up->add_flag("--dry-run", up_args.dry_run, "print the plan; change nothing");
    up->add_flag("--allow-out-of-order", up_args.allow_out_of_order, "apply versions older than the newest applied");
    fleet_flags(up);
    on_run([&](Context& c) { return fleet_args.active() ? run_fleet_up(c, fleet_args, up_args) : run_up(c, up_args); });
    changes_database();

    // --- plan
    PlanArgs plan_args;
    auto* plan = add("plan", "print the exact statements up (or down) would run, with transactions and timeouts",
                     "  rollsafe plan\n  rollsafe plan --down-steps 2\n  rollsafe plan -o json\n");
    plan->add_option("--to", plan_args.to, "plan up to this version");
    plan->add_option("--down-steps", plan_args.down_steps, "plan reverting the newest N migrations");
    plan->add_option("--down-to", plan_args.down_to, "plan reverting down to (keeping) this version");
    plan->add_flag("--atomic", plan_args.atomic, "plan the downs in one transaction");
    plan->add_flag("--allow-out-of-order", plan_args.allow_out_of_order, "include out-of-order versions");
    on_run([&](Context& c) { return run_plan(c, plan_args); });

    // --- down
    DownArgs down_args;
    auto* down = add("down", "revert applied migrations with their down scripts (stored ones when files are gone)",
                     "  rollsafe down --steps 1\n  rollsafe down --to 0041 --yes\n  rollsafe down --to 0041 --atomic --dry-run\n");
    down->add_option("--to", down_args.to, "revert everything newer than this version");
    down->add_option("--steps", down_args.steps, "revert the newest N applied migrations");
    down->add_flag("--atomic", down_args.atomic, "all downs in one transaction (all must be transactional)");
    down->add_flag("--use-file", down_args.use_file, "a down file differs from the stored text: run the file");
    down->add_flag("--use-stored", down_args.use_stored, "a down file differs from the stored text: run the stored text");
    down->add_flag("--dry-run", down_args.dry_run, "print the plan; change nothing");
    down->add_flag("--yes,-y", down_args.yes, "do not ask for confirmation on a terminal");
    down->add_option("--reason", down_args.reason, "why (recorded in history)");
    down->add_option("--release", down_args.release, "release tag recorded in history");
    fleet_flags(down);
    on_run([&](Context& c) { return fleet_args.active() ? run_fleet_down(c, fleet_args, down_args) : run_down(c, down_args); });
    changes_database();

    // --- status
    StatusArgs status_args;
    auto* status = add("status", "applied, pending, dirty, drifted and missing migrations; freeze and lock holder",
                       "  rollsafe status\n  rollsafe status -o json\n  rollsafe status --targets targets.toml --select region=eu\n");
    fleet_flags(status);
    on_run([&](Context& c) {
        return fleet_args.active() ? run_fleet_status(c, fleet_args, status_args) : run_status(c, status_args);
    });

    // --- history
    HistoryArgs history_args;
    auto* hist = add("history", "the append-only record of every operation",
                     "  rollsafe history\n  rollsafe history --version 0042 -o json\n  rollsafe history --limit 20\n");
    hist->add_option("--version", history_args.version, "only this version");
    hist->add_option("--op", history_args.op, "only this operation (up, down, baseline, repair, restore, ...)");
    hist->add_option("--since", history_args.since, "only rows since this time (ISO 8601)");
    hist->add_option("--limit", history_args.limit, "only the newest N rows");
    on_run([&](Context& c) { return run_history(c, history_args); });

    // --- baseline
    BaselineArgs baseline_args;
    auto* baseline = add("baseline", "adopt an existing database, or import golang-migrate/dbmate/flyway history",
                         "  rollsafe baseline --version 0012 --reason \"adopting the legacy schema\"\n"
                         "  rollsafe baseline --from golang-migrate\n  rollsafe baseline --from flyway --dry-run\n");
    baseline->add_option("--version", baseline_args.version, "mark file migrations up to this version as applied");
    baseline->add_option("--from", baseline_args.from, "import another tool's history")
        ->check(CLI::IsMember({"golang-migrate", "dbmate", "flyway"}));
    baseline->add_option("--from-table", baseline_args.from_table, "that tool's table if not the default");
    baseline->add_option("--reason", baseline_args.reason, "why (recorded in history)");
    baseline->add_flag("--dry-run", baseline_args.dry_run, "show what would be recorded");
    on_run([&](Context& c) { return run_baseline(c, baseline_args); });
    changes_database();

    // --- repair
    RepairArgs repair_args;
    auto* repair = add("repair", "fix a dirty (part-applied, no-transaction) migration; audited",
                       "  rollsafe repair --resume --version 0042 --reason \"index build killed by OOM\"\n"
                       "  rollsafe repair --mark-rolled-back --version 0042 --reason \"dropped the index by hand\"\n");
    repair->add_option("--version", repair_args.version, "the dirty migration")->required();
    repair->add_flag("--resume", repair_args.resume, "continue at the statement that failed");
    repair->add_flag("--mark-applied", repair_args.mark_applied, "record it as applied (you finished it by hand)");
    repair->add_flag("--mark-rolled-back", repair_args.mark_rolled_back, "record it as not applied (you undid it)");
    repair->add_option("--reason", repair_args.reason, "why (required, recorded in history)")->required();
    repair->add_flag("--dry-run", repair_args.dry_run, "show what would happen");
    on_run([&](Context& c) { return run_repair(c, repair_args); });
    changes_database();

    // --- unfreeze / freeze
    UnfreezeArgs unfreeze_args;
    auto* unfreeze = add("unfreeze", "clear a freeze so deployments may continue; audited",
                         "  rollsafe unfreeze --reason \"index rebuilt by hand, see INC-123\"\n");
    unfreeze->add_option("--reason", unfreeze_args.reason, "why (required, recorded in history)")->required();
    on_run([&](Context& c) { return run_unfreeze(c, unfreeze_args); });
    FreezeArgs freeze_args;
    auto* freeze = add("freeze", "halt deployments by hand until `unfreeze`; audited",
                       "  rollsafe freeze --reason \"investigating INC-123\"\n");
    freeze->add_option("--reason", freeze_args.reason, "why (required, recorded in history)")->required();
    on_run([&](Context& c) { return run_freeze(c, freeze_args); });

    // --- lock
    LockArgs lock_args;
    auto* lock = add("lock", "show or break the migration lock between migrators",
                     "  rollsafe lock status\n  rollsafe lock break --reason \"holder pod deleted\"\n");
    lock->add_option("action", lock_args.action, "status or break")->check(CLI::IsMember({"status", "break"}));
    lock->add_option("--reason", lock_args.reason, "why (required for break)");
    on_run([&](Context& c) { return run_lock(c, lock_args); });

    // --- check
    CheckArgs check_args;
    auto* chk = add("check", "blue/green and lock-safety verdicts: rules on the parse trees, then (--blue/--green) a scratch database",
                    "  rollsafe check\n  rollsafe check --blue v2.3.1 --green v2.4.0 --format sarif > rollsafe.sarif\n"
                    "  rollsafe check --blue v2.3.1 --green v2.4.0 --layers rules,diff,contracts,roundtrip --with-data\n"
                    "  rollsafe check --blue v2.3.1 --green v2.4.0 --dev-url postgres://ci@localhost/postgres -f markdown\n"
                    "  rollsafe check migrations/0042_drop_phone.up.sql --pg-version 11\n"
                    "  rollsafe check --pending --database-url postgres://app@db/shop\n"
                    "  rollsafe check --list-rules\n");
    chk->add_option("files", check_args.files, "loose .sql files (x.down.sql beside x.sql is its down); default: the migrations folder");
    chk->add_option("--format,-f", check_args.format, "text, json, sarif, junit, github or markdown (default: --output)")
        ->check(CLI::IsMember({"text", "json", "sarif", "junit", "github", "markdown"}));
    chk->add_option("--pg-version", check_args.pg_version, "target PostgreSQL major version (default: check.pg_version, else 15)")
        ->check(CLI::Range(9, 99));
    chk->add_option("--blue", check_args.blue, "release running now (releases.toml): check the migrations after it");
    chk->add_option("--green", check_args.green, "release being deployed (releases.toml): check up to its last migration");
    chk->add_option("--releases", check_args.releases, "releases file (default: releases.toml beside the migrations folder)");
    chk->add_option("--disable", check_args.disable, "skip a rule (repeatable)")->allow_extra_args(false);
    chk->add_option("--schema", check_args.schema, "SQL to read first for column types, e.g. a pg_dump --schema-only file (repeatable)")
        ->allow_extra_args(false);
    chk->add_flag("--list-rules", check_args.list_rules, "print the rule catalogue and exit");
    chk->add_flag("--pending", check_args.pending,
                  "check only what the database (--database-url) has not applied; applied migrations are the known schema");
    // Dynamic layers (docs/compatibility.md): the migrations tried on a scratch database.
    chk->add_option("--layers", check_args.layers,
                    "rules,diff,contracts,roundtrip (default: rules,diff,contracts with --blue/--green, else rules)");
    chk->add_option("--dev-url", check_args.dev_url, "create scratch databases on this server (needs CREATEDB) instead of an embedded one");
    chk->add_option("--pg-bindir", check_args.pg_bindir, "PostgreSQL server binaries for the embedded scratch database (default: search)");
    chk->add_option("--contracts", check_args.contracts, "folder of <release>.sql app contracts (default: contracts/ beside releases.toml)");
    chk->add_flag("--with-data", check_args.with_data, "round-trip: rows green's contract INSERTs write must survive the downs for blue");
    fleet_flags(chk);
    on_run([&](Context& c) {
        if (fleet_args.active()) return run_fleet_check(c, fleet_args, check_args);
        // A sqlite: database URL: only the rules that apply to SQLite (docs/sqlite.md).
        if (engine_kind(c.config.database_url) == EngineKind::sqlite) return run_sqlite_check(c, check_args);
        return run_check(c, check_args);
    });

    // --- gate
    GateArgs gate_args;
    auto* gate = add("gate", "wait until the schema is ready for a release (init containers); fail fast when it never will be",
                     "  rollsafe gate --release v2.4.0 --wait 300s\n  rollsafe gate --release v2.3.1 -o json\n");
    gate->add_option("--release", gate_args.release, "the release this app image is (default: its newest migration)");
    gate->add_option("--wait", gate_args.wait, "how long to wait while the schema is behind (e.g. 300s)");
    fleet_flags(gate);
    on_run([&](Context& c) { return fleet_args.active() ? run_fleet_gate(c, fleet_args, gate_args) : run_gate(c, gate_args); });
    commands.back().metrics = true;

    // --- rollback
    RollbackArgs rollback_args;
    auto* rollback = add("rollback", "bring the schema back to what a release needs (nothing if expand-only)",
                         "  rollsafe rollback --to-release v2.3.1 --dry-run\n  rollsafe rollback --to-release v2.3.1 --yes\n"
                         "  rollsafe rollback --to-version 0041 --force-schema\n");
    rollback->add_option("--to-release", rollback_args.release, "the release to go back to");
    rollback->add_option("--to-version", rollback_args.version, "or: the migration version to go back to");
    rollback->add_flag("--force-schema", rollback_args.force_schema, "roll back even when every migration since is expand-only");
    rollback->add_flag("--dry-run", rollback_args.dry_run, "print the decision and the plan; change nothing");
    rollback->add_flag("--yes,-y", rollback_args.yes, "do not ask for confirmation on a terminal");
    rollback->add_option("--reason", rollback_args.reason, "why (recorded in history)");
    fleet_flags(rollback);
    on_run([&](Context& c) {
        return fleet_args.active() ? run_fleet_rollback(c, fleet_args, rollback_args) : run_rollback(c, rollback_args);
    });
    changes_database();

    // --- releases
    ReleasesArgs releases_args;
    add("releases", "releases in releases.toml and the deploys recorded in the database",
        "  rollsafe releases\n  rollsafe releases -o json\n");
    on_run([&](Context& c) { return run_releases(c, releases_args); });

    // --- report
    ReportArgs report_args;
    auto* report = add("report", "an incident record from the history: timeline, failures, rollbacks, time to recovery",
                       "  rollsafe report --last 24h --format markdown\n  rollsafe report --since 2026-11-20T00:00:00Z -o json\n");
    report->add_option("--last", report_args.last, "how far back (default 24h)");
    report->add_option("--since", report_args.since, "from this time (ISO 8601)");
    report->add_option("--format", report_args.format, "text, json or markdown")->check(CLI::IsMember({"text", "json", "markdown"}));
    on_run([&](Context& c) { return run_report(c, report_args); });

    // --- snapshot / restore (issue 4)
    SnapshotArgs snapshot_args;
    auto* snap = add(
        "snapshot", "take, list, verify and prune pg_dump snapshots (taken before every up/down)",
        "  rollsafe snapshot create\n  rollsafe snapshot create --table orders --table payments\n"
        "  rollsafe snapshot create --mode touched\n  rollsafe snapshot list -o json\n"
        "  rollsafe snapshot verify 20240101-120000-3fa9c1\n  rollsafe snapshot verify --all\n"
        "  rollsafe snapshot prune --keep 5 --max-age 30d --dry-run\n");
    snap->add_option("action", snapshot_args.action, "create, list, verify or prune")
        ->required()
        ->check(CLI::IsMember({"create", "list", "verify", "prune"}));
    snap->add_option("id", snapshot_args.id, "verify: the snapshot id");
    snap->add_option("--mode", snapshot_args.mode,
                     "create: full (default) or touched (what pending migrations touch)")
        ->check(CLI::IsMember({"full", "touched"}));
    snap->add_option("--table", snapshot_args.tables, "create: dump only this table (repeatable)");
    snap->add_flag("--all", snapshot_args.all, "verify: every snapshot in snapshot.dir");
    snap->add_option("--keep", snapshot_args.keep,
                     "prune: keep the newest N per database (default snapshot.keep)");
    snap->add_option("--max-age", snapshot_args.max_age,
                     "prune: also remove snapshots older than this, e.g. 30d");
    snap->add_flag("--dry-run", snapshot_args.dry_run, "prune: list what would be removed");
    on_run([&](Context& c) { return run_snapshot(c, snapshot_args); });
    RestoreArgs restore_args;
    auto* restore = add(
        "restore",
        "restore one table of a snapshot (swap, data, side-by-side), or all of it into a new "
        "database",
        "  rollsafe restore --snapshot 20240101-120000-3fa9c1 --table orders --dry-run\n"
        "  rollsafe restore --snapshot 20240101-120000-3fa9c1 --table orders --yes --reason "
        "\"INC-42\"\n"
        "  rollsafe restore --snapshot 20240101-120000-3fa9c1 --table orders --mode data\n"
        "  rollsafe restore --snapshot 20240101-120000-3fa9c1 --table orders --mode side-by-side\n"
        "  rollsafe restore --snapshot 20240101-120000-3fa9c1 --into shop_copy\n");
    restore
        ->add_option("--snapshot", restore_args.snapshot,
                     "the snapshot id (rollsafe snapshot list)")
        ->required();
    restore->add_option("--table", restore_args.table,
                        "the table to restore (table or schema.table)");
    restore->add_option("--mode", restore_args.mode, "swap (default), data or side-by-side")
        ->check(CLI::IsMember({"swap", "data", "side-by-side"}));
    restore->add_option("--into", restore_args.into,
                        "restore the whole snapshot into this new database");
    restore->add_flag("--dry-run", restore_args.dry_run, "print the plan; change nothing");
    restore->add_flag("--yes,-y", restore_args.yes, "do not ask for confirmation on a terminal");
    restore->add_option("--reason", restore_args.reason, "why (recorded in history)");
    on_run([&](Context& c) { return run_restore(c, restore_args); });

    // --- demo
    DemoArgs demo_args;
    auto* demo = add("demo", "walk a whole incident on a throwaway PostgreSQL: deploy, fail, gate, rollback, restore, report",
                     "  rollsafe demo\n  rollsafe demo --keep\n  rollsafe demo --engine sqlite\n");
    demo->add_option("--example", demo_args.example, "the migrations project to use (default: migrations-example)");
    demo->add_flag("--keep", demo_args.keep, "keep the project images afterwards");
    demo->add_option("--engine", demo_args.engine,
                     "postgres (default: a throwaway PostgreSQL) or sqlite (a file; no PostgreSQL needed)")
        ->check(CLI::IsMember({"postgres", "sqlite"}));
    on_run([&](Context& c) { return run_demo(c, demo_args); });

    // --- contract (issue 6)
    ContractArgs contract_args;
    auto* contract = add("contract", "capture a release's app contract (the SQL it runs) from pg_stat_statements",
                         "  rollsafe contract capture --release v2.4.0\n"
                         "  rollsafe contract capture --release v2.4.0 --merge --min-calls 5\n"
                         "  rollsafe contract capture --release v2.4.0 --out - > contracts/v2.4.0.sql\n");
    contract->add_option("action", contract_args.action, "capture")->check(CLI::IsMember({"capture"}));
    contract->add_option("--release", contract_args.release, "the release whose app ran the statements")->required();
    contract->add_option("--out", contract_args.out, "file to write, - for stdout (default: contracts/<release>.sql)");
    contract->add_option("--min-calls", contract_args.min_calls, "leave out statements run fewer times (default 1)");
    contract->add_flag("--merge", contract_args.merge, "keep an existing contract and add the statements it lacks");
    contract->add_flag("--force", contract_args.force, "overwrite an existing contract");
    on_run([&](Context& c) { return run_contract(c, contract_args); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "rollsafe: " << redact(e.what()) << "\nhint: run `rollsafe --help` or `rollsafe <command> --help`\n";
        return static_cast<int>(ExitCode::usage);
    }
    hide_passwords_in_argv(argc, argv);

    g.verbosity = static_cast<int>(verbose->count()) - (quiet->count() ? 1 : 0);
    g.config_explicit = app.count("--config") > 0;
    if (!g.config_explicit) {
        auto env = std::getenv("ROLLSAFE_CONFIG");
        if (env && *env) {
            g.config_path = env;
            g.config_explicit = true;
        }
    }
    for (const auto& f : kConfigFlags) {
        if (flag_options[f.key]->count() > 0) g.overrides.emplace_back(f.key, flag_values[f.key]);
    }

    try {
        Context ctx;
        ctx.globals = g;
        ConfigSources sources;
        sources.config_path = g.config_path;
        sources.config_path_explicit = g.config_explicit;
        if (init->parsed()) {
            // init writes the configuration file: a missing or broken one must not stop it.
            sources.config_path.clear();
            sources.config_path_explicit = false;
        }
        sources.env = process_environment();
        sources.flags = g.overrides;
        sources.flag_names = g.flag_names;
        ctx.config = load_config(sources);
        log::Options lo;
        lo.format = ctx.config.log_format == "json" ? log::Format::json : log::Format::text;
        lo.verbosity = g.verbosity;
        lo.color = !g.no_color;
        log::init(lo);
        for (auto& cmd : commands) {
            if (!cmd.app->parsed()) continue;
            auto t0 = std::chrono::steady_clock::now();
            int rc = 0;
            try {
                bool dry = cmd.app->get_option_no_throw("--dry-run") && cmd.app->count("--dry-run") > 0;
                if (cmd.lockfile && !dry && !ctx.config.lockfile_path.empty()) {
                    ctx.lockfile = std::make_unique<Lockfile>(ctx.config.lockfile_path);
                    if (!ctx.lockfile->acquire(cmd.name, "", ctx.config.lock_wait)) {
                        auto st = read_lockfile(ctx.config.lockfile_path);
                        throw Error(ExitCode::locked,
                                    "another rollsafe on this host holds the lockfile " + ctx.config.lockfile_path +
                                        (st.body ? " (" + st.body->command + ", pid " + std::to_string(st.body->holder.pid) + ")" : std::string()),
                                    "retry later");
                    }
                }
                // Commands with a meaning on SQLite (docs/sqlite.md); the others need PostgreSQL.
                static const std::set<std::string> kSqliteCommands = {
                    "init", "new", "validate", "up", "plan", "down", "status", "history",
                    "lock", "check", "snapshot", "restore", "demo"};
                if (!kSqliteCommands.count(cmd.name) || fleet_args.active())
                    require_postgres(ctx.config, fleet_args.active() ? cmd.name + " --targets" : cmd.name);
                rc = cmd.run(ctx);
            } catch (const Error& e) {
                rc = print_error(e, g);
            } catch (const db::DbError& e) {
                // A right the role lacks on rollsafe's own tables (the gate-only role running up,
                // say) is a configuration problem, not a bug.
                if (e.sqlstate() != "42501") throw;
                rc = print_error(Error(ExitCode::usage, e.what(),
                                       "the database role lacks a privilege rollsafe needs; the grants are in "
                                       "docs/security.md"),
                                 g);
            }
            if (ctx.lockfile) ctx.lockfile->finish();
            if (cmd.metrics && fleet_args.targets.empty())  // a fleet run writes its own, per target
                write_metrics(ctx, cmd.name, rc,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            return rc;
        }
        return static_cast<int>(ExitCode::usage);
    } catch (const Error& e) {
        return print_error(e, g);
    } catch (const std::exception& e) {
        Error wrapped(ExitCode::internal, std::string("internal error: ") + e.what(),
                      "this is a bug; please report it with the command and its output");
        return print_error(wrapped, g);
    }
}

}  // namespace rollsafe::cli
