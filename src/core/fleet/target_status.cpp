#include "core/fleet/target_status.h"

namespace rollsafe::fleet {
namespace {

bool is_migration_op(const std::string& op) {
    return op == "up" || op == "down" || op == "baseline" || op == "repair" || op == "restore";
}

}  // namespace

ExitCode target_status_code(const StatusReport& status, const std::optional<HistoryRow>& last,
                            std::string& reason) {
    ExitCode code = ExitCode::ok;
    reason.clear();
    auto consider = [&](ExitCode c, const std::string& why) {
        if (code == ExitCode::ok || exit_code_severity(c) > exit_code_severity(code)) {
            code = c;
            reason = why;
        }
    };
    for (const auto& e : status.entries) {
        if (e.state == "dirty")
            consider(ExitCode::failed_dirty,
                     e.version + "_" + e.name + " is dirty (failed part way)");
        if (e.drift == "changed")
            consider(ExitCode::drift, e.version + "_" + e.name + " changed since it was applied");
    }
    if (status.freeze)
        consider(ExitCode::frozen,
                 "frozen since " + status.freeze->set_at + ": " + status.freeze->reason);
    if (last && (last->outcome == "failed" || last->outcome == "failed-dirty")) {
        ExitCode c =
            last->outcome == "failed-dirty" ? ExitCode::failed_dirty : ExitCode::failed_clean;
        const auto& d = last->details;
        if (d.is_object() && d.contains("exit_code") && d["exit_code"].is_number_integer()) {
            int v = d["exit_code"].get<int>();
            if (v > 0 && v <= static_cast<int>(ExitCode::busy))
                c = static_cast<ExitCode>(v);
        }
        consider(c, "last " + last->op + " of " + last->version + "_" + last->name + " failed at " +
                        last->finished_at +
                        (last->error.empty() ? std::string() : ": " + last->error));
    }
    return code;
}

TargetStatus read_target_status(Engine& engine) {
    TargetStatus ts;
    ts.report = engine.status();
    if (ts.report.initialized) {
        History::Filter f;
        f.limit = 10;
        auto rows = engine.history_store().rows(f);  // status found the tables: no second look
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
            if (is_migration_op(it->op)) {
                ts.last = *it;
                break;
            }
        }
    }
    ts.code = target_status_code(ts.report, ts.last, ts.reason);
    return ts;
}

}  // namespace rollsafe::fleet
