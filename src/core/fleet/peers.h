#pragma once

// Waves across pods: before a pod starts a wave, every target of the earlier waves that other
// shards run must have succeeded. A pod cannot see the others' processes, so it reads each
// peer's own database (history, freeze) until the peer is done, has failed, or the wait ends.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/config.h"
#include "core/base/duration.h"
#include "core/engine/engine.h"
#include "core/fleet/runner.h"

namespace rollsafe::fleet {

// How a peer target looks from here.
struct PeerState {
    enum class Kind { done, pending, failed };
    Kind kind = Kind::pending;
    ExitCode code = ExitCode::ok;  // failed: the exit code its own run ended with
    std::string detail;            // "2 pending", "frozen: ...", "unreachable: ..."
};
using PeerProbe = std::function<PeerState(const Target&)>;

// Polls the peers (a done peer is not asked again) every `poll` until all are done, one has
// failed (kind failed, with that peer's code), or `wait` passes (kind timeout, NOT_READY);
// INTERRUPTED on a signal. `progress` hears one line per round while peers are pending.
PeerVerdict wait_for_peers(const std::vector<std::pair<std::string, Target>>& peers,
                           const PeerProbe& probe, Millis wait, Millis poll,
                           const std::function<void(const std::string&)>& progress = {});

// Decides whether a peer finished `up`, from its status and the newest history row of its first
// pending migration (with that migration's file checksum): done when nothing up to `to` is
// pending; failed when frozen, dirty, drifted, or when that migration's newest row is a failure
// of the same script and nobody holds the peer's lock (transient codes such as BUSY keep it
// pending); pending otherwise.
PeerState up_peer_state(const StatusReport& status,
                        const std::optional<HistoryRow>& first_pending_row,
                        const std::string& first_pending_sha256, const std::optional<Version>& to,
                        bool allow_out_of_order);

// The probe for `up`: reads a peer's status with the same migration files (read-only).
PeerProbe up_peer_probe(const Config& base, std::optional<std::string> to_version,
                        bool allow_out_of_order);

}  // namespace rollsafe::fleet
