#include <cstdio>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/text.h"
#include "core/engine/port.h"
#include "core/snapshot/restore.h"

namespace rollsafe::cli {
namespace {

using snapshot::RestorePlan;

nlohmann::json plan_json(const RestorePlan& p) {
    nlohmann::json deps = nlohmann::json::array();
    for (const auto& d : p.dependents)
        deps.push_back({{"kind", d.kind}, {"name", d.name}, {"action", d.action}});
    return {{"snapshot", p.snapshot_id},
            {"snapshot_created_at", p.snapshot_created_at},
            {"table", p.table},
            {"mode", p.mode},
            {"into", p.into},
            {"staging_schema", p.staging_schema},
            {"aside", p.aside_name},
            {"table_exists", p.table_exists},
            {"snapshot_rows", p.snapshot_rows},
            {"current_rows", p.current_rows},
            {"objects", p.objects},
            {"dependents", deps},
            {"blockers", p.blockers},
            {"steps", p.steps},
            {"notes", p.notes}};
}

std::string plan_text(const RestorePlan& p) {
    std::string out;
    if (p.mode == "into") {
        out += "restore snapshot " + p.snapshot_id + " (" + p.snapshot_created_at +
               ") into the new database " + p.into + "\n";
    } else {
        out += "restore " + p.table + " from snapshot " + p.snapshot_id + " (" +
               p.snapshot_created_at + "), mode " + p.mode + "\n";
        out += "  rows: " + std::to_string(p.snapshot_rows) + " in the snapshot, " +
               (p.table_exists ? std::to_string(p.current_rows) + " now"
                               : "the table does not exist now") +
               "\n";
    }
    out += "  from the archive: " + text::join(p.objects, ", ") + "\n";
    for (const auto& d : p.dependents)
        out += "  depends on it: " + d.kind + " " + d.name + ": " + d.action + "\n";
    out += "  steps:\n";
    for (const auto& s : p.steps)
        out += "    " + s + "\n";
    for (const auto& n : p.notes)
        out += "  note: " + n + "\n";
    for (const auto& b : p.blockers)
        out += "  REFUSED: " + b + "\n";
    return out;
}

}  // namespace

int run_restore(Context& ctx, const RestoreArgs& args) {
    if (engine_kind(ctx.config.database_url) == EngineKind::sqlite)
        return run_sqlite_restore(ctx, args);
    snapshot::Restorer restorer(ctx.config);
    snapshot::RestoreOptions o;
    o.snapshot_id = args.snapshot;
    o.table = args.table;
    o.mode = args.mode;
    o.into = args.into;
    o.dry_run = args.dry_run;
    o.reason = args.reason;
    if (args.dry_run) {
        auto plan = restorer.plan(o);
        if (ctx.json())
            ctx.print_json({{"dry_run", true}, {"plan", plan_json(plan)}});
        else
            ctx.print(plan_text(plan));
        if (!plan.blockers.empty())
            throw usage_error(
                "the restore would refuse: " + text::join(plan.blockers, "; "),
                plan.mode == "swap"
                    ? "use --mode data or --mode side-by-side, or handle those objects first"
                    : "");
        return 0;
    }
    if (!args.yes && ctx.interactive()) {
        auto plan = restorer.plan(o);
        std::fputs(plan_text(plan).c_str(), stderr);
        if (!plan.blockers.empty())
            throw usage_error("the restore would refuse: " + text::join(plan.blockers, "; "),
                              "nothing was changed");
        if (!ctx.confirm(plan.mode == "into" ? "Restore into " + plan.into + "?"
                                             : "Restore " + plan.table + "?"))
            throw usage_error("not confirmed; nothing was changed",
                              "pass --yes to skip the question");
    }
    auto res = restorer.run(o);
    if (ctx.json()) {
        ctx.print_json({{"restored", true},
                        {"message", res.message},
                        {"rows", res.rows},
                        {"duration_ms", res.duration_ms},
                        {"attempts", res.attempts},
                        {"plan", plan_json(res.plan)}});
    } else {
        std::string out = res.message + "\n";
        for (const auto& n : res.plan.notes)
            out += "note: " + n + "\n";
        if (!res.hint.empty())
            out += "hint: " + res.hint + "\n";
        ctx.print(out);
    }
    return 0;
}

}  // namespace rollsafe::cli
