#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/engine/engine.h"

namespace rollsafe::cli {

nlohmann::json plan_json(const Plan& plan);
std::string plan_text(const Plan& plan);
nlohmann::json run_json(const RunResult& run, bool dry_run);
std::string run_text(const RunResult& run);
// Returns status as pretty-printed JSON (two-space indent, keys in alphabetical order).
std::string status_json(const StatusReport& status);
std::string status_text(const StatusReport& status);
nlohmann::json history_row_json(const HistoryRow& row);
std::string history_text(const std::vector<HistoryRow>& rows);
nlohmann::json lock_holder_json(const std::optional<LockHolder>& holder);
nlohmann::json freeze_json(const std::optional<History::Freeze>& freeze);

// Prints a run (text or JSON) and returns its exit code.
struct Context;
int finish_run(Context& ctx, const RunResult& run, bool dry_run);

}  // namespace rollsafe::cli
