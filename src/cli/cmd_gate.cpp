#include "cli/commands.h"
#include "core/base/error.h"

namespace rollsafe::cli {

int run_gate(Context& ctx, const GateArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    GateOptions o;
    o.release = args.release;
    if (!args.wait.empty()) {
        auto w = parse_duration(args.wait);
        if (!w)
            throw usage_error("--wait \"" + args.wait + "\" is not a duration", "e.g. --wait 300s");
        o.wait = *w;
    }
    auto g = engine.gate(o);
    if (ctx.json()) {
        nlohmann::json doc = {{"exit_code", static_cast<int>(g.code)},
                              {"exit_name", std::string(exit_code_name(g.code))},
                              {"ready", g.code == ExitCode::ok},
                              {"release", g.release},
                              {"needs_version", g.needs_version},
                              {"schema_version", g.schema_version},
                              {"missing", g.missing},
                              {"incompatible", g.incompatible},
                              {"polls", g.polls},
                              {"message", g.message}};
        if (!g.hint.empty())
            doc["hint"] = g.hint;
        ctx.print_json(doc);
    } else if (g.code == ExitCode::ok) {
        ctx.print(g.message);
    } else {
        std::fputs(
            ("rollsafe: " + g.message + "\n" + (g.hint.empty() ? "" : "hint: " + g.hint + "\n") +
             "exit " + std::to_string(static_cast<int>(g.code)) + " " +
             std::string(exit_code_name(g.code)) + "\n")
                .c_str(),
            stderr);
    }
    return static_cast<int>(g.code);
}

}  // namespace rollsafe::cli
