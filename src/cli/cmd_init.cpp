#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/fs.h"

namespace rollsafe::cli {

int run_init(Context& ctx, const InitArgs& args) {
    const std::string path = ctx.globals.config_path;
    if (fs::exists(path) && !args.force)
        throw usage_error(path + " already exists", "use --force to overwrite it");
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0)
        fs::make_dirs(path.substr(0, slash), 0755);
    fs::write_file_atomic(path, default_config_toml(), 0644);
    fs::make_dirs(ctx.config.migrations_dir, 0755);
    const std::string releases = "releases.toml";
    if (!fs::exists(releases)) {
        fs::write_file_atomic(
            releases,
            "# Maps each application release to the last migration version it ships.\n"
            "# `rollsafe check --blue <old> --green <new>` and `rollback --to-release`\n"
            "# read it.\n[releases]\n# \"v1.0.0\" = \"0002\"\n",
            0644);
    }
    if (ctx.json()) {
        ctx.print_json(
            {{"config", path}, {"migrations", ctx.config.migrations_dir}, {"releases", releases}});
    } else {
        ctx.print("wrote " + path + ", " + releases + " and " + ctx.config.migrations_dir +
                  "/\nnext: rollsafe new create_users");
    }
    return 0;
}

}  // namespace rollsafe::cli
