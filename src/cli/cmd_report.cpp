#include <ctime>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/engine/report.h"

namespace rollsafe::cli {

int run_report(Context& ctx, const ReportArgs& args) {
    Engine engine(ctx.config, hooks_for(ctx));
    History::Filter f;
    if (!args.since.empty()) {
        f.since = args.since;
    } else {
        auto last = parse_duration(args.last.empty() ? "24h" : args.last);
        if (!last)
            throw usage_error("--last \"" + args.last + "\" is not a duration", "e.g. --last 24h");
        std::time_t t = std::time(nullptr) - static_cast<std::time_t>(last->count() / 1000);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        f.since = buf;
    }
    auto rows = engine.history(f);
    bool frozen = false;
    if (!rows.empty())
        frozen = engine.history_store().freeze().has_value();
    auto rep = build_report(rows, Dsn::parse(ctx.config.database_url).display(), frozen);
    std::string format = args.format.empty() ? ctx.globals.output : args.format;
    if (format == "json")
        ctx.print_json(rep.to_json());
    else if (format == "markdown")
        ctx.print(rep.to_markdown());
    else
        ctx.print(rep.to_text());
    return 0;
}

}  // namespace rollsafe::cli
