#include "core/engine/report.h"

#include <cstdio>
#include <ctime>
#include <map>

#include "core/base/text.h"

namespace rollsafe {
namespace {

bool parse_iso(const std::string& s, std::time_t& out) {
    std::tm tm{};
    int y, mo, d, h, mi, se;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) != 6)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    out = timegm(&tm);
    return true;
}

std::string fmt_duration_s(long long s) {
    if (s < 0)
        return "-";
    char buf[64];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%llds", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    return buf;
}

std::string md_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n')
            out += ' ';
        else
            out += c;
    }
    return out;
}

}  // namespace

long long seconds_between(const std::string& from, const std::string& to) {
    std::time_t a, b;
    if (!parse_iso(from, a) || !parse_iso(to, b))
        return -1;
    return static_cast<long long>(b - a);
}

IncidentReport build_report(const std::vector<HistoryRow>& rows, const std::string& database,
                            bool frozen_now) {
    IncidentReport rep;
    rep.database = database;
    rep.frozen_now = frozen_now;
    // Fold rows into runs, keeping the order in which runs started.
    std::map<std::string, std::size_t> index;
    for (const auto& r : rows) {
        if (rep.from.empty())
            rep.from = r.started_at;
        rep.to = r.finished_at;
        std::string key = r.run_id + "/" +
                          (r.op == "release"  ? "release"
                           : r.op == "freeze" ? "freeze"
                                              : "run");
        auto it = index.find(key);
        if (it == index.end()) {
            ReportEvent e;
            e.at = r.started_at;
            e.op = r.op;
            e.outcome = "success";
            e.who = r.os_user + (r.db_user.empty() ? "" : " (db " + r.db_user + ")");
            e.where = r.host + (r.pod.empty() || r.pod == r.host ? "" : " (pod " + r.pod + ")");
            index[key] = rep.events.size();
            rep.events.push_back(e);
            it = index.find(key);
        }
        auto& e = rep.events[it->second];
        e.finished_at = r.finished_at;
        e.duration_ms = std::max<long long>(
            0, seconds_between(e.at, r.finished_at) * 1000 + (r.duration_ms % 1000));
        if (!r.version.empty() && r.op != "release" &&
            (e.versions.empty() || e.versions.back() != r.version + "_" + r.name))
            e.versions.push_back(r.version + (r.name.empty() ? "" : "_" + r.name));
        if (!r.release.empty())
            e.release = r.release;
        if (!r.snapshot_id.empty())
            e.snapshot_id = r.snapshot_id;
        if (!r.reason.empty())
            e.reason = r.reason;
        if (r.details.is_object() && r.details.contains("rollback_to"))
            e.op = "rollback";
        if (r.op == "down" && text::starts_with(r.reason, "rollback to"))
            e.op = "rollback";
        if (r.op == "release" && r.op != e.op)
            continue;
        const auto& o = r.outcome;
        if (o == "failed" || o == "failed-dirty" || o == "aborted") {
            e.failure = true;
            e.outcome = o == "failed-dirty" ? "failed-dirty" : "failed";
            e.error = r.error;
            e.error_position = r.error_position;
            if (r.details.is_object() && r.details.contains("exit_code"))
                e.exit_code = r.details["exit_code"].get<int>();
            else
                e.exit_code = o == "failed-dirty" ? 7 : 6;
        } else if (o == "started" && e.outcome == "success") {
            e.outcome = "interrupted";  // until a later row of the run says otherwise
        } else if (!e.failure && o != "started") {
            e.outcome = o == "applied" || o == "rolled-back" || o == "baselined" ? "success" : o;
        }
    }
    for (const auto& e : rep.events) {
        if (e.op == "release")
            ++rep.deploys;
        if (e.op == "rollback")
            ++rep.rollbacks;
        if (e.op == "restore")
            ++rep.restores;
        if (e.op == "freeze")
            ++rep.freezes;
        if (e.op == "unfreeze")
            ++rep.unfreezes;
        if (e.failure) {
            ++rep.failures;
            if (rep.first_failure_at.empty())
                rep.first_failure_at = e.at;
        }
    }
    // Recovery: after the first failure, the last event that brought things back (a successful
    // up/down/rollback/repair/restore or an unfreeze) with no failure after it and no freeze left.
    if (!rep.first_failure_at.empty() && !frozen_now) {
        bool seen_failure = false;
        std::string recovered;
        for (const auto& e : rep.events) {
            if (e.failure) {
                seen_failure = true;
                recovered.clear();
                continue;
            }
            if (!seen_failure)
                continue;
            if (e.op == "unfreeze" || ((e.op == "up" || e.op == "down" || e.op == "rollback" ||
                                        e.op == "repair" || e.op == "restore") &&
                                       e.outcome == "success"))
                recovered = e.finished_at;
        }
        if (!recovered.empty()) {
            rep.recovered_at = recovered;
            rep.time_to_recovery_s = seconds_between(rep.first_failure_at, recovered);
        }
    }
    return rep;
}

