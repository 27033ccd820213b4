#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/engine/default_hooks.h"
#include "core/engine/port.h"

namespace rollsafe::cli {

int run_lock(Context& ctx, const LockArgs& args) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
    if (args.action == "break") {
        auto removed = engine->break_lock(args.reason);
        if (ctx.json())
            ctx.print_json(
                {{"broken", removed.has_value()}, {"holder", lock_holder_json(removed)}});
        else
            ctx.print(removed ? "removed the migration lock of " + removed->command + " (pid " +
                                    std::to_string(removed->pid) + " on " + removed->host + ")"
                              : "nobody holds the migration lock");
        return 0;
    }
    auto holder = engine->lock_status();
    if (ctx.json()) {
        ctx.print_json({{"held", holder.has_value() && !holder->expired},
                        {"holder", lock_holder_json(holder)}});
    } else if (!holder) {
        ctx.print("free: nobody holds the migration lock");
    } else {
        ctx.print(std::string(holder->expired ? "expired" : "held") + ": " + holder->command +
                  " (pid " + std::to_string(holder->pid) + " on " + holder->host +
                  (holder->pod.empty() ? "" : ", pod " + holder->pod) + "), since " +
                  holder->acquired_at + ", last heartbeat " + holder->heartbeat_at +
                  ", lease until " + holder->expires_at);
    }
    return 0;
}

}  // namespace rollsafe::cli
