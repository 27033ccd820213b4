#include "cli/context.h"
#include "core/engine/port.h"

#include <unistd.h>

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/engine/default_hooks.h"

namespace rollsafe::cli {

void Context::print_json(const nlohmann::json& doc) const {
    std::cout << doc.dump(2) << std::endl;
}

void Context::print(const std::string& text) const {
    std::cout << text;
    if (!text.empty() && text.back() != '\n')
        std::cout << '\n';
    std::cout.flush();
}

bool Context::interactive() const {
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

bool Context::confirm(const std::string& question) const {
    if (!isatty(STDIN_FILENO))
        return false;
    std::cerr << question << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer))
        return false;
    auto a = text::to_lower(text::trim(answer));
    return a == "y" || a == "yes";
}

EngineHooks hooks_for(Context& ctx) {
    auto hooks = default_engine_hooks(ctx.config);
    hooks.freeze_changed = [&ctx](const std::optional<History::Freeze>& f) {
        const auto& path = ctx.config.lockfile_path;
        if (path.empty())
            return;
        try {
            if (f) {
                if (!ctx.lockfile)
                    ctx.lockfile = std::make_unique<Lockfile>(path);
                ctx.lockfile->set_frozen(f->reason, f->exit_code, f->version);
            } else if (read_lockfile(path).kind == LockfileStatus::Kind::frozen) {
                ::unlink(path.c_str());
            }
        } catch (const std::exception& e) {
            log::warn("could not mirror the freeze into the lockfile: {}", e.what());
        }
    };
    return hooks;
}

void write_metrics(Context& ctx, const std::string& command, int exit_code, double seconds) {
    const auto& path = ctx.globals.metrics_file;
    if (path.empty())
        return;
    std::string version = "", pending = "NaN", frozen = "NaN";
    try {
        auto engine = make_engine(ctx.config);
        auto st = engine->status();
        version = st.current_version;
        pending = std::to_string(st.pending);
        frozen = st.freeze ? "1" : "0";
    } catch (const std::exception& e) {
        log::warn("metrics: could not read the schema state: {}", e.what());
    }
    std::string label = "{command=\"" + command + "\"}";
    std::string numeric = "NaN";
    if (!version.empty() && version.find_first_not_of("0123456789") == std::string::npos &&
        version.size() < 16)
        numeric = std::to_string(std::stoll(version));
    auto metric = [](const std::string& name, const std::string& help, const std::string& labels,
                     const std::string& value) {
        return "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + labels +
               " " + value + "\n";
    };
    std::string out;
    out += metric("rollsafe_last_run_exit_code",
                  "Exit code of the last rollsafe run (docs/exit-codes.md).", label,
                  std::to_string(exit_code));
    out += metric("rollsafe_last_run_success", "1 when the last run exited 0.", label,
                  exit_code == 0 ? "1" : "0");
    out += metric("rollsafe_last_run_duration_seconds", "Wall time of the last run.", label,
                  std::to_string(seconds));
    out += metric("rollsafe_last_run_timestamp_seconds", "When the last run ended (Unix time).",
                  label, std::to_string(static_cast<long long>(std::time(nullptr))));
    out += metric("rollsafe_schema_version",
                  "Newest applied migration version (NaN when not numeric).", "", numeric);
    out += metric("rollsafe_schema_version_info", "Newest applied migration version as a label.",
                  "{version=\"" + version + "\"}", "1");
    out += metric("rollsafe_pending_migrations", "Migrations in the files not applied yet.", "",
                  pending);
    out += metric("rollsafe_frozen", "1 while a freeze is in force.", "", frozen);
    try {
        fs::write_file_atomic(path, out, 0644);
    } catch (const std::exception& e) {
        log::warn("metrics: {}", e.what());
    }
}

}  // namespace rollsafe::cli
