#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/base/config.h"
#include "core/db/session.h"
#include "core/engine/engine.h"
#include "core/snapshot/manifest.h"
#include "core/snapshot/touched.h"

namespace rollsafe::snapshot {

// What a batch needs: no snapshot, the touched relations, or the whole database (with why).
struct BatchPlan {
    std::string mode = "none";  // none | touched | full
    std::vector<TouchedRelation> relations;
    std::vector<std::string> reasons;  // why full, or why none
};

// Returns the snapshot mode of one step: its `-- rollsafe:snapshot=` directive, else the
// configured mode.
std::string step_snapshot_mode(const PlannedStep& step, const std::string& configured);

// Decides what to dump before a batch: each step's mode (directive, else snapshot.mode); full
// when any step asks for it or when touched analysis meets a statement whose targets cannot be
// known; the touched relations of the other steps otherwise. Throws db::DbError.
BatchPlan plan_batch(db::Session& session, const SnapshotRequest& request,
                     const std::string& configured_mode);

// Returns the engine's snapshot hook: plans the batch, takes the snapshot, applies retention
// (snapshot.keep, snapshot.max_age) and returns the snapshot id ("" when the batch needs none).
// Throws Error(SNAPSHOT_FAILED) on any failure, so that nothing is applied.
std::function<std::string(db::Session&, const SnapshotRequest&)> make_snapshot_hook(
    const Config& config);

// Takes a snapshot by hand (`rollsafe snapshot create`): of the named tables ("orders",
// "public.orders"), of what the pending up migrations touch (mode "touched"), or of the whole
// database (mode "full"). Throws Error(USAGE) for an unknown table, Error(SNAPSHOT_FAILED) when
// the dump fails.
Manifest take_snapshot(const Config& config, const std::string& mode,
                       const std::vector<std::string>& tables);

}  // namespace rollsafe::snapshot
