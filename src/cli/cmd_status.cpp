#include "cli/commands.h"
#include "cli/render_engine.h"
#include "core/engine/default_hooks.h"
#include "core/engine/port.h"

namespace rollsafe::cli {

int run_status(Context& ctx, const StatusArgs&) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
    auto status = engine->status();
    if (ctx.json())
        ctx.print(status_json(status));
    else
        ctx.print(status_text(status));
    return 0;
}

int run_history(Context& ctx, const HistoryArgs& args) {
    auto engine = make_engine(ctx.config, hooks_for(ctx));
    History::Filter f;
    if (!args.version.empty()) {
        auto v = Version::parse(args.version);
        f.version_key = v ? v->key() : args.version;
    }
    f.op = args.op;
    f.limit = args.limit;
    f.since = args.since;
    auto rows = engine->history(f);
    if (ctx.json()) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back(history_row_json(r));
        ctx.print_json({{"history", out}});
    } else {
        ctx.print(history_text(rows));
    }
    return 0;
}

}  // namespace rollsafe::cli
