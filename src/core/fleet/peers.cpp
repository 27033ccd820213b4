#include "core/fleet/peers.h"

#include <chrono>
#include <map>

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/text.h"

namespace rollsafe::fleet {
namespace {

// Codes a retry may fix: the peer's own pod (or its Job's retry) runs it again.
bool transient(ExitCode code) {
    return code == ExitCode::busy || code == ExitCode::interrupted || code == ExitCode::locked ||
           code == ExitCode::unavailable;
}

}  // namespace

PeerState up_peer_state(const StatusReport& status,
                        const std::optional<HistoryRow>& first_pending_row,
                        const std::string& first_pending_sha256, const std::optional<Version>& to,
                        bool allow_out_of_order) {
    PeerState s;
    if (status.freeze) {
        s.kind = PeerState::Kind::failed;
        s.code = status.freeze->exit_code > 0 ? static_cast<ExitCode>(status.freeze->exit_code)
                                              : ExitCode::frozen;
        s.detail = "frozen: " + status.freeze->reason;
        return s;
    }
    std::vector<const StatusEntry*> pending;
    for (const auto& e : status.entries) {
        if (e.state == "dirty") {
            s.kind = PeerState::Kind::failed;
            s.code = ExitCode::failed_dirty;
            s.detail = e.version + "_" + e.name + " is dirty (failed part way)";
            return s;
        }
        if (e.drift == "changed") {
            s.kind = PeerState::Kind::failed;
            s.code = ExitCode::drift;
            s.detail = e.version + "_" + e.name + " changed since it was applied";
            return s;
        }
        bool waiting = e.state == "pending" || (allow_out_of_order && e.state == "out-of-order");
        if (!waiting)
            continue;
        if (to) {
            auto v = Version::parse(e.version);
            if (v && *to < *v)
                continue;
        }
        pending.push_back(&e);
    }
    if (pending.empty()) {
        s.kind = PeerState::Kind::done;
        s.detail =
            status.current_version.empty() ? "nothing to apply" : "at " + status.current_version;
        return s;
    }
    const auto& first = *pending.front();
    s.detail = std::to_string(pending.size()) + " pending from " + first.version + "_" + first.name;
    bool lock_free = !status.lock || status.lock->expired;
    if (first_pending_row && lock_free && first_pending_row->op == "up" &&
        (first_pending_row->outcome == "failed" || first_pending_row->outcome == "failed-dirty") &&
        !first_pending_sha256.empty() && first_pending_row->up_sha256 == first_pending_sha256) {
        ExitCode code = first_pending_row->outcome == "failed-dirty" ? ExitCode::failed_dirty
                                                                     : ExitCode::failed_clean;
        const auto& d = first_pending_row->details;
        if (d.is_object() && d.contains("exit_code") && d["exit_code"].is_number_integer())
            code = static_cast<ExitCode>(d["exit_code"].get<int>());
        if (!transient(code)) {
            s.kind = PeerState::Kind::failed;
            s.code = code;
            s.detail = first.version + "_" + first.name + " failed at " +
                       first_pending_row->finished_at + ": " + first_pending_row->error;
        } else {
            s.detail += " (last attempt: " + std::string(exit_code_name(code)) + ")";
        }
    }
    return s;
}

PeerProbe up_peer_probe(const Config& base, std::optional<std::string> to_version,
                        bool allow_out_of_order) {
    std::optional<Version> to;
    if (to_version) {
        to = Version::parse(*to_version);
        if (!to)
            throw usage_error("\"" + *to_version + "\" is not a migration version");
    }
    return [base, to, allow_out_of_order](const Target& target) {
        PeerState s;
        try {
            Engine engine(target_config(base, target));
            auto status = engine.status();
            std::optional<HistoryRow> row;
            std::string sha;
            for (const auto& e : status.entries) {
                if (e.state != "pending" && !(allow_out_of_order && e.state == "out-of-order"))
                    continue;
                auto v = Version::parse(e.version);
                if (!v || (to && *to < *v))
                    continue;
                if (const auto* m = engine.files().find(*v))
                    sha = m->up.sha256;
                History::Filter f;
                f.version_key = e.version_key;
                f.limit = 1;
                auto rows = engine.history(f);
                if (!rows.empty())
                    row = rows.back();
                break;
            }
            return up_peer_state(status, row, sha, to, allow_out_of_order);
        } catch (const Error& e) {
            if (e.code() == ExitCode::usage || e.code() == ExitCode::internal)
                throw;
            s.detail = "unreachable: " + std::string(e.what());
        } catch (const db::DbError& e) {
            s.detail = std::string("unreachable: ") + e.what();
        }
        return s;
    };
}

PeerVerdict wait_for_peers(const std::vector<std::pair<std::string, Target>>& peers,
                           const PeerProbe& probe, Millis wait, Millis poll,
                           const std::function<void(const std::string&)>& progress) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    std::map<std::string, std::string> waiting;  // target -> why, for the timeout message
    std::vector<bool> done(peers.size(), false);
    while (true) {
        waiting.clear();
        for (std::size_t i = 0; i < peers.size(); ++i) {
            if (done[i])
                continue;
            if (interrupt::requested()) {
                PeerVerdict v;
                v.kind = PeerVerdict::Kind::failed;
                v.code = ExitCode::interrupted;
                v.message = "interrupted while waiting for the earlier waves";
                return v;
            }
            const auto& [wave, target] = peers[i];
            auto s = probe(target);
            if (s.kind == PeerState::Kind::done) {
                done[i] = true;
            } else if (s.kind == PeerState::Kind::failed) {
                PeerVerdict v;
                v.kind = PeerVerdict::Kind::failed;
                v.code = s.code;
                v.target = target.name;
                v.wave = wave;
                v.message = "target " + target.name + " of wave " + wave +
                            " (another shard) failed (exit " +
                            std::to_string(static_cast<int>(s.code)) + " " +
                            std::string(exit_code_name(s.code)) + "): " + s.detail;
                return v;
            } else {
                waiting[target.name] = wave + ": " + s.detail;
            }
        }
        if (waiting.empty())
            return {};
        std::vector<std::string> names;
        for (const auto& [name, why] : waiting) {
            if (names.size() == 5) {
                names.push_back("and " + std::to_string(waiting.size() - 5) + " more");
                break;
            }
            names.push_back(name + " (" + why + ")");
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            PeerVerdict v;
            v.kind = PeerVerdict::Kind::timeout;
            v.code = ExitCode::not_ready;
            v.target = waiting.begin()->first;
            v.message = "earlier waves are not done after " + format_duration(wait) + ": " +
                        std::to_string(waiting.size()) +
                        " target(s) of other shards still behind: " + text::join(names, ", ");
            return v;
        }
        if (progress)
            progress("waiting for " + std::to_string(waiting.size()) +
                     " target(s) of earlier waves in other shards: " + text::join(names, ", "));
        auto left = std::chrono::duration_cast<Millis>(deadline - now);
        interrupt::sleep_for(std::min(left, poll));
    }
}

}  // namespace rollsafe::fleet
