#include "core/engine/analysis.h"

#include <algorithm>
#include <set>

#include "core/base/error.h"
#include "core/base/text.h"

namespace rollsafe {

FileAnalysis analyze_files(const MigrationSet& set, std::map<std::string, AppliedVersion> state) {
    FileAnalysis a;
    a.state = std::move(state);
    std::optional<Version> newest_file;
    for (const auto& m : set.migrations)
        newest_file = m.version;
    for (const auto& [key, av] : a.state) {
        auto v = Version::parse(av.row.version);
        if (!v)
            continue;
        if (av.state == AppliedVersion::State::dirty)
            a.dirty.push_back(key);
        if (!a.newest_applied || *a.newest_applied < *v)
            a.newest_applied = *v;
        const Migration* m = set.find(*v);
        if (!m) {
            if (newest_file && *v < *newest_file)
                a.missing.push_back(key);
            else
                a.ahead.push_back(key);
            continue;
        }
        if (!av.row.up_sha256.empty() && av.row.up_sha256 != m->up.sha256) {
            a.drift.push_back(
                {key, m->up.path, av.row.up_sha256, m->up.sha256,
                 !av.row.up_drift_sha256.empty() && av.row.up_drift_sha256 == m->up.drift_sha256(),
                 "up"});
        }
        if (m->down && !av.row.down_sha256.empty() && av.row.down_sha256 != m->down->sha256) {
            a.drift.push_back({key, m->down->path, av.row.down_sha256, m->down->sha256,
                               !av.row.down_drift_sha256.empty() &&
                                   av.row.down_drift_sha256 == m->down->drift_sha256(),
                               "down"});
        }
    }
    for (const auto& m : set.migrations) {
        if (a.state.count(m.version.key()))
            continue;
        a.pending.push_back(&m);
        if (a.newest_applied && m.version < *a.newest_applied)
            a.out_of_order.push_back(&m);
    }
    return a;
}

void check_drift(const FileAnalysis& a, Plan& plan) {
    std::vector<Diagnostic> changed;
    for (const auto& d : a.drift) {
        if (d.script != "up")
            continue;
        if (d.cosmetic) {
            plan.warnings.push_back(
                d.file + ": changed since it was applied, but only in whitespace or comments");
        } else {
            changed.push_back({d.file, 0, 0,
                               "applied script changed on disk: applied sha256 " +
                                   d.stored.substr(0, 12) + "..., file sha256 " +
                                   d.now.substr(0, 12) + "...",
                               ""});
        }
    }
    for (const auto& d : a.drift) {
        if (d.script == "down" && !d.cosmetic)
            plan.warnings.push_back(
                d.file + ": down script differs from the one stored when it was applied");
    }
    for (const auto& key : a.missing) {
        const auto& row = a.state.at(key).row;
        plan.warnings.push_back("applied migration " + row.version + "_" + row.name +
                                " has no file any more");
    }
    if (!changed.empty()) {
        throw Error(ExitCode::drift,
                    changed.size() == 1 ? changed.front().location_and_message()
                                        : std::to_string(changed.size()) +
                                              " applied scripts changed on disk; first: " +
                                              changed.front().location_and_message(),
                    "never edit an applied migration: restore the file (git checkout) and add a "
                    "new migration",
                    changed);
    }
}

void check_out_of_order(const FileAnalysis& a, bool allowed) {
    if (a.out_of_order.empty() || allowed)
        return;
    std::vector<std::string> ids;
    for (auto* m : a.out_of_order)
        ids.push_back(m->id());
    throw usage_error(
        "out-of-order migration(s) " + text::join(ids, ", ") +
            " are older than the newest applied version " + a.newest_applied->text(),
        "rename them to a newer version, or pass --allow-out-of-order if they are independent");
}

void check_not_dirty(const FileAnalysis& a) {
    if (a.dirty.empty())
        return;
    const auto& row = a.state.at(a.dirty.front()).row;
    throw Error(ExitCode::failed_dirty,
                "migration " + row.version + "_" + row.name + " is dirty: " +
                    (row.error.empty() ? std::string("it was interrupted part way") : row.error),
                "it ran outside a transaction, so part of it is applied: fix the database by "
                "hand and record it with `rollsafe repair` (PostgreSQL) or restore a snapshot");
}

std::vector<const AppliedVersion*> down_targets(const FileAnalysis& a, const DownOptions& options) {
    std::vector<std::pair<Version, const AppliedVersion*>> applied;
    for (const auto& [key, av] : a.state) {
        if (av.state != AppliedVersion::State::applied)
            continue;
        if (auto v = Version::parse(av.row.version))
            applied.emplace_back(*v, &av);
    }
    std::sort(applied.begin(), applied.end(),
              [](const auto& x, const auto& y) { return y.first < x.first; });
    std::vector<const AppliedVersion*> targets;
    if (options.to_version) {
        auto to = Version::parse(*options.to_version);
        if (!to)
            throw usage_error("\"" + *options.to_version + "\" is not a migration version",
                              "use the number of a migration, e.g. 0042");
        for (const auto& [v, av] : applied)
            if (*to < v)
                targets.push_back(av);
    } else {
        for (std::size_t i = 0; i < applied.size() && static_cast<int>(i) < options.steps; ++i)
            targets.push_back(applied[i].second);
    }
    return targets;
}

void fill_status(const FileAnalysis& a, const MigrationSet& files, StatusReport& rep) {
    std::map<std::string, const FileAnalysis::Drift*> up_drift, down_drift;
    for (const auto& d : a.drift)
        (d.script == "up" ? up_drift : down_drift)[d.key] = &d;
    std::set<std::string> ooo;
    for (auto* m : a.out_of_order)
        ooo.insert(m->version.key());
    std::vector<std::pair<Version, StatusEntry>> entries;
    for (const auto& m : files.migrations) {
        StatusEntry e;
        e.version = m.version.text();
        e.version_key = m.version.key();
        e.name = m.name;
        e.has_file = true;
        auto it = a.state.find(e.version_key);
        if (it == a.state.end()) {
            e.state = ooo.count(e.version_key) ? "out-of-order" : "pending";
        } else {
            const auto& row = it->second.row;
            e.state = it->second.state == AppliedVersion::State::dirty ? "dirty" : "applied";
            e.applied_at = row.finished_at;
            e.release = row.release;
            e.compat_class = row.compat_class;
            e.op = row.op;
            if (up_drift.count(e.version_key))
                e.drift = up_drift[e.version_key]->cosmetic ? "cosmetic" : "changed";
            if (down_drift.count(e.version_key))
                e.down_drift = down_drift[e.version_key]->cosmetic ? "cosmetic" : "changed";
        }
        entries.emplace_back(m.version, e);
    }
    for (const auto& [key, av] : a.state) {
        auto v = Version::parse(av.row.version);
        if (!v || files.find(*v))
            continue;
        StatusEntry e;
        e.version = av.row.version;
        e.version_key = key;
        e.name = av.row.name;
        e.state = av.state == AppliedVersion::State::dirty ? "dirty" : "missing-file";
        e.applied_at = av.row.finished_at;
        e.release = av.row.release;
        e.compat_class = av.row.compat_class;
        e.op = av.row.op;
        entries.emplace_back(*v, e);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [v, e] : entries) {
        if (e.state == "applied" || e.state == "missing-file") {
            ++rep.applied;
            rep.current_version = e.version;
        }
        if (e.state == "pending" || e.state == "out-of-order")
            ++rep.pending;
        if (e.state == "out-of-order")
            ++rep.out_of_order;
        if (e.state == "dirty")
            ++rep.dirty;
        if (e.state == "missing-file")
            ++rep.missing;
        if (e.drift == "changed")
            ++rep.drifted;
        rep.entries.push_back(std::move(e));
    }
}

}  // namespace rollsafe
