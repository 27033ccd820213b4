#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/base/error.h"
#include "core/migrations/releases.h"

namespace rollsafe::cli {

int run_rollback(Context& ctx, const RollbackArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    RollbackOptions o;
    o.release = args.release;
    if (!args.version.empty())
        o.to_version = args.version;
    if (args.release.empty() == args.version.empty())
        throw usage_error("rollback needs exactly one of --to-release R or --to-version V");
    o.force_schema = args.force_schema;
    o.reason = args.reason;
    if (ctx.lockfile && !args.release.empty())
        ctx.lockfile->set_release(args.release);
    if (!args.dry_run && !args.yes && ctx.interactive()) {
        auto dry = o;
        dry.dry_run = true;
        auto preview = engine.rollback(dry);
        std::fputs((preview.decision + "\n").c_str(), stderr);
        if (preview.nothing_to_do) {
            o.dry_run = false;
        } else {
            std::fputs(plan_text(preview.plan).c_str(), stderr);
            if (!ctx.confirm("Run these down scripts?"))
                throw usage_error("not confirmed; nothing was changed",
                                  "pass --yes to skip the question");
        }
    }
    o.dry_run = args.dry_run;
    auto run = engine.rollback(o);
    if (ctx.json()) {
        auto doc = run_json(run, args.dry_run);
        doc["decision"] = run.decision;
        doc["target_version"] = run.target_version;
        doc["verification"] = run.verification;
        doc["differences"] = run.differences;
        ctx.print_json(doc);
        return static_cast<int>(run.code);
    }
    std::string out = "decision: " + run.decision + "\n";
    if (args.dry_run && !run.nothing_to_do)
        out += plan_text(run.plan) + "(dry run: nothing was changed)\n";
    if (!run.verification.empty())
        out += "verification: " + run.verification + "\n";
    for (const auto& d : run.differences)
        out += "  " + d + "\n";
    if (run.code == ExitCode::ok) {
        ctx.print(out + (args.dry_run ? "" : run.message));
    } else {
        std::fputs((out + run_text(run)).c_str(), stderr);
    }
    return static_cast<int>(run.code);
}

int run_releases(Context& ctx, const ReleasesArgs&) {
    Engine engine(ctx.config, hooks_for(ctx));
    auto rel = read_releases(releases_path_for(ctx.config.migrations_dir));
    auto deployed = engine.releases();
    nlohmann::json list = nlohmann::json::array();
    std::string text = rel.exists ? "releases in " + rel.path + ":\n" : "no " + rel.path + "\n";
    for (const auto& r : rel.releases) {
        std::string last_deploy;
        for (const auto& d : deployed)
            if (d.release == r.name)
                last_deploy = d.deployed_at;
        list.push_back(
            {{"release", r.name}, {"version", r.version.text()}, {"deployed_at", last_deploy}});
        text += "  " + r.name + "  ships up to " + r.version.text() +
                (last_deploy.empty() ? "" : "  (last deployed " + last_deploy + ")") + "\n";
    }
    nlohmann::json deploys = nlohmann::json::array();
    if (!deployed.empty())
        text += "deploys recorded in the database:\n";
    for (const auto& d : deployed) {
        deploys.push_back({{"release", d.release},
                           {"version", d.version},
                           {"fingerprint", d.fingerprint},
                           {"deployed_at", d.deployed_at},
                           {"run_id", d.run_id}});
        text += "  " + d.deployed_at + "  " + d.release + " at schema " +
                (d.version.empty() ? "(none)" : d.version) + "  catalog " +
                d.fingerprint.substr(0, 12) + "\n";
    }
    if (ctx.json())
        ctx.print_json({{"releases", list}, {"deploys", deploys}});
    else
        ctx.print(text);
    return 0;
}

}  // namespace rollsafe::cli
