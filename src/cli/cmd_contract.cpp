// `rollsafe contract capture`: a release's app contract from pg_stat_statements.
#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/compat/capture.h"
#include "core/compat/contract.h"

namespace rollsafe::cli {

int run_contract(Context& ctx, const ContractArgs& args) {
    if (args.merge && args.force) throw usage_error("give --merge or --force, not both");
    const bool to_stdout = args.out == "-";
    const std::string path = !args.out.empty() ? args.out
                                               : compat::contract_path(compat::contracts_dir_for(ctx.config.migrations_dir),
                                                                       args.release);
    std::string existing;
    if (!to_stdout && fs::exists(path)) {
        if (!args.merge && !args.force)
            throw usage_error(path + " exists", "pass --merge to add the statements it lacks, or --force to replace it");
        if (args.merge) existing = fs::read_file(path).value_or("");
    }
    Dsn dsn = Dsn::parse(ctx.config.database_url);
    db::ConnectOptions co;
    co.connect_timeout = ctx.config.connect_timeout;
    co.retries = ctx.config.connect_retries;
    co.application_name = "rollsafe-contract";
    auto session = db::connect(dsn, co);
    compat::CaptureOptions options;
    options.min_calls = args.min_calls;
    options.history_schema = ctx.config.history_schema;
    auto capture = compat::capture_statements(*session, options);
    int added = 0;
    auto text = compat::contract_text(args.release, dsn.display(), capture, existing, &added);
    if (to_stdout) {
        ctx.print(text);
        return 0;
    }
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) fs::make_dirs(path.substr(0, slash), 0755);
    fs::write_file_atomic(path, text, 0644);
    if (ctx.json()) {
        nlohmann::json statements = nlohmann::json::array();
        for (const auto& s : capture.statements)
            statements.push_back({{"text", s.text}, {"fingerprint", s.fingerprint}, {"calls", s.calls}});
        ctx.print_json({{"release", args.release},
                        {"path", path},
                        {"rows_read", capture.seen},
                        {"left_out", capture.skipped},
                        {"duplicates", capture.duplicates},
                        {"added", added},
                        {"statements", statements}});
    } else {
        ctx.print("wrote " + path + ": " + std::to_string(added) + " statement(s) added (" + std::to_string(capture.seen) +
                  " pg_stat_statements row(s) read, " + std::to_string(capture.skipped) + " left out, " +
                  std::to_string(capture.duplicates) + " duplicate(s) by fingerprint)\n" +
                  "next: review it, then `rollsafe check --blue <running> --green " + args.release + "`");
    }
    return 0;
}

}  // namespace rollsafe::cli
