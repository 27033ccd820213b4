#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/base/error.h"
#include "core/engine/default_hooks.h"
#include "core/engine/port.h"

namespace rollsafe::cli {

int run_down(Context& ctx, const DownArgs& args) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
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
    if (!args.dry_run && !args.yes && ctx.interactive()) {
        auto plan = engine->plan_down(o);
        if (plan.steps.empty()) {
            ctx.print("nothing to do: no applied migration is newer than the target");
            return 0;
        }
        std::fputs(plan_text(plan).c_str(), stderr);
        if (!ctx.confirm("Revert these " + std::to_string(plan.steps.size()) + " migration(s)?"))
            throw usage_error("not confirmed; nothing was changed",
                              "pass --yes to skip the question");
    }
    return finish_run(ctx, engine->down(o), args.dry_run);
}

}  // namespace rollsafe::cli
