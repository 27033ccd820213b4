#include "core/engine/analysis.h"

#include <algorithm>
#include <set>

#include "core/base/error.h"
#include "core/base/text.h"

namespace rollsafe {

FileAnalysis analyze_files(const MigrationSet& set, std::map<std::string, AppliedVersion> state,
                           const DriftChecksumLoader& load_drift_checksums) {
    FileAnalysis a;
    a.state = std::move(state);
    std::optional<Version> newest_file;
    for (const auto& m : set.migrations)
        newest_file = m.version;
    // A changed script's file, until its row's whitespace-insensitive checksum is known.
    std::vector<const Script*> changed;
    auto differs = [](const std::string& stored, const std::string& now) {
        return !stored.empty() && stored != now;  // rows of old layouts store no checksum
    };
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
        if (differs(av.row.up_sha256, m->up.sha256)) {
            a.drift.push_back({key, m->up.path, av.row.up_sha256, m->up.sha256, false, "up"});
            changed.push_back(&m->up);
        }
        if (m->down && differs(av.row.down_sha256, m->down->sha256)) {
            a.drift.push_back(
                {key, m->down->path, av.row.down_sha256, m->down->sha256, false, "down"});
            changed.push_back(&*m->down);
        }
    }
    if (load_drift_checksums && !a.drift.empty()) {
        std::vector<std::string> keys;
        for (const auto& d : a.drift)
            if (keys.empty() || keys.back() != d.key)
                keys.push_back(d.key);
        load_drift_checksums(a.state, keys);
    }
    for (std::size_t i = 0; i < a.drift.size(); ++i) {
        auto& d = a.drift[i];
        const auto& row = a.state.at(d.key).row;
        const std::string& stored = d.script == "up" ? row.up_drift_sha256 : row.down_drift_sha256;
        d.cosmetic = !stored.empty() && stored == changed[i]->drift_sha256();
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

void fill_status(FileAnalysis& a, const MigrationSet& files, StatusReport& rep) {
    std::map<std::string, const FileAnalysis::Drift*> up_drift, down_drift;
    for (const auto& d : a.drift)
        (d.script == "up" ? up_drift : down_drift)[d.key] = &d;
    std::set<std::string> ooo;
    for (auto* m : a.out_of_order)
        ooo.insert(m->version.key());
    // The history rows are not needed after this: their strings are moved into the lines.
    auto take_row = [](StatusEntry& e, HistoryRow& row) {
        e.applied_at = std::move(row.finished_at);
        e.release = std::move(row.release);
        e.compat_class = std::move(row.compat_class);
        e.op = std::move(row.op);
    };
    std::vector<std::pair<Version, StatusEntry>> entries;
    entries.reserve(files.migrations.size() + a.missing.size() + a.ahead.size());
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
            e.state = it->second.state == AppliedVersion::State::dirty ? "dirty" : "applied";
            take_row(e, it->second.row);
            if (auto d = up_drift.find(e.version_key); d != up_drift.end())
                e.drift = d->second->cosmetic ? "cosmetic" : "changed";
            if (auto d = down_drift.find(e.version_key); d != down_drift.end())
                e.down_drift = d->second->cosmetic ? "cosmetic" : "changed";
        }
        entries.emplace_back(m.version, std::move(e));
    }
    // Files come in version order; the versions they lack (missing, ahead) go in between.
    for (const auto* keys : {&a.missing, &a.ahead}) {
        for (const auto& key : *keys) {
            auto& av = a.state.at(key);
            StatusEntry e;
            e.version = av.row.version;
            e.version_key = key;
            e.name = std::move(av.row.name);
            e.state = av.state == AppliedVersion::State::dirty ? "dirty" : "missing-file";
            take_row(e, av.row);
            entries.emplace_back(*Version::parse(e.version), std::move(e));
        }
    }
    if (!a.missing.empty() || !a.ahead.empty())
        std::sort(entries.begin(), entries.end(),
                  [](const auto& x, const auto& y) { return x.first < y.first; });
    rep.entries.reserve(entries.size());
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
