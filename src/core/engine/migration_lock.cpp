#include "core/engine/migration_lock.h"

#include <random>

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/text.h"

namespace rollsafe {
namespace {

const char* kHolderColumns =
    "holder, host, pid, pod, command, "
    "to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "expires_at < clock_timestamp()";

LockHolder to_holder(const db::Result& r) {
    LockHolder h;
    h.holder = r.get(0, 0);
    h.host = r.get(0, 1);
    h.pid = r.get(0, 2).empty() ? 0 : std::stoi(r.get(0, 2));
    h.pod = r.get(0, 3);
    h.command = r.get(0, 4);
    h.acquired_at = r.get(0, 5);
    h.heartbeat_at = r.get(0, 6);
    h.expires_at = r.get(0, 7);
    h.expired = r.get(0, 8) == "t";
    return h;
}

}  // namespace

std::string lock_waiting_message(const LockHolder& h, Millis wait) {
    return "waiting up to " + format_duration(wait) + " for the migration lock held by " +
           h.command + " (pid " + std::to_string(h.pid) + " on " + h.host +
           (h.pod.empty() ? "" : ", pod " + h.pod) + ")";
}

Error lock_wait_error(const std::optional<LockHolder>& holder, Millis wait) {
    return Error(
        ExitCode::locked,
        "another rollsafe holds the migration lock" +
            (holder ? " (" + holder->command + ", pid " + std::to_string(holder->pid) + " on " +
                          holder->host + ", lease until " + holder->expires_at + ")"
                    : std::string()) +
            " and --lock-wait " + format_duration(wait) + " ran out",
        "retry later; a holder that died loses the lock when its lease expires");
}

std::optional<LockHolder> read_lock_holder(db::Session& session, const std::string& schema) {
    auto q = text::quote_ident(schema);
    auto exists = session.exec_params("SELECT to_regclass($1) IS NOT NULL", {q + ".lock"});
    if (exists.get(0, 0) != "t")
        return std::nullopt;
    auto r =
        session.exec(std::string("SELECT ") + kHolderColumns + " FROM " + q + ".lock WHERE id = 1");
    if (r.empty())
        return std::nullopt;
    return to_holder(r);
}

MigrationLock::MigrationLock(std::function<std::unique_ptr<db::Session>()> connect,
                             std::string schema, Millis lease, std::string command)
    : m_connect(std::move(connect)),
      m_schema(std::move(schema)),
      m_q(text::quote_ident(m_schema)),
      m_lease(lease),
      m_command(std::move(command)),
      m_id(new_run_id()) {}

MigrationLock::~MigrationLock() {
    release();
}

bool MigrationLock::acquire(db::Session& session, Millis wait,
                            const std::function<void(const LockHolder&)>& on_wait) {
    auto actor = Actor::current();
    auto deadline = std::chrono::steady_clock::now() + wait;
    std::mt19937 rng(std::random_device{}());
    Millis backoff{100};
    bool announced = false;
    while (true) {
        interrupt::check();
        // Take the row when it is free or its lease has expired, in one statement.
        auto prev = session.exec(std::string("SELECT ") + kHolderColumns + " FROM " + m_q +
                                 ".lock WHERE id = 1");
        auto r = session.exec_params(
            "INSERT INTO " + m_q +
                ".lock AS l (id, holder, host, pid, pod, command, acquired_at, heartbeat_at, "
                "expires_at) "
                "VALUES (1, $1, $2, $3::int, $4, $5, clock_timestamp(), clock_timestamp(), "
                "clock_timestamp() + $6::bigint * interval '1 millisecond') "
                "ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, host = EXCLUDED.host, "
                "pid = EXCLUDED.pid, "
                "pod = EXCLUDED.pod, command = EXCLUDED.command, acquired_at = "
                "EXCLUDED.acquired_at, "
                "heartbeat_at = EXCLUDED.heartbeat_at, expires_at = EXCLUDED.expires_at "
                "WHERE l.expires_at < clock_timestamp() RETURNING holder",
            {m_id, actor.host, std::to_string(actor.pid), actor.pod, m_command,
             std::to_string(m_lease.count())});
        if (!r.empty() && r.get(0, 0) == m_id) {
            if (!prev.empty()) {
                m_took_over = to_holder(prev);
                log::warn(
                    "took over the migration lock from {} (pid {} on {}): its lease expired at {}",
                    m_took_over->holder.substr(0, 8), m_took_over->pid, m_took_over->host,
                    m_took_over->expires_at);
            }
            break;
        }
        if (!announced && !prev.empty() && on_wait)
            on_wait(to_holder(prev));
        announced = true;
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        auto left = std::chrono::duration_cast<Millis>(deadline - now);
        auto jitter = Millis(std::uniform_int_distribution<long>(0, backoff.count() / 2)(rng));
        if (!interrupt::sleep_for(std::min(left, backoff + jitter)))
            interrupt::check();
        backoff = std::min(backoff * 2, Millis(1000));
    }
    m_held = true;
    // The heartbeat's session opens on its own thread: the holder gets on with its work (a
    // connection costs a few ms, a fork on the server). A connection that fails is retried at
    // each beat, and the lease decides as before.
    m_thread = std::thread([this] {
        try {
            m_hb_session = m_connect();
        } catch (const std::exception& e) {
            log::warn("migration lock heartbeat cannot connect yet: {}", e.what());
        }
        heartbeat_loop();
    });
    return true;
}

std::string MigrationLock::fence_sql() const {
    // rollsafe's own statements of the transaction start here, after the script's: run them as
    // rollsafe's user even when the script ran SET SESSION AUTHORIZATION or SET ROLE.
    return "RESET SESSION AUTHORIZATION; RESET ROLE; SELECT " + m_q + ".fence(" +
           sql_literal(m_id) + ", " + std::to_string(m_lease.count()) + ")";
}

void MigrationLock::on_lost(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_on_lost = std::move(fn);
}

void MigrationLock::heartbeat_loop() {
    auto interval = std::max(Millis(50), m_lease / 3);
    auto renewed = std::chrono::steady_clock::now();
    while (true) {
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            if (m_cv.wait_for(lock, interval, [this] { return m_stop; }))
                return;
        }
        bool ok = false;
        bool taken = false;
        try {
            if (!m_hb_session)
                m_hb_session = m_connect();
            auto r = m_hb_session->exec_params(
                "UPDATE " + m_q +
                    ".lock SET heartbeat_at = clock_timestamp(), "
                    "expires_at = clock_timestamp() + $2::bigint * interval '1 millisecond' "
                    "WHERE id = 1 AND holder = $1 RETURNING 1",
                {m_id, std::to_string(m_lease.count())});
            ok = !r.empty();
            taken = r.empty();
        } catch (const std::exception& e) {
            log::warn("migration lock heartbeat failed: {}", e.what());
            m_hb_session.reset();
        }
        auto now = std::chrono::steady_clock::now();
        if (ok)
            renewed = now;
        if (taken || now - renewed >= m_lease) {
            m_lost = true;
            log::error("lost the migration lock: {}", taken ? "another process took it over"
                                                            : "could not renew the lease in time");
            std::function<void()> fn;
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                fn = m_on_lost;
            }
            if (fn)
                fn();
            return;
        }
    }
}

void MigrationLock::release() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    if (!m_held.exchange(false))
        return;
    try {
        if (!m_hb_session)
            m_hb_session = m_connect();
        m_hb_session->exec_params("DELETE FROM " + m_q + ".lock WHERE id = 1 AND holder = $1",
                                  {m_id});
    } catch (const std::exception& e) {
        log::warn("could not release the migration lock (it expires on its own): {}", e.what());
    }
    m_hb_session.reset();
}

}  // namespace rollsafe
