// The SQLite variants of `snapshot create|verify` and `restore --table` (docs/sqlite.md). The
// other commands reach SQLite through the engine port (core/engine/port.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/check/rules.h"
#include "core/migrations/reader.h"
#include "core/snapshot/store.h"
#include "core/sqlite/check_rules.h"
#include "core/sqlite/sqlite_engine.h"
#include "core/sqlite/sqlite_snapshot.h"

namespace rollsafe::cli {

int run_sqlite_snapshot(Context& ctx, const SnapshotArgs& args) {
    if (args.action == "create") {
        if (!args.tables.empty() || (!args.mode.empty() && args.mode != "full"))
            throw usage_error("SQLite snapshots copy the whole file",
                              "drop --mode/--table; restore --table copies one table back");
        sqlite::SqliteEngine engine(ctx.config);
        if (engine.path() == ":memory:")
            throw usage_error("an in-memory database cannot be snapshotted");
        auto& store = engine.store();
        auto m = sqlite::create_snapshot(engine.database(), ctx.config,
                                         store.exists() ? sqlite::current_version(store) : "",
                                         std::nullopt);
        snapshot::SnapshotStore dir(ctx.config.snapshot_dir);
        if (ctx.json()) {
            auto doc = m.to_json();
            doc["path"] = dir.archive_path(m);
            ctx.print_json(doc);
        } else {
            ctx.print("snapshot " + m.id + " of " + m.database + ": " + std::to_string(m.tables.size()) +
                      " table(s), " + std::to_string(m.bytes) + " bytes, sha256 " +
                      m.sha256.substr(0, 12) + "... -> " + dir.archive_path(m));
        }
        return 0;
    }
    // verify
    std::vector<std::string> ids;
    if (args.all) {
        for (const auto& m : snapshot::SnapshotStore(ctx.config.snapshot_dir).list())
            if (text::ends_with(m.archive, ".db"))
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
        auto v = sqlite::verify_snapshot(ctx.config, id);
        all_ok = all_ok && v.ok;
        nlohmann::json problems = nlohmann::json::array();
        if (!v.ok)
            problems.push_back(v.error);
        arr.push_back({{"id", id}, {"ok", v.ok}, {"problems", problems}, {"rows", v.rows}});
        out += id + ": " +
               (v.ok ? "ok (sha256 matches, integrity_check ok, row counts of " +
                           std::to_string(v.rows.size()) + " table(s) match)"
                     : "FAILED: " + v.error) +
               "\n";
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

int run_sqlite_restore(Context& ctx, const RestoreArgs& args) {
    if (args.table.empty() || args.snapshot.empty())
        throw usage_error("on SQLite, restore needs --snapshot ID and --table T",
                          "rollsafe snapshot list shows the ids");
    if (!args.into.empty() || (args.mode != "swap" && !args.mode.empty()))
        throw usage_error("on SQLite, restore only swaps one table back (--mode swap)",
                          "the current table is kept aside under another name");
    sqlite::SqliteEngine engine(ctx.config);
    auto run = [&](bool dry) {
        return sqlite::restore_table(engine.database(), engine.store(), ctx.config, args.snapshot,
                                     args.table, args.reason, dry);
    };
    auto describe = [](const sqlite::TableRestore& r) {
        return "restore " + r.table + " from snapshot " + r.snapshot_id + ": " +
               std::to_string(r.rows) + " row(s) in the snapshot" +
               (r.aside.empty() ? ", the table does not exist now"
                                : ", the current table (" + std::to_string(r.rows_before) +
                                      " rows) is kept as " + r.aside) +
               (r.definition_differs ? "\nnote: the table's definition in the snapshot differs "
                                       "from the current one; the restored table has the "
                                       "snapshot's columns, indexes and triggers"
                                     : "");
    };
    auto json = [](const sqlite::TableRestore& r) {
        return nlohmann::json{{"snapshot", r.snapshot_id}, {"table", r.table},
                              {"aside", r.aside},          {"snapshot_rows", r.rows},
                              {"current_rows", r.rows_before}, {"mode", "swap"},
                              {"definition_differs", r.definition_differs}};
    };
    if (args.dry_run) {
        auto r = run(true);
        if (ctx.json())
            ctx.print_json({{"dry_run", true}, {"plan", json(r)}});
        else
            ctx.print(describe(r));
        return 0;
    }
    if (!args.yes && ctx.interactive()) {
        std::fputs((describe(run(true)) + "\n").c_str(), stderr);
        if (!ctx.confirm("Restore " + args.table + "?"))
            throw usage_error("not confirmed; nothing was changed",
                              "pass --yes to skip the question");
    }
    engine.store().ensure();
    sqlite::TableRestore r;
    engine.with_lock("restore", [&] { r = run(false); });
    if (ctx.json())
        ctx.print_json({{"restored", true}, {"plan", json(r)}, {"rows", r.rows}});
    else
        ctx.print("restored " + r.table + " from snapshot " + r.snapshot_id + " (" +
                  std::to_string(r.rows) + " rows)" +
                  (r.aside.empty() ? "" : "; the previous table is kept as " + r.aside) +
                  (r.definition_differs ? "\nnote: its definition is the snapshot's, which "
                                          "differs from the one it replaced"
                                        : ""));
    return 0;
}

}  // namespace rollsafe::cli

namespace rollsafe::cli {

int run_sqlite_check(Context& ctx, const CheckArgs& args) {
    if (args.list_rules) {
        nlohmann::json arr = nlohmann::json::array();
        std::string out = "rules of `rollsafe check` on SQLite (docs/sqlite.md):\n";
        for (const auto& r : sqlite::rule_mappings()) {
            arr.push_back({{"id", r.id}, {"applies", r.applies}, {"why", r.why}});
            out += std::string(r.applies ? "  applies   " : "  skipped   ") + r.id + ": " + r.why + "\n";
        }
        out += "  skipped   every other rule: PostgreSQL locks, transactions and types\n";
        if (ctx.json())
            ctx.print_json({{"engine", "sqlite"}, {"rules", arr}});
        else
            ctx.print(out);
        return 0;
    }
    if (args.pending || !args.blue.empty() || !args.green.empty() || !args.layers.empty() ||
        !args.dev_url.empty())
        throw usage_error("on SQLite, check reads migration files only (no --pending, --blue/"
                          "--green or dynamic layers)",
                          "rollsafe check, or rollsafe check FILES");
    std::vector<Diagnostic> problems;
    std::vector<Migration> loose;
    std::optional<MigrationSet> set;
    std::vector<const Migration*> candidates;
    if (!args.files.empty()) {
        // Loose files: read without parsing, so SQLite-only syntax is a note, not an error.
        for (const auto& f : args.files) {
            auto text = fs::read_file(f);
            if (!text)
                throw usage_error(f + ": cannot read");
            Migration m;
            m.version = *Version::parse("0");
            m.name = f;
            m.up = make_script(f, *text, 1, problems, false);
            loose.push_back(std::move(m));
        }
        for (auto& m : loose)
            candidates.push_back(&m);
    } else {
        set = read_migrations(ctx.config.migrations_dir, ctx.config.layout, false);
        for (auto& m : set->migrations)
            candidates.push_back(&m);
    }
    std::vector<const Migration*> selected;
    for (const auto* m : candidates) {
        std::vector<Diagnostic> parse;
        ensure_parsed(const_cast<Script&>(m->up), parse);
        if (m->down)
            ensure_parsed(const_cast<Script&>(*m->down), parse);
        if (!parse.empty()) {
            log::warn("{}: not analysed: PostgreSQL's parser does not read it ({}); SQLite-only "
                      "syntax is not checked",
                      m->up.path, parse.front().location_and_message());
            continue;
        }
        selected.push_back(m);
    }
    CheckArgs filtered = args;
    for (const auto& r : check::rules())
        if (!sqlite::rule_applies(r.id))
            filtered.disable.push_back(r.id);
    return check_and_report(ctx, filtered, selected, {}, false, problems);
}

}  // namespace rollsafe::cli
