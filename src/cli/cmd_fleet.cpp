// `--targets FILE` on up, down, rollback, status, check and gate: the command runs on every
// target of a targets.toml, wave after wave, with bounded parallelism, optionally one shard of
// an Indexed Job (docs/fleet.md). Each target gets its own Engine, as if run alone.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <set>

#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/rules.h"
#include "core/engine/default_hooks.h"
#include "core/fleet/peers.h"
#include "core/fleet/runner.h"
#include "core/fleet/target_status.h"
#include "core/fleet/targets.h"
#include "core/migrations/reader.h"

namespace rollsafe::cli {

bool FleetArgs::active() const {
    if (!targets.empty())
        return true;
    std::vector<std::string> given;
    if (!select.empty())
        given.push_back("--select");
    if (parallel != -1)
        given.push_back("--parallel");
    if (!on_failure.empty())
        given.push_back("--on-failure");
    if (shard_index != -1)
        given.push_back("--shard-index");
    if (shard_count != -1)
        given.push_back("--shard-count");
    if (!given.empty())
        throw usage_error(text::join(given, ", ") + " only work with --targets FILE",
                          "e.g. rollsafe up --targets targets.toml " + given.front() + " ...");
    return false;
}

namespace {

using fleet::Outcome;
using fleet::Target;

// Read-only commands hold one short session per target: unless told otherwise they visit more
// targets at once than migrations run (fleet.parallel's default).
constexpr int kReadOnlyParallel = 16;

// Everything a fleet command decides before it touches a database.
struct Setup {
    std::string command;
    fleet::TargetsFile file;
    fleet::Rollout rollout;
    fleet::RunOptions options;
    std::vector<std::string> select;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

Setup prepare(Context& ctx, const FleetArgs& args, const std::string& command,
              bool changes_databases) {
    Setup s;
    s.command = command;
    auto origin = ctx.config.origin.find("database.url");
    if (origin != ctx.config.origin.end() && origin->second == "--database-url")
        throw usage_error("--database-url and --targets do not mix",
                          "each target's database is in " + args.targets +
                              "; pick targets with --select name=...");
    s.file = fleet::read_targets(args.targets);
    std::vector<fleet::Selector> selectors;
    for (const auto& term : args.select)
        selectors.push_back(fleet::parse_selector(term));
    s.select = args.select;
    auto selected = fleet::select_targets(s.file, selectors);
    auto shard = fleet::resolve_shard(
        args.shard_index >= 0 ? std::optional<int>(args.shard_index) : std::nullopt,
        args.shard_count >= 0 ? std::optional<int>(args.shard_count) : std::nullopt,
        ctx.config.fleet_shard_count, ctx.config.origin["fleet.shard_count"],
        process_environment());
    s.rollout = fleet::plan_rollout(s.file, selected, shard);
    s.options.parallel = args.parallel >= 0 ? args.parallel : ctx.config.fleet_parallel;
    if (!changes_databases && args.parallel < 0 && ctx.config.origin["fleet.parallel"] == "default")
        s.options.parallel = kReadOnlyParallel;
    if (s.options.parallel < 1)
        throw usage_error("--parallel (fleet.parallel) must be at least 1", "e.g. --parallel 4");
    auto on_failure = fleet::parse_on_failure(args.on_failure.empty() ? ctx.config.fleet_on_failure
                                                                      : args.on_failure);
    if (!on_failure)
        throw usage_error("--on-failure must be stop or continue");
    s.options.on_failure = *on_failure;
    s.options.waves_gate = changes_databases;
    return s;
}

// Engine hooks for one target: the usual ones, progress lines naming the target, and a freeze
// mirrored into the run's lockfile (one lockfile per host, so the target is named in it).
EngineHooks target_hooks(Context& ctx, const Config& config, const Target& target,
                         std::mutex& lockfile_mutex) {
    auto hooks = default_engine_hooks(config);
    std::string name = target.name;
    hooks.progress = [name](const std::string& line) {
        log::write(log::Level::info, name + ": " + line, {{"target", name}});
    };
    hooks.freeze_changed = [&ctx, &lockfile_mutex, name](const std::optional<History::Freeze>& f) {
        if (!f || ctx.config.lockfile_path.empty())
            return;
        std::lock_guard<std::mutex> g(lockfile_mutex);
        try {
            if (!ctx.lockfile)
                ctx.lockfile = std::make_unique<Lockfile>(ctx.config.lockfile_path);
            ctx.lockfile->set_frozen("target " + name + ": " + f->reason, f->exit_code, f->version);
        } catch (const std::exception& e) {
            log::warn("could not mirror the freeze of target {} into the lockfile: {}", name,
                      e.what());
        }
    };
    return hooks;
}

std::string code_text(ExitCode code) {
    return std::to_string(static_cast<int>(code)) + " " + std::string(exit_code_name(code));
}

std::string one_line(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
    return s;
}

std::string display_database(const Target& t) {
    try {
        return redact(Dsn::parse(t.database_url()).display());
    } catch (const std::exception&) {
        return t.service.empty() ? "(invalid url)" : "service " + t.service;
    }
}

// The per-target line on stderr (a JSON line with --log-format json): which target, which
// wave, what happened, with which exit code.
void log_target(const Setup& s, const fleet::TargetResult& r) {
    log::Level level = r.state == "failed"    ? log::Level::error
                       : r.state == "skipped" ? log::Level::warn
                                              : log::Level::info;
    log::Fields fields = {{"target", r.target.name},
                          {"wave", r.wave},
                          {"shard", std::to_string(r.shard)},
                          {"command", s.command},
                          {"state", r.state},
                          {"exit_code", std::to_string(static_cast<int>(r.outcome.code))},
                          {"exit_name", std::string(exit_code_name(r.outcome.code))},
                          {"duration_ms", std::to_string(r.duration_ms)}};
    if (!r.outcome.hint.empty())
        fields.emplace_back("hint", r.outcome.hint);
    log::write(level,
               "target " + r.target.name + " (" + r.wave + "): " + r.state + ": " +
                   one_line(r.outcome.message),
               fields);
}

fleet::Observer observer_for(const Setup& s) {
    fleet::Observer o;
    o.wave_started = [&s](const std::string& wave, std::size_t n) {
        log::write(log::Level::info, "wave " + wave + ": " + std::to_string(n) + " target(s)",
                   {{"wave", wave}, {"targets", std::to_string(n)}, {"command", s.command}});
    };
    o.target_finished = [&s](const fleet::TargetResult& r) { log_target(s, r); };
    return o;
}

nlohmann::json target_json(const fleet::TargetResult& r) {
    nlohmann::json j = {{"name", r.target.name},
                        {"wave", r.wave},
                        {"shard", r.shard},
                        {"labels", r.target.labels},
                        {"database", display_database(r.target)},
                        {"state", r.state},
                        {"exit_code", static_cast<int>(r.outcome.code)},
                        {"exit_name", std::string(exit_code_name(r.outcome.code))},
                        {"message", r.outcome.message},
                        {"duration_ms", r.duration_ms},
                        {"started_at", r.started_at.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(r.started_at)},
                        {"finished_at", r.finished_at.empty() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(r.finished_at)}};
    if (!r.outcome.hint.empty())
        j["hint"] = r.outcome.hint;
    j["result"] = r.outcome.detail;
    return j;
}

nlohmann::json fleet_json(const Setup& s, const fleet::FleetResult& res) {
    nlohmann::json waves = nlohmann::json::array();
    for (std::size_t i = 0; i < res.waves.size(); ++i) {
        const auto& w = res.waves[i];
        waves.push_back({{"name", w.name},
                         {"state", w.state},
                         {"targets", s.rollout.waves[i].mine.size()},
                         {"other_shards", s.rollout.waves[i].peers.size()},
                         {"ok", w.ok},
                         {"failed", w.failed},
                         {"skipped", w.skipped}});
    }
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& r : res.targets)
        targets.push_back(target_json(r));
    nlohmann::json stopped = nullptr;
    if (res.stop)
        stopped = {{"target", res.stop->target.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(res.stop->target)},
                   {"wave", res.stop->wave},
                   {"exit_code", static_cast<int>(res.stop->code)},
                   {"exit_name", std::string(exit_code_name(res.stop->code))},
                   {"reason", res.stop->reason}};
    return {{"command", s.command},
            {"targets_file", s.file.path},
            {"select", s.select},
            {"shard",
             {{"index", s.rollout.shard.index},
              {"count", s.rollout.shard.count},
              {"index_from", s.rollout.shard.index_origin},
              {"count_from", s.rollout.shard.count_origin}}},
            {"parallel", s.options.parallel},
            {"on_failure", fleet::on_failure_name(s.options.on_failure)},
            {"exit_code", static_cast<int>(res.code)},
            {"exit_name", std::string(exit_code_name(res.code))},
            {"summary",
             {{"selected", s.rollout.selected},
              {"in_shard", res.targets.size()},
              {"ok", res.ok},
              {"failed", res.failed},
              {"skipped", res.skipped}}},
            {"stopped", stopped},
            {"waves", waves},
            {"targets", targets}};
}

// Renders rows as left-aligned columns separated by two spaces.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i)
                width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string summary_text(const Setup& s, const fleet::FleetResult& res) {
    std::string out = "\n" + std::to_string(res.targets.size()) + " target(s)";
    if (s.rollout.shard.count > 1)
        out += " in shard " + std::to_string(s.rollout.shard.index) + " of " +
               std::to_string(s.rollout.shard.count) + " (" + std::to_string(s.rollout.selected) +
               " selected in all)";
    out += ": " + std::to_string(res.ok) + " ok, " + std::to_string(res.failed) + " failed, " +
           std::to_string(res.skipped) + " skipped\n";
    if (res.stop)
        out += (res.skipped ? "stopped: " : "failed: ") + res.stop->reason + "\n";
    out += "exit " + code_text(res.code) +
           (res.targets.size() > 1 ? " (the most severe per-target code)" : "") + "\n";
    return out;
}

std::string results_text(const Setup& s, const fleet::FleetResult& res) {
    std::vector<std::vector<std::string>> rows = {
        {"TARGET", "WAVE", "STATE", "EXIT", "TIME", "RESULT"}};
    for (const auto& r : res.targets) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1fs", static_cast<double>(r.duration_ms) / 1000.0);
        rows.push_back({r.target.name, r.wave, r.state,
                        r.state == "skipped" ? "-" : code_text(r.outcome.code),
                        r.started_at.empty() ? "-" : secs, one_line(r.outcome.message)});
    }
    return table(rows) + summary_text(s, res);
}

std::string status_table(const Setup& s, const fleet::FleetResult& res) {
    std::vector<std::vector<std::string>> rows = {
        {"TARGET", "WAVE", "VERSION", "PENDING", "FROZEN", "LAST OUTCOME", "EXIT"}};
    for (const auto& r : res.targets) {
        const auto& d = r.outcome.detail;
        if (r.state == "skipped" || !d.contains("pending")) {
            // Why is printed below the table.
            rows.push_back({r.target.name, r.wave, "?", "?", "?", "-", code_text(r.outcome.code)});
            continue;
        }
        std::string version = d["version"].is_null() ? "(none)" : d["version"].get<std::string>();
        std::string last = "-";
        if (!d["last"].is_null()) {
            const auto& l = d["last"];
            last = l["op"].get<std::string>() + " " + l["version"].get<std::string>() + " " +
                   l["outcome"].get<std::string>() + " " + l["at"].get<std::string>();
        }
        rows.push_back({r.target.name, r.wave, version, std::to_string(d["pending"].get<int>()),
                        d["freeze"].is_null() ? "no" : "FROZEN", last, code_text(r.outcome.code)});
    }
    std::string out = table(rows);
    for (const auto& r : res.targets)
        if (r.outcome.code != ExitCode::ok)
            out += r.target.name + ": " + one_line(r.outcome.message) + "\n";
    return out + summary_text(s, res);
}

// The Prometheus textfile of a fleet run: the run's own gauges plus one series per target.
void write_fleet_metrics(Context& ctx, const Setup& s, const fleet::FleetResult& res) {
    const auto& path = ctx.globals.metrics_file;
    if (path.empty())
        return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
    std::string cmd = "command=\"" + s.command + "\"";
    auto gauge = [](const std::string& name, const std::string& help) {
        return "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    };
    std::string out;
    out += gauge("rollsafe_last_run_exit_code",
                 "Exit code of the last rollsafe run (docs/exit-codes.md).");
    out += "rollsafe_last_run_exit_code{" + cmd + "} " +
           std::to_string(static_cast<int>(res.code)) + "\n";
    out += gauge("rollsafe_last_run_success", "1 when the last run exited 0.");
    out +=
        "rollsafe_last_run_success{" + cmd + "} " + (res.code == ExitCode::ok ? "1" : "0") + "\n";
    out += gauge("rollsafe_last_run_duration_seconds", "Wall time of the last run.");
    out += "rollsafe_last_run_duration_seconds{" + cmd + "} " + std::to_string(seconds) + "\n";
    out += gauge("rollsafe_last_run_timestamp_seconds", "When the last run ended (Unix time).");
    out += "rollsafe_last_run_timestamp_seconds{" + cmd + "} " +
           std::to_string(static_cast<long long>(std::time(nullptr))) + "\n";
    out += gauge("rollsafe_fleet_targets",
                 "Targets of the last fleet run by state (ok, failed, skipped).");
    out += "rollsafe_fleet_targets{" + cmd + ",state=\"ok\"} " + std::to_string(res.ok) + "\n";
    out +=
        "rollsafe_fleet_targets{" + cmd + ",state=\"failed\"} " + std::to_string(res.failed) + "\n";
    out += "rollsafe_fleet_targets{" + cmd + ",state=\"skipped\"} " + std::to_string(res.skipped) +
           "\n";
    out += gauge("rollsafe_fleet_target_exit_code",
                 "Exit code of each target in the last fleet run (-1: not started).");
    for (const auto& r : res.targets)
        out += "rollsafe_fleet_target_exit_code{" + cmd + ",target=\"" + r.target.name +
               "\",wave=\"" + r.wave + "\"} " +
               (r.state == "skipped" ? std::string("-1")
                                     : std::to_string(static_cast<int>(r.outcome.code))) +
               "\n";
    if (s.command == "status") {
        out += gauge("rollsafe_fleet_target_pending_migrations",
                     "Migrations in the files not applied yet, per target.");
        for (const auto& r : res.targets)
            if (r.outcome.detail.contains("pending"))
                out += "rollsafe_fleet_target_pending_migrations{target=\"" + r.target.name +
                       "\"} " + std::to_string(r.outcome.detail["pending"].get<int>()) + "\n";
        out += gauge("rollsafe_fleet_target_frozen", "1 while a freeze is in force, per target.");
        for (const auto& r : res.targets)
            if (r.outcome.detail.contains("freeze"))
                out += "rollsafe_fleet_target_frozen{target=\"" + r.target.name + "\"} " +
                       (r.outcome.detail["freeze"].is_null() ? "0" : "1") + "\n";
    }
    try {
        fs::write_file_atomic(path, out, 0644);
    } catch (const std::exception& e) {
        log::warn("metrics: {}", e.what());
    }
}

// Runs the rollout, prints the report (text table or one JSON document) and the summary log
// line, writes the metrics; returns the overall exit code.
int finish(Context& ctx, Setup& s, const fleet::Work& work, bool status_layout = false) {
    auto observer = observer_for(s);
    auto res = fleet::run_rollout(s.rollout, s.options, work, observer);
    if (ctx.json())
        ctx.print_json(fleet_json(s, res));
    else
        ctx.print(status_layout ? status_table(s, res) : results_text(s, res));
    log::Fields fields = {{"command", s.command},
                          {"targets", std::to_string(res.targets.size())},
                          {"ok", std::to_string(res.ok)},
                          {"failed", std::to_string(res.failed)},
                          {"skipped", std::to_string(res.skipped)},
                          {"exit_code", std::to_string(static_cast<int>(res.code))},
                          {"exit_name", std::string(exit_code_name(res.code))}};
    if (res.stop && !res.stop->target.empty())
        fields.emplace_back("stopped_by", res.stop->target);
    log::write(res.code == ExitCode::ok ? log::Level::info : log::Level::error,
               "fleet " + s.command + ": " + std::to_string(res.ok) + " ok, " +
                   std::to_string(res.failed) + " failed, " + std::to_string(res.skipped) +
                   " skipped",
               fields);
    write_fleet_metrics(ctx, s, res);
    return static_cast<int>(res.code);
}

// Says when waves cannot hold across pods: only `up` can tell from a peer's database that it is
// done (down --steps and rollback have no fleet-wide goal to read back).
void warn_waves_within_shard(const Setup& s) {
    if (s.rollout.shard.count > 1 && s.rollout.waves.size() > 1)
        log::warn(
            "{} --targets with shards: waves are ordered within this shard only; run one wave per "
            "Job "
            "(--select wave=...) when the order must hold across pods",
            s.command);
}

// Asks once on a terminal before a command that reverts migrations on many targets.
void confirm_fleet(Context& ctx, const Setup& s, const std::string& what, bool yes, bool dry_run) {
    if (dry_run || yes || !ctx.interactive())
        return;
    std::size_t n = 0;
    for (const auto& w : s.rollout.waves)
        n += w.mine.size();
    if (!ctx.confirm(what + " on " + std::to_string(n) + " target(s) of " + s.file.path + "?"))
        throw usage_error("not confirmed; nothing was changed",
                          "run with --dry-run to see each target's plan, or --yes");
}

Outcome run_outcome(const RunResult& run, bool dry_run) {
    Outcome o;
    o.code = run.code;
    o.message = run.message;
    if (dry_run && run.code == ExitCode::ok)
        o.message = run.plan.steps.empty() ? "nothing to do (dry run)"
                                           : "would run " + std::to_string(run.plan.steps.size()) +
                                                 " migration(s) (dry run)";
    if (o.message.empty())
        o.message = run.nothing_to_do ? "nothing to do" : "done";
    o.hint = run.hint;
    o.detail = run_json(run, dry_run);
    return o;
}

}  // namespace

int run_fleet_up(Context& ctx, const FleetArgs& fleet_args, const UpArgs& args) {
    auto s = prepare(ctx, fleet_args, "up", true);
    std::mutex lockfile_mutex;
    UpOptions o;
    if (!args.to.empty())
        o.to_version = args.to;
    o.release = args.release;
    o.dry_run = args.dry_run;
    o.allow_out_of_order = args.allow_out_of_order;
    if (s.rollout.shard.count > 1 && !args.dry_run) {
        // Waves across pods: a wave starts once the earlier waves' targets of other shards are up.
        auto probe = fleet::up_peer_probe(ctx.config, o.to_version,
                                          args.allow_out_of_order || ctx.config.allow_out_of_order);
        auto wait = ctx.config.fleet_wave_wait;
        s.options.wait_for_peers = [probe, wait](
                                       const std::vector<std::pair<std::string, Target>>& peers) {
            return fleet::wait_for_peers(peers, probe, wait, std::chrono::seconds(2),
                                         [](const std::string& line) { log::info("{}", line); });
        };
    }
    return finish(ctx, s, [&](const Target& t) {
        auto config = fleet::target_config(ctx.config, t);
        Engine engine(config, target_hooks(ctx, config, t, lockfile_mutex));
        return run_outcome(engine.up(o), args.dry_run);
    });
}

int run_fleet_down(Context& ctx, const FleetArgs& fleet_args, const DownArgs& args) {
    auto s = prepare(ctx, fleet_args, "down", true);
    if (args.to.empty() && args.steps <= 0)
        throw usage_error("down needs --to VERSION or --steps N",
                          "e.g. rollsafe down --targets targets.toml --steps 1");
    warn_waves_within_shard(s);
    confirm_fleet(
        ctx, s,
        "Revert migrations (down" +
            (args.to.empty() ? " --steps " + std::to_string(args.steps) : " --to " + args.to) + ")",
        args.yes, args.dry_run);
    std::mutex lockfile_mutex;
    DownOptions o;
    if (!args.to.empty())
        o.to_version = args.to;
    o.steps = args.steps;
    o.atomic = args.atomic;
    o.use_file = args.use_file;
    o.use_stored = args.use_stored;
    o.dry_run = args.dry_run;
    o.reason = args.reason;
    o.release = args.release;
    return finish(ctx, s, [&](const Target& t) {
        auto config = fleet::target_config(ctx.config, t);
        Engine engine(config, target_hooks(ctx, config, t, lockfile_mutex));
        return run_outcome(engine.down(o), args.dry_run);
    });
}

int run_fleet_rollback(Context& ctx, const FleetArgs& fleet_args, const RollbackArgs& args) {
    if (args.release.empty() == args.version.empty())
        throw usage_error("rollback needs exactly one of --to-release R or --to-version V");
    auto s = prepare(ctx, fleet_args, "rollback", true);
    warn_waves_within_shard(s);
    confirm_fleet(ctx, s,
                  "Roll back to " + (args.release.empty() ? "version " + args.version
                                                          : "release " + args.release),
                  args.yes, args.dry_run);
    if (ctx.lockfile && !args.release.empty())
        ctx.lockfile->set_release(args.release);
    std::mutex lockfile_mutex;
    RollbackOptions o;
    o.release = args.release;
    if (!args.version.empty())
        o.to_version = args.version;
    o.force_schema = args.force_schema;
    o.reason = args.reason;
    o.dry_run = args.dry_run;
    return finish(ctx, s, [&](const Target& t) {
        auto config = fleet::target_config(ctx.config, t);
        Engine engine(config, target_hooks(ctx, config, t, lockfile_mutex));
        auto run = engine.rollback(o);
        auto out = run_outcome(run, args.dry_run);
        if (run.nothing_to_do || out.message.empty())
            out.message = run.decision;
        out.detail["decision"] = run.decision;
        out.detail["target_version"] = run.target_version;
        out.detail["verification"] = run.verification;
        out.detail["differences"] = run.differences;
        return out;
    });
}

int run_fleet_status(Context& ctx, const FleetArgs& fleet_args, const StatusArgs&) {
    auto s = prepare(ctx, fleet_args, "status", false);
    return finish(
        ctx, s,
        [&](const Target& t) {
            Engine engine(fleet::target_config(ctx.config, t));
            auto ts = fleet::read_target_status(engine);
            const auto& st = ts.report;
            Outcome o;
            o.code = ts.code;
            std::vector<std::string> pending;
            for (const auto& e : st.entries)
                if (e.state == "pending" || e.state == "out-of-order")
                    pending.push_back(e.version + "_" + e.name);
            nlohmann::json last = nullptr;
            if (ts.last) {
                last = {{"op", ts.last->op},          {"version", ts.last->version},
                        {"name", ts.last->name},      {"outcome", ts.last->outcome},
                        {"at", ts.last->finished_at}, {"release", ts.last->release},
                        {"run_id", ts.last->run_id}};
                const auto& d = ts.last->details;
                if (d.is_object() && d.contains("exit_code"))
                    last["exit_code"] = d["exit_code"];
                if (!ts.last->error.empty())
                    last["error"] = ts.last->error;
            }
            o.detail = {
                {"database", st.database},
                {"initialized", st.initialized},
                {"version", st.current_version.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(st.current_version)},
                {"pending", st.pending},
                {"pending_migrations", pending},
                {"counts",
                 {{"applied", st.applied},
                  {"pending", st.pending},
                  {"dirty", st.dirty},
                  {"drifted", st.drifted},
                  {"missing_files", st.missing},
                  {"out_of_order", st.out_of_order}}},
                {"freeze", freeze_json(st.freeze)},
                {"lock", lock_holder_json(st.lock)},
                {"last", last}};
            o.message = (st.current_version.empty() ? std::string("no migration applied")
                                                    : "at " + st.current_version) +
                        ", " + std::to_string(st.pending) + " pending";
            if (ts.code != ExitCode::ok)
                o.message = ts.reason;
            return o;
        },
        true);
}

int run_fleet_gate(Context& ctx, const FleetArgs& fleet_args, const GateArgs& args) {
    auto s = prepare(ctx, fleet_args, "gate", false);
    GateOptions o;
    o.release = args.release;
    if (!args.wait.empty()) {
        auto w = parse_duration(args.wait);
        if (!w)
            throw usage_error("--wait \"" + args.wait + "\" is not a duration", "e.g. --wait 300s");
        o.wait = *w;
    }
    return finish(ctx, s, [&](const Target& t) {
        Engine engine(fleet::target_config(ctx.config, t));
        auto g = engine.gate(o);
        Outcome out;
        out.code = g.code;
        out.message = g.message;
        out.hint = g.hint;
        out.detail = {{"ready", g.code == ExitCode::ok},
                      {"release", g.release},
                      {"needs_version", g.needs_version},
                      {"schema_version", g.schema_version},
                      {"missing", g.missing},
                      {"incompatible", g.incompatible},
                      {"polls", g.polls}};
        return out;
    });
}

int run_fleet_check(Context& ctx, const FleetArgs& fleet_args, const CheckArgs& args) {
    std::vector<std::string> unsupported;
    if (!args.files.empty())
        unsupported.push_back("files");
    if (!args.blue.empty() || !args.green.empty())
        unsupported.push_back("--blue/--green");
    if (!args.layers.empty() && args.layers != "rules")
        unsupported.push_back("--layers");
    if (!args.schema.empty())
        unsupported.push_back("--schema");
    if (!args.dev_url.empty())
        unsupported.push_back("--dev-url");
    if (args.with_data)
        unsupported.push_back("--with-data");
    if (args.list_rules)
        unsupported.push_back("--list-rules");
    if (!args.format.empty() && args.format != "text" && args.format != "json")
        unsupported.push_back("--format " + args.format);
    if (!unsupported.empty())
        throw usage_error(
            "check --targets checks each target's pending migrations with the rules; " +
                text::join(unsupported, ", ") + " do not apply",
            "run those checks once without --targets (docs/check.md)");
    for (const auto& id : args.disable)
        if (!check::find_rule(id))
            throw usage_error("--disable " + id + ": no such rule",
                              "`rollsafe check --list-rules` shows them");
    auto s = prepare(ctx, fleet_args, "check", false);
    // The files are read and parsed once; targets in the same state share one verdict.
    std::vector<Diagnostic> problems;
    auto set = read_migrations(ctx.config.migrations_dir, ctx.config.layout, problems);
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
    std::mutex cache_mutex;
    std::map<std::string, std::pair<check::Report, std::vector<std::string>>> verdicts;
    return finish(ctx, s, [&](const Target& t) {
        Engine engine(fleet::target_config(ctx.config, t));
        auto status = engine.status();
        int pg_version = args.pg_version > 0 ? args.pg_version : ctx.config.pg_version;
        if (pg_version <= 0)
            pg_version = engine.session().server_version() / 10000;
        std::set<std::string> done = status.applied_keys();
        std::vector<const Migration*> pending, applied;
        std::string key = std::to_string(pg_version) + ":";
        for (const auto& m : set.migrations) {
            if (done.count(m.version.key())) {
                applied.push_back(&m);
            } else {
                pending.push_back(&m);
                key += m.version.key() + ",";
            }
        }
        std::lock_guard<std::mutex> g(cache_mutex);
        auto it = verdicts.find(key);
        if (it == verdicts.end()) {
            check::Options options;
            options.pg_version = pg_version;
            options.lock_timeout_ms = static_cast<long long>(ctx.config.lock_timeout.count());
            options.applied = applied;
            options.disabled_rules.insert(args.disable.begin(), args.disable.end());
            std::vector<std::string> ids;
            for (const auto* m : pending)
                ids.push_back(m->id());
            it = verdicts
                     .emplace(key, std::make_pair(check::check_migrations(pending, options), ids))
                     .first;
        }
        const auto& report = it->second.first;
        Outcome o;
        o.code = static_cast<ExitCode>(report.exit_code());
        nlohmann::json findings = nlohmann::json::array();
        for (const auto& v : report.migrations)
            for (const auto& f : v.findings) {
                if (f.suppressed || f.severity == check::Severity::info)
                    continue;
                findings.push_back({{"migration", f.migration},
                                    {"rule", f.rule_id},
                                    {"severity", check::severity_text(f.severity)},
                                    {"position", f.file + ":" + std::to_string(f.line) + ":" +
                                                     std::to_string(f.col)},
                                    {"message", f.message}});
            }
        o.detail = {{"pg_version", pg_version},          {"pending", it->second.second},
                    {"errors", report.errors()},         {"warnings", report.warnings()},
                    {"suppressed", report.suppressed()}, {"findings", findings}};
        o.message = pending.empty()
                        ? "nothing pending"
                        : std::to_string(pending.size()) +
                              " pending: " + std::to_string(report.errors()) + " error(s), " +
                              std::to_string(report.warnings()) + " warning(s)";
        if (o.code == ExitCode::check_failed)
            o.hint = "`rollsafe check` on the migrations folder shows each finding with its fix";
        return o;
    });
}

}  // namespace rollsafe::cli
