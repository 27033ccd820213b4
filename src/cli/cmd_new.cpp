#include <ctime>

#include "cli/commands.h"
#include "core/migrations/scaffold.h"

namespace rollsafe::cli {

int run_new(Context& ctx, const NewArgs& args) {
    auto paths = create_migration(ctx.config.migrations_dir, ctx.config.layout, args.name,
                                  std::time(nullptr));
    if (ctx.json()) {
        ctx.print_json({{"files", paths}});
    } else {
        std::string out;
        for (const auto& p : paths)
            out += "created " + p + "\n";
        out += "write the up and the down script, then: rollsafe validate";
        ctx.print(out);
    }
    return 0;
}

}  // namespace rollsafe::cli
