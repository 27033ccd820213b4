#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/engine/history.h"

namespace rollsafe {

// One operation of the timeline: the rows of one run (run_id) folded together.
struct ReportEvent {
    std::string at, finished_at;  // ISO 8601
    std::string
        op;  // up, down, rollback, baseline, repair, restore, freeze, unfreeze, release, lock-break
    std::string outcome;     // success, failed, failed-dirty, frozen, unfrozen, deployed, ...
    std::string who, where;  // os user (db user), host (pod)
    long long duration_ms = 0;
    std::vector<std::string> versions;
    std::string release, snapshot_id, reason, error, error_position;
    int exit_code = 0;
    bool failure = false;
};

// An incident record built from history: a timeline and the figures a post-mortem needs.
struct IncidentReport {
    std::string database;
    std::string from, to;
    std::vector<ReportEvent> events;
    int deploys = 0, failures = 0, rollbacks = 0, restores = 0, freezes = 0, unfreezes = 0;
    std::string first_failure_at, recovered_at;
    long long time_to_recovery_s = -1;  // -1: not recovered (or no failure)
    bool frozen_now = false;

    nlohmann::json to_json() const;
    std::string to_markdown() const;
    std::string to_text() const;
};

// Builds the report from history rows (oldest first).
IncidentReport build_report(const std::vector<HistoryRow>& rows, const std::string& database,
                            bool frozen_now);

// Seconds between two ISO 8601 UTC timestamps ("2026-01-02T03:04:05.678Z"); -1 when unparsable.
long long seconds_between(const std::string& from, const std::string& to);

}  // namespace rollsafe
