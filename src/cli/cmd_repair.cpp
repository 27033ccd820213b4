#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/base/error.h"
#include "core/engine/default_hooks.h"

namespace rollsafe::cli {

int run_repair(Context& ctx, const RepairArgs& args) {
    int actions =
        (args.resume ? 1 : 0) + (args.mark_applied ? 1 : 0) + (args.mark_rolled_back ? 1 : 0);
    if (actions != 1)
        throw usage_error(
            "repair needs exactly one of --resume, --mark-applied, --mark-rolled-back");
    Engine engine(ctx.config, hooks_for(ctx));
    auto action = args.resume         ? Engine::RepairAction::resume
                  : args.mark_applied ? Engine::RepairAction::mark_applied
                                      : Engine::RepairAction::mark_rolled_back;
    return finish_run(ctx, engine.repair(action, args.version, args.reason, args.dry_run),
                      args.dry_run);
}

int run_unfreeze(Context& ctx, const UnfreezeArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    bool was = engine.unfreeze(args.reason);
    if (ctx.json())
        ctx.print_json({{"unfrozen", was}});
    else
        ctx.print(was ? "deployments unfrozen" : "no freeze was in force");
    return 0;
}

int run_freeze(Context& ctx, const FreezeArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    engine.freeze(args.reason);
    if (ctx.json())
        ctx.print_json({{"frozen", true}, {"reason", args.reason}});
    else
        ctx.print("deployments frozen: " + args.reason);
    return 0;
}

}  // namespace rollsafe::cli
