#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/sandbox/pg_sandbox.h"

namespace rollsafe::cli {

int run_sandbox(Context& ctx, const SandboxArgs& args) {
    SandboxOptions options;
    options.tcp = args.tcp;
    for (const auto& kv : args.settings) {
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            throw usage_error("--set " + kv + ": expected key=value");
        options.settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    PgSandbox sandbox(options);
    if (ctx.json()) {
        ctx.print_json({{"dir", sandbox.dir()},
                        {"port", sandbox.port()},
                        {"conninfo", sandbox.conninfo()},
                        {"url", sandbox.url()},
                        {"startup_ms", sandbox.startup_time().count()},
                        {"server_user", sandbox.run_as()},
                        {"pid", static_cast<long>(::getpid())}});
    } else {
        ctx.print("sandbox PostgreSQL ready in " + std::to_string(sandbox.startup_time().count()) +
                  " ms\n" + "  DATABASE_URL=" + sandbox.url() + "\n" +
                  "  conninfo: " + sandbox.conninfo() + "\n" +
                  (sandbox.run_as().empty() ? ""
                                            : "  (running as root: the server runs as user " +
                                                  sandbox.run_as() + ")\n") +
                  "stop it with Ctrl-C (or SIGTERM); it removes itself");
    }
    while (interrupt::sleep_for(std::chrono::hours(1))) {
    }
    sandbox.stop();
    return static_cast<int>(ExitCode::ok);
}

}  // namespace rollsafe::cli
