#include <ctime>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/text.h"
#include "core/engine/port.h"
#include "core/snapshot/hook.h"
#include "core/snapshot/progress.h"
#include "core/snapshot/snapshot.h"

namespace rollsafe::cli {
namespace {

using snapshot::Manifest;

nlohmann::json manifest_json(const snapshot::SnapshotStore& store, const Manifest& m) {
    auto doc = m.to_json();
    doc["path"] = store.archive_path(m);
    return doc;
}

std::string verified_text(const Manifest& m) {
    if (!m.verification)
        return "never";
    return m.verification->ok ? "ok " + m.verification->at : "FAILED " + m.verification->at;
}

// Reads "30d" as well as everything parse_duration reads.
Millis age_limit(const std::string& text, Millis fallback) {
    if (text.empty())
        return fallback;
    if (text.size() > 1 && text.back() == 'd' &&
        text.find_first_not_of("0123456789") == text.size() - 1)
        return std::chrono::hours(24 * std::stoll(text.substr(0, text.size() - 1)));
    auto d = parse_duration(text);
    if (!d)
        throw usage_error("--max-age " + text + " is not a duration", "e.g. 30d, 72h, 90m");
    return *d;
}

int create(Context& ctx, const SnapshotArgs& args) {
    if (!args.mode.empty() && !args.tables.empty())
        throw usage_error("--mode and --table do not go together",
                          "--table names exactly what to dump");
    auto m =
        snapshot::take_snapshot(ctx.config, args.mode.empty() ? "full" : args.mode, args.tables);
    snapshot::SnapshotStore store(ctx.config.snapshot_dir);
    if (ctx.json()) {
        ctx.print_json(manifest_json(store, m));
        return 0;
    }
    std::string out = "snapshot " + m.id + " (" + m.mode + "): " + std::to_string(m.tables.size()) +
                      " relation(s), " + snapshot::human_bytes(m.bytes) + ", sha256 " +
                      m.sha256.substr(0, 16) + "...\n  " + store.archive_path(m) + "\n";
    for (const auto& r : m.mode_reasons)
        out += "  full because " + r + "\n";
    ctx.print(out);
    return 0;
}

int list(Context& ctx) {
    snapshot::SnapshotStore store(ctx.config.snapshot_dir);
    auto all = store.list();
    if (ctx.json()) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& m : all)
            arr.push_back(manifest_json(store, m));
        ctx.print_json({{"dir", store.dir()}, {"snapshots", arr}});
        return 0;
    }
    if (all.empty()) {
        ctx.print("no snapshots in " + store.dir());
        return 0;
    }
    std::string out;
    for (const auto& m : all) {
        std::vector<std::string> names;
        for (const auto& t : m.tables)
            names.push_back(t.qualified());
        std::string tables = m.mode == "full" ? std::to_string(m.tables.size()) + " relation(s)"
                                              : text::join(names, ", ");
        out += m.id + "  " + m.created_at + "  " + m.database + "  " + m.mode + "  " +
               snapshot::human_bytes(m.bytes) + "  verified: " + verified_text(m) + "\n";
        out += "    " + tables + "\n";
        if (m.batch)
            out += "    guards " + m.batch->direction + " of " +
                   text::join(m.batch->migrations, ", ") +
                   (m.schema_version_before.empty()
                        ? ""
                        : " (schema was at " + m.schema_version_before + ")") +
                   "\n";
    }
    ctx.print(out);
    return 0;
}

int verify(Context& ctx, const SnapshotArgs& args) {
    snapshot::SnapshotService service(ctx.config);
    std::vector<std::string> ids;
    if (args.all) {
        for (const auto& m : service.store().list())
            ids.push_back(m.id);
    } else if (!args.id.empty()) {
        ids.push_back(args.id);
    } else {
        throw usage_error("snapshot verify needs an id, or --all",
                          "rollsafe snapshot list shows the ids");
    }
    bool all_ok = true;
    nlohmann::json arr = nlohmann::json::array();
    std::string out;
    for (const auto& id : ids) {
        auto r = service.verify(id);
        all_ok = all_ok && r.ok;
        arr.push_back({{"id", id}, {"ok", r.ok}, {"problems", r.problems}});
        out += id + ": " +
               (r.ok ? "ok (SHA-256 matches, full read of " +
                           std::to_string(r.manifest.tables.size()) +
                           " relation(s) passed, row counts match)"
                     : "FAILED") +
               "\n";
        for (const auto& p : r.problems)
            out += "  " + p + "\n";
    }
    if (ctx.json())
        ctx.print_json({{"ok", all_ok}, {"snapshots", arr}});
    else
        ctx.print(out.empty() ? "no snapshots to verify" : out);
    if (!all_ok)
        throw Error(ExitCode::snapshot_failed, "snapshot verification failed",
                    "a damaged snapshot cannot be restored from; take a new one (rollsafe snapshot "
                    "create)");
    return 0;
}

int prune(Context& ctx, const SnapshotArgs& args) {
    snapshot::SnapshotStore store(ctx.config.snapshot_dir);
    int keep = args.keep >= 0 ? args.keep : ctx.config.snapshot_keep;
    Millis max_age = age_limit(args.max_age, ctx.config.snapshot_max_age);
    auto r = store.prune(keep, max_age, "", args.dry_run, std::time(nullptr));
    if (ctx.json()) {
        nlohmann::json removed = nlohmann::json::array();
        for (const auto& m : r.removed)
            removed.push_back(m.id);
        nlohmann::json kept = nlohmann::json::array();
        for (const auto& m : r.kept)
            kept.push_back(m.id);
        ctx.print_json({{"dry_run", args.dry_run},
                        {"removed", removed},
                        {"kept", kept},
                        {"removed_files", r.removed_files}});
        return 0;
    }
    std::string verb = args.dry_run ? "would remove " : "removed ";
    std::string out;
    for (const auto& m : r.removed)
        out += verb + m.id + " (" + m.created_at + ", " + m.database + ")\n";
    for (const auto& f : r.removed_files)
        out += verb + f + "\n";
    out += std::to_string(r.kept.size()) + " snapshot(s) kept (keep " + std::to_string(keep) +
           (max_age.count() > 0 ? ", max age " + format_duration(max_age) : "") + ")";
    ctx.print(out);
    return 0;
}

}  // namespace

int run_snapshot(Context& ctx, const SnapshotArgs& args) {
    if (engine_kind(ctx.config.database_url) == EngineKind::sqlite &&
        (args.action == "create" || args.action == "verify"))
        return run_sqlite_snapshot(ctx, args);
    if (args.action == "create")
        return create(ctx, args);
    if (args.action == "list")
        return list(ctx);
    if (args.action == "verify")
        return verify(ctx, args);
    return prune(ctx, args);
}

}  // namespace rollsafe::cli
