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
#include "core/base/error.h"
#include "core/db/session.h"
#include "core/engine/history.h"

namespace rollsafe {

// Who holds the migration lock (a row in <schema>.lock).
struct LockHolder {
    std::string holder, host, pod, command, acquired_at, heartbeat_at, expires_at;
    int pid = 0;
    bool expired = false;
};

// Returns the current holder, if any (read-only; works when the tables do not exist yet).
std::optional<LockHolder> read_lock_holder(db::Session& session, const std::string& schema);

// What a migrator says while it waits for the lock, and the Error(LOCKED) it throws when
// --lock-wait runs out (naming the holder when it is known): the same on PostgreSQL and SQLite.
std::string lock_waiting_message(const LockHolder& holder, Millis wait);
Error lock_wait_error(const std::optional<LockHolder>& holder, Millis wait);

// The migration lock between migrators: a lease row renewed by a heartbeat on its own
// connection. Works through PgBouncer in transaction mode (no session state), and a holder
// killed with SIGKILL loses it when its lease expires. When the heartbeat cannot renew before
// the lease ends, the lock counts as lost and `on_lost` runs (fencing: stop the work).
class MigrationLock {
  public:
    // connect opens the heartbeat's own connection.
    MigrationLock(std::function<std::unique_ptr<db::Session>()> connect, std::string schema,
                  Millis lease, std::string command);
    ~MigrationLock();
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;

    // Tries to take the lock until `wait` runs out, calling on_wait once when it must wait.
    // Returns false when another holder kept it. Throws DbError on database errors and
    // Error(INTERRUPTED) on a signal.
    [[nodiscard]] bool acquire(db::Session& session, Millis wait,
                               const std::function<void(const LockHolder&)>& on_wait = {});

    // Returns SQL for inside a migration transaction, before rollsafe's own statements: puts
    // the session back to rollsafe's user (a script may have switched it), renews the lease and
    // raises RSL01 when this process no longer holds the lock, so a stale holder never commits.
    std::string fence_sql() const;

    // True once the heartbeat found the lock taken over or could not renew it in time.
    bool lost() const { return m_lost.load(); }
    // Runs fn (from the heartbeat thread) when the lock is lost.
    void on_lost(std::function<void()> fn);

    // Gives the lock up (also done by the destructor).
    void release();

    const std::string& holder_id() const { return m_id; }
    // The previous holder whose expired lease we took over, if any.
    const std::optional<LockHolder>& took_over_from() const { return m_took_over; }

  private:
    void heartbeat_loop();

    std::function<std::unique_ptr<db::Session>()> m_connect;
    std::string m_schema;
    std::string m_q;
    Millis m_lease;
    std::string m_command;
    std::string m_id;
    std::atomic<bool> m_held{false};
    std::atomic<bool> m_lost{false};
    std::optional<LockHolder> m_took_over;
    std::function<void()> m_on_lost;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    std::thread m_thread;
    std::unique_ptr<db::Session> m_hb_session;
};

}  // namespace rollsafe
