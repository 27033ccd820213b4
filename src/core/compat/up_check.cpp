#include "core/compat/up_check.h"

#include "core/base/log.h"
#include "core/compat/compat.h"
#include "core/compat/contract.h"
#include "core/compat/output.h"
#include "core/migrations/releases.h"

namespace rollsafe::compat {

void add_dynamic_layers(check::Report& report, const Config& config, const std::vector<const Migration*>& pending,
                        const std::vector<const Migration*>& applied) {
    if (config.check_layers.empty() || pending.empty()) return;
    auto layers = parse_layers(config.check_layers);
    if (!layers.dynamic()) return;
    Request req;
    req.applied = applied;
    req.pending = pending;
    req.layers = layers;
    req.before_database = config.database_url;  // the target's own schema, whatever made it
    req.history_schema = config.history_schema;
    req.client_bindir = config.pg_bindir;
    req.contracts_dir = contracts_dir_for(config.migrations_dir);
    req.progress = [](const std::string& line) { log::info("check: {}", line); };
    // Blue: the newest release the applied migrations cover; green: the first one that covers
    // every pending migration.
    auto releases = read_releases(releases_path_for(config.migrations_dir));
    const Version* newest_applied = applied.empty() ? nullptr : &applied.back()->version;
    const Version& last_pending = pending.back()->version;
    for (const auto& r : releases.releases) {
        if (newest_applied && r.version <= *newest_applied &&
            (req.blue.empty() || releases.find(req.blue)->version < r.version))
            req.blue = r.name;
        if (!(r.version < last_pending) && (req.green.empty() || r.version < releases.find(req.green)->version))
            req.green = r.name;
    }
    if (auto why = scratch_unavailable(req)) {
        log::warn("check.layers asks for {}, skipped: {}", layers.text(), *why);
        return;
    }
    auto dynamic = run(req);
    for (const auto& p : dynamic.problems)
        (p.severity == "error" ? log::warn("check: {}: {}", p.rule, p.message) : log::info("check: {}: {}", p.rule, p.message));
    log::info("check: dynamic layers ({}) on {}: {} error(s), {} warning(s) in {} ms", layers.text(), dynamic.scratch,
              dynamic.errors(), dynamic.warnings(), dynamic.total_ms);
    add_findings(report, dynamic);
    refine_classes(report, dynamic);
}

}  // namespace rollsafe::compat