nlohmann::json IncidentReport::to_json() const {
    nlohmann::json events_json = nlohmann::json::array();
    for (const auto& e : events) {
        nlohmann::json j = {{"at", e.at},
                            {"finished_at", e.finished_at},
                            {"op", e.op},
                            {"outcome", e.outcome},
                            {"who", e.who},
                            {"where", e.where},
                            {"duration_ms", e.duration_ms},
                            {"versions", e.versions},
                            {"exit_code", e.exit_code}};
        if (!e.release.empty())
            j["release"] = e.release;
        if (!e.snapshot_id.empty())
            j["snapshot_id"] = e.snapshot_id;
        if (!e.reason.empty())
            j["reason"] = e.reason;
        if (!e.error.empty())
            j["error"] = e.error;
        if (!e.error_position.empty())
            j["error_position"] = e.error_position;
        events_json.push_back(j);
    }
    return {
        {"database", database},
        {"from", from},
        {"to", to},
        {"summary",
         {{"deploys", deploys},
          {"failures", failures},
          {"rollbacks", rollbacks},
          {"restores", restores},
          {"freezes", freezes},
          {"unfreezes", unfreezes},
          {"first_failure_at",
           first_failure_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(first_failure_at)},
          {"recovered_at",
           recovered_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(recovered_at)},
          {"time_to_recovery_seconds",
           time_to_recovery_s < 0 ? nlohmann::json(nullptr) : nlohmann::json(time_to_recovery_s)},
          {"frozen_now", frozen_now}}},
        {"timeline", events_json}};
}

std::string IncidentReport::to_markdown() const {
    std::string out = "## Schema incident record: " + md_escape(database) + "\n\n";
    out += "_From " + from + " to " + to +
           ", built by `rollsafe report` from the append-only history._\n\n";
    out += "| | |\n|---|---|\n";
    out += "| deploys | " + std::to_string(deploys) + " |\n";
    out += "| failures | " + std::to_string(failures) + " |\n";
    out += "| rollbacks | " + std::to_string(rollbacks) + " |\n";
    out += "| table restores | " + std::to_string(restores) + " |\n";
    out += "| freezes / unfreezes | " + std::to_string(freezes) + " / " +
           std::to_string(unfreezes) + " |\n";
    out += "| first failure | " + (first_failure_at.empty() ? std::string("-") : first_failure_at) +
           " |\n";
    out += "| recovered | " +
           (recovered_at.empty() ? std::string(failures ? "not yet" : "-") : recovered_at) + " |\n";
    out += "| time to recovery | " + fmt_duration_s(time_to_recovery_s) + " |\n";
    out += "| frozen now | " + std::string(frozen_now ? "**yes**" : "no") + " |\n\n";
    out +=
        "### Timeline\n\n| time (UTC) | operation | outcome | migrations | who | where | took | "
        "release | snapshot | notes |\n";
    out += "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& e : events) {
        std::string notes = e.reason;
        if (!e.error.empty())
            notes += (notes.empty() ? "" : "; ") + std::string("error") +
                     (e.error_position.empty() ? "" : " at " + e.error_position) + ": " + e.error;
        if (e.exit_code)
            notes +=
                (notes.empty() ? "" : "; ") + std::string("exit ") + std::to_string(e.exit_code);
        out += "| " + e.at + " | " + e.op + " | " +
               (e.failure ? "**" + e.outcome + "**" : e.outcome) + " | " +
               md_escape(text::join(e.versions, ", ")) + " | " + md_escape(e.who) + " | " +
               md_escape(e.where) + " | " + fmt_duration_s(e.duration_ms / 1000) + " | " +
               md_escape(e.release) + " | " + md_escape(e.snapshot_id) + " | " + md_escape(notes) +
               " |\n";
    }
    return out;
}

std::string IncidentReport::to_text() const {
    std::string out = "incident record for " + database + " (" + from + " .. " + to + ")\n";
    out += std::to_string(deploys) + " deploys, " + std::to_string(failures) + " failures, " +
           std::to_string(rollbacks) + " rollbacks, " + std::to_string(restores) + " restores, " +
           std::to_string(freezes) + " freezes\n";
    if (!first_failure_at.empty())
        out += "first failure " + first_failure_at + ", recovered " +
               (recovered_at.empty() ? "not yet" : recovered_at) + " (time to recovery " +
               fmt_duration_s(time_to_recovery_s) + ")\n";
    out += "\n";
    for (const auto& e : events) {
        std::string line = e.at + "  " + e.op;
        line.resize(35, ' ');
        line += e.outcome;
        line.resize(50, ' ');
        line += text::join(e.versions, ",") + "  " + e.who + "@" + e.where;
        if (!e.release.empty())
            line += "  release " + e.release;
        if (!e.error.empty())
            line += "\n    error: " + e.error;
        if (!e.reason.empty())
            line += "\n    reason: " + e.reason;
        out += line + "\n";
    }
    return out;
}

}  // namespace rollsafe
