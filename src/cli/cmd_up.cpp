#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/engine/default_hooks.h"
#include "core/engine/port.h"

namespace rollsafe::cli {

int run_up(Context& ctx, const UpArgs& args) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
    UpOptions o;
    if (!args.to.empty())
        o.to_version = args.to;
    o.release = args.release;
    o.dry_run = args.dry_run;
    o.allow_out_of_order = args.allow_out_of_order;
    return finish_run(ctx, engine->up(o), args.dry_run);
}

int run_plan(Context& ctx, const PlanArgs& args) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
    RunResult run;
    if (args.down_steps > 0 || !args.down_to.empty()) {
        DownOptions o;
        o.steps = args.down_steps;
        if (!args.down_to.empty())
            o.to_version = args.down_to;
        o.atomic = args.atomic;
        run.plan = engine->plan_down(o);
    } else {
        UpOptions o;
        if (!args.to.empty())
            o.to_version = args.to;
        o.allow_out_of_order = args.allow_out_of_order;
        run.plan = engine->plan_up(o);
    }
    run.nothing_to_do = run.plan.steps.empty();
    if (ctx.json())
        ctx.print_json(plan_json(run.plan));
    else
        ctx.print(plan_text(run.plan));
    return 0;
}

}  // namespace rollsafe::cli
