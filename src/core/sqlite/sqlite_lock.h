#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/base/duration.h"
#include "core/engine/migration_lock.h"
#include "core/sqlite/sqlite_history.h"

namespace rollsafe::sqlite {

// Returns the holder of the lease row, if any (nothing when the tables do not exist).
std::optional<LockHolder> read_holder(Database& db, const HistoryStore& store);

// The migration lock between processes on one SQLite file: a lease row (holder, host, pid,
// command, heartbeat, expiry) written under SQLite's own write lock (BEGIN IMMEDIATE with
// busy_timeout), renewed by a heartbeat thread on its own connection. A holder killed with
// SIGKILL loses it once the lease expires. Released by the destructor.
class LeaseLock {
  public:
    LeaseLock(std::string path, std::string prefix, Millis lease, Millis busy_timeout,
              std::string command);
    ~LeaseLock();
    LeaseLock(const LeaseLock&) = delete;
    LeaseLock& operator=(const LeaseLock&) = delete;

    // Tries to take the lock until `wait` runs out (on_wait is called once when it must wait).
    // Returns false when another holder kept it. Throws Error(INTERRUPTED) on a signal.
    [[nodiscard]] bool acquire(Database& db, HistoryStore& store, Millis wait,
                               const std::function<void(const LockHolder&)>& on_wait = {});
    // Inside a write transaction: renews the lease and returns false when this process no
    // longer holds it (the transaction must then roll back).
    [[nodiscard]] bool fence(Database& db, HistoryStore& store);
    // True once the heartbeat found the lease taken over.
    bool lost() const { return m_lost.load(); }
    const std::optional<LockHolder>& took_over_from() const { return m_took_over; }
    // Gives the lock up (also done by the destructor).
    void release();

  private:
    void heartbeat_loop();

    std::string m_path, m_prefix;
    Millis m_lease, m_busy;
    std::string m_command, m_id;
    std::atomic<bool> m_held{false}, m_lost{false};
    std::optional<LockHolder> m_took_over;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace rollsafe::sqlite
