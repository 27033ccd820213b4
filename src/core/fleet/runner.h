#pragma once

// Runs one command on every target of a fleet: wave after wave, with bounded parallelism, each
// target's failure kept to that target. The work for a target is a callback, so the same runner
// drives up, down, rollback, status, check and gate (and fakes in unit tests).

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/base/exit_code.h"
#include "core/fleet/shard.h"
#include "core/fleet/targets.h"

namespace rollsafe::fleet {

// The waves of one run: for each wave in order, the targets this shard runs and the targets
// other shards run (peers).
struct Rollout {
    struct Wave {
        std::string name;
        std::vector<Target> mine;
        std::vector<Target> peers;
    };
    std::vector<Wave> waves;  // only waves with at least one selected target
    Shard shard;
    std::size_t selected = 0;  // targets selected in the whole fleet
};

// Groups selected targets by the file's wave order and splits each wave by shard.
Rollout plan_rollout(const TargetsFile& file, const std::vector<Target>& selected,
                     const Shard& shard);

// What one target's work returned: its exit code, a line for people, and the command's own
// document for that target.
struct Outcome {
    ExitCode code = ExitCode::ok;
    std::string message, hint;
    nlohmann::json detail = nlohmann::json::object();
};

// What happened to one target of this shard.
struct TargetResult {
    Target target;
    std::string wave;
    int shard = 0;
    // ok, failed, or skipped (not started: outcome.message says why)
    std::string state = "skipped";
    Outcome outcome;
    long long duration_ms = 0;
    std::string started_at, finished_at;  // ISO 8601 UTC; empty when skipped
};

// How one wave went, counted over this shard's targets.
struct WaveResult {
    std::string name;
    std::string state = "skipped";  // ok, failed, partial, skipped, other-shards
    int ok = 0, failed = 0, skipped = 0;
};

// Why the rollout stopped before the end, when it did.
struct Stop {
    std::string target;  // the target whose failure stopped it; empty for a timeout or a signal
    std::string wave;
    ExitCode code = ExitCode::ok;
    std::string reason;
};

// The whole run: every target of this shard, every wave, and the overall exit code.
struct FleetResult {
    std::vector<TargetResult> targets;  // in run order: wave by wave, file order within a wave
    std::vector<WaveResult> waves;
    ExitCode code = ExitCode::ok;  // the most severe per-target code (or the stop's code)
    std::optional<Stop> stop;
    int ok = 0, failed = 0, skipped = 0;
};

// What the rest of a wave does when one of its targets fails.
enum class OnFailure { stop, continue_wave };

// Returns "stop" or "continue"; parses them back (nullopt for anything else).
const char* on_failure_name(OnFailure f);
std::optional<OnFailure> parse_on_failure(const std::string& text);

// The verdict on the targets of earlier waves that other shards (pods) run.
struct PeerVerdict {
    enum class Kind { done, failed, timeout };
    Kind kind = Kind::done;
    ExitCode code = ExitCode::ok;
    std::string target, wave;
    std::string message;
};
// Waits until the given peers are done (see peers.h); empty: peers are not waited for.
using PeerWait =
    std::function<PeerVerdict(const std::vector<std::pair<std::string, Target>>& peers)>;

// How a rollout runs.
struct RunOptions {
    int parallel = 4;  // targets worked on at once
    OnFailure on_failure = OnFailure::stop;
    // true (commands that change databases): a wave starts only when every target of the
    // previous waves succeeded. false (read-only commands): every target is visited.
    bool waves_gate = true;
    PeerWait wait_for_peers;  // asked before a wave that has earlier-wave targets in other shards
};

// Callbacks that report progress as the rollout runs (both may be empty).
struct Observer {
    // A wave starts with this many of this shard's targets (runs that change databases only).
    std::function<void(const std::string& wave, std::size_t targets)> wave_started;
    // A target finished or was skipped. Calls never overlap (a lock is held), from any thread.
    std::function<void(const TargetResult&)> target_finished;
};

// The work for one target. Throwing Error (or anything else) fails that target only: the code
// of the Error, INTERNAL for other exceptions.
using Work = std::function<Outcome(const Target&)>;

// Runs work on every target of the rollout; never throws for a target's failure.
FleetResult run_rollout(const Rollout& rollout, const RunOptions& options, const Work& work,
                        const Observer& observer = {});

// Returns the more severe of two exit codes (exit_code_severity).
ExitCode more_severe(ExitCode a, ExitCode b);

}  // namespace rollsafe::fleet
