#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/base/error.h"
#include "core/engine/default_hooks.h"

namespace rollsafe::cli {

int run_baseline(Context& ctx, const BaselineArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    if (args.version.empty() == args.from.empty())
        throw usage_error(
            "baseline needs exactly one of --version V or --from golang-migrate|dbmate|flyway");
    auto run = args.from.empty()
                   ? engine.baseline_version(args.version, args.reason, args.dry_run)
                   : engine.baseline_from(args.from, args.from_table, args.reason, args.dry_run);
    return finish_run(ctx, run, args.dry_run);
}

}  // namespace rollsafe::cli
