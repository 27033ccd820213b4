#include "core/snapshot/hook.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/engine/history.h"
#include "core/migrations/directive.h"
#include "core/snapshot/session_catalog.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/sql_rewrite.h"
#include "core/sql/parser.h"

namespace rollsafe::snapshot {

std::string step_snapshot_mode(const PlannedStep& step, const std::string& configured) {
    const Directive* d = nullptr;
    std::vector<Directive> stored;
    if (step.migration) {
        const Script* script = step.direction == "down"
                                   ? (step.migration->down ? &*step.migration->down : nullptr)
                                   : &step.migration->up;
        if (script)
            d = script->directive("snapshot");
    }
    if (!d && step.direction == "down" && step.source == "stored" && !step.down_text.empty()) {
        std::vector<Diagnostic> problems;
        stored = parse_directives(step.down_text, "stored down script", 1, problems);
        for (const auto& s : stored)
            if (s.key == "snapshot")
                d = &s;
    }
    if (d && (d->value == "none" || d->value == "touched" || d->value == "full"))
        return d->value;
    return configured;
}

BatchPlan plan_batch(db::Session& session, const SnapshotRequest& request,
                     const std::string& configured_mode) {
    BatchPlan plan;
    std::vector<StatementInput> statements;
    bool any_touched = false;
    for (std::size_t i = 0; i < request.steps.size(); ++i) {
        const PlannedStep& step = *request.steps[i];
        std::string id = step.version + "_" + step.name;
        std::string mode = step_snapshot_mode(step, configured_mode);
        if (mode == "full") {
            plan.mode = "full";
            plan.reasons.push_back(
                id + ": " +
                (mode == configured_mode ? "snapshot.mode is full" : "-- rollsafe:snapshot=full"));
            continue;
        }
        if (mode != "touched")
            continue;
        any_touched = true;
        for (const auto& st : step.statements) {
            auto parsed = sql::parse_script(st.text);
            if (parsed.error) {
                plan.mode = "full";
                plan.reasons.push_back(st.position +
                                       ": cannot parse the statement: " + parsed.error->message);
                continue;
            }
            for (const auto& s : parsed.statements)
                statements.push_back({static_cast<int>(i), st.position, s.node()});
        }
    }
    if (plan.mode == "full") {
        plan.relations.clear();
        return plan;
    }
    if (!any_touched) {
        plan.reasons.push_back("every migration of the batch says snapshot=none");
        return plan;
    }
    SessionCatalog catalog(session);
    auto touched = analyze_touched(statements, catalog);
    if (touched.full) {
        plan.mode = "full";
        plan.reasons = touched.full_reasons;
        return plan;
    }
    if (touched.relations.empty()) {
        plan.reasons.push_back("the batch changes no table that exists yet");
        return plan;
    }
    plan.mode = "touched";
    plan.relations = touched.relations;
    return plan;
}

std::function<std::string(db::Session&, const SnapshotRequest&)> make_snapshot_hook(
    const Config& config) {
    return [config](db::Session& session, const SnapshotRequest& request) -> std::string {
        try {
            BatchPlan plan = plan_batch(session, request, config.snapshot_mode);
            if (plan.mode == "none") {
                log::info("snapshot skipped: {}", text::join(plan.reasons, "; "));
                return "";
            }
            if (plan.mode == "full") {
                for (const auto& r : plan.reasons)
                    log::warn("snapshot: full dump because {}", r);
            } else {
                std::vector<std::string> names;
                for (const auto& t : plan.relations)
                    names.push_back(t.relation.qualified());
                log::info("snapshot: touched mode, {} relation(s): {}", names.size(),
                          text::join(names, ", "));
                for (const auto& t : plan.relations)
                    log::debug("snapshot: {}: {}", t.relation.qualified(), t.why);
            }
            CreateRequest req;
            req.mode = plan.mode;
            req.relations = plan.relations;
            req.mode_reasons = plan.reasons;
            BatchInfo batch;
            batch.direction = request.direction;
            batch.run_id = request.run_id;
            for (const auto* s : request.steps)
                batch.migrations.push_back(s->version + "_" + s->name);
            req.batch = batch;
            req.schema_version_before = request.version_before;
            if (req.schema_version_before.empty()) {
                History history(session, config.history_schema);
                std::optional<Version> newest;
                for (const auto& [key, av] : history.state()) {
                    if (av.state != AppliedVersion::State::applied)
                        continue;
                    auto v = Version::parse(av.row.version);
                    if (v && (!newest || *newest < *v))
                        newest = *v;
                }
                if (newest)
                    req.schema_version_before = newest->text();
            }
            SnapshotService service(config);
            Manifest m = service.create(req);
            // Retention after a successful snapshot; the new one is always kept.
            auto pruned =
                service.store().prune(std::max(config.snapshot_keep, 1), config.snapshot_max_age,
                                      m.database, false, std::time(nullptr));
            for (const auto& old : pruned.removed)
                log::info("snapshot {} removed by retention", old.id);
            return m.id;
        } catch (const Error& e) {
            if (e.code() == ExitCode::snapshot_failed || e.code() == ExitCode::interrupted ||
                e.code() == ExitCode::unavailable)
                throw;
            throw Error(ExitCode::snapshot_failed,
                        std::string("snapshot failed: ") + e.what() + "; nothing was applied",
                        e.hint());
        } catch (const db::DbError& e) {
            throw Error(ExitCode::snapshot_failed,
                        std::string("snapshot failed: ") + e.what() + "; nothing was applied",
                        "the catalog could not be read; re-running is safe");
        }
    };
}

namespace {

Manifest take_snapshot_unguarded(const Config& config, const std::string& mode,
                                 const std::vector<std::string>& tables) {
    SnapshotService service(config);
    CreateRequest req;
    if (!tables.empty()) {
        auto session = service.connect();
        SessionCatalog catalog(*session);
        req.mode = "tables";
        for (const auto& t : tables) {
            auto parts = split_qualified_name(t);
            std::optional<Relation> rel;
            if (parts.size() == 1)
                rel = catalog.find_relation("", parts[0], {});
            else if (parts.size() == 2)
                rel = catalog.find_relation(parts[0], parts[1], {});
            if (!rel)
                throw usage_error("no table " + t + " in the database", "name it as schema.table");
            req.relations.push_back({*rel, "named with --table"});
        }
        return service.create(req);
    }
    if (mode == "touched") {
        Engine engine(config);
        UpOptions o;
        Plan plan = engine.plan_up(o);
        if (plan.steps.empty())
            throw usage_error("nothing is pending: touched mode has no tables to dump",
                              "use --mode full or --table");
        SnapshotRequest request;
        request.direction = "up";
        for (const auto& s : plan.steps)
            request.steps.push_back(&s);
        auto session = service.connect();
        BatchPlan batch = plan_batch(*session, request, "touched");
        if (batch.mode == "none")
            throw usage_error("nothing to snapshot: " + text::join(batch.reasons, "; "));
        req.mode = batch.mode;
        req.relations = batch.relations;
        req.mode_reasons = batch.reasons;
        for (const auto& r : batch.reasons)
            log::warn("snapshot: full dump because {}", r);
        return service.create(req);
    }
    if (mode != "full")
        throw usage_error("unknown --mode " + mode,
                          "use full or touched, or name tables with --table");
    req.mode = "full";
    return service.create(req);
}

}  // namespace

Manifest take_snapshot(const Config& config, const std::string& mode,
                       const std::vector<std::string>& tables) {
    try {
        return take_snapshot_unguarded(config, mode, tables);
    } catch (const db::DbError& e) {
        throw Error(ExitCode::snapshot_failed, std::string("snapshot failed: ") + e.what());
    }
}

}  // namespace rollsafe::snapshot
