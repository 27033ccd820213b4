#include "core/sqlite/sqlite_lock.h"

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"

namespace rollsafe::sqlite {
namespace {

using Clock = std::chrono::steady_clock;

std::string lease_expiry_ms(Millis lease) {
    return std::string(kNowMs) + " + " + std::to_string(lease.count());
}

std::string lease_expiry_iso(Millis lease) {
    return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+" +
           std::to_string(static_cast<double>(lease.count()) / 1000.0) + " seconds')";
}

}  // namespace

std::optional<LockHolder> read_holder(Database& db, const HistoryStore& store) {
    auto t = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                      {store.prefix() + "_lock"});
    if (t.empty())
        return std::nullopt;
    auto r = db.query("SELECT holder, host, pod, pid, command, acquired_at, heartbeat_at, "
                      "expires_at, expires_ms < " +
                      std::string(kNowMs) + " FROM " + store.table("lock") + " WHERE id = 1");
    if (r.empty())
        return std::nullopt;
    LockHolder h;
    h.holder = r.get(0, 0);
    h.host = r.get(0, 1);
    h.pod = r.get(0, 2);
    h.pid = std::stoi(r.get(0, 3, "0"));
    h.command = r.get(0, 4);
    h.acquired_at = r.get(0, 5);
    h.heartbeat_at = r.get(0, 6);
    h.expires_at = r.get(0, 7);
    h.expired = r.get(0, 8) == "1";
    return h;
}

LeaseLock::LeaseLock(std::string path, std::string prefix, Millis lease, Millis busy_timeout,
                     std::string command)
    : m_path(std::move(path)),
      m_prefix(std::move(prefix)),
      m_lease(lease),
      m_busy(busy_timeout),
      m_command(std::move(command)),
      m_id(new_run_id()) {}

LeaseLock::~LeaseLock() {
    try {
        release();
    } catch (const std::exception& e) {
        log::warn("could not release the migration lock: {}", e.what());
    }
}

bool LeaseLock::acquire(Database& db, HistoryStore& store, Millis wait,
                        const std::function<void(const LockHolder&)>& on_wait) {
    auto deadline = Clock::now() + wait;
    bool told = false;
    auto actor = Actor::current();
    while (true) {
        interrupt::check();
        try {
            WriteTransaction tx(db);
            auto holder = read_holder(db, store);
            if (!holder || holder->expired || holder->holder == m_id) {
                db.query("INSERT OR REPLACE INTO " + store.table("lock") +
                             " (id, holder, host, pod, pid, command, acquired_at, heartbeat_at, "
                             "expires_at, expires_ms) VALUES (1, ?1, ?2, ?3, ?4, ?5, " +
                             kNowIso + ", " + kNowIso + ", " + lease_expiry_iso(m_lease) + ", " +
                             lease_expiry_ms(m_lease) + ")",
                         {m_id, actor.host, actor.pod, std::to_string(actor.pid), m_command});
                tx.commit();
                if (holder && holder->expired && holder->holder != m_id) {
                    m_took_over = holder;
                    log::warn("took over the migration lock of {} (pid {} on {}): its lease "
                              "expired at {}",
                              holder->command, holder->pid, holder->host, holder->expires_at);
                }
                m_held = true;
                m_stop = false;
                m_thread = std::thread([this] { heartbeat_loop(); });
                return true;
            }
            if (!told && on_wait) {
                on_wait(*holder);
                told = true;
            }
        } catch (const SqliteError& e) {
            if (!e.busy())
                throw;
            // busy_timeout ran out while another process wrote: try again until `wait` ends.
        }
        if (Clock::now() >= deadline)
            return false;
        if (!interrupt::sleep_for(Millis(100)))
            interrupt::check();
    }
}

bool LeaseLock::fence(Database& db, HistoryStore& store) {
    db.query("UPDATE " + store.table("lock") + " SET heartbeat_at = " + kNowIso +
                 ", expires_at = " + lease_expiry_iso(m_lease) +
                 ", expires_ms = " + lease_expiry_ms(m_lease) + " WHERE id = 1 AND holder = ?1",
             {m_id});
    bool ok = db.changes() == 1;
    if (!ok)
        m_lost = true;
    return ok;
}

void LeaseLock::heartbeat_loop() {
    std::unique_ptr<Database> db;
    std::unique_ptr<HistoryStore> store;
    auto period = std::max(Millis(100), m_lease / 3);
    std::unique_lock<std::mutex> lk(m_mutex);
    while (!m_stop) {
        m_cv.wait_for(lk, period, [this] { return m_stop; });
        if (m_stop)
            break;
        lk.unlock();
        try {
            if (!db) {
                db = std::make_unique<Database>(m_path, std::min(m_busy, period));
                store = std::make_unique<HistoryStore>(*db, m_prefix);
            }
            if (!fence(*db, *store))
                log::error("the migration lock was taken over by another process");
        } catch (const SqliteError& e) {
            // Busy: the migration's own transaction holds the write lock and renews the lease
            // when it commits; another process cannot take the lease while it is held.
            if (!e.busy())
                log::warn("migration lock heartbeat: {}", e.what());
        } catch (const std::exception& e) {
            log::warn("migration lock heartbeat: {}", e.what());
        }
        lk.lock();
    }
}

void LeaseLock::release() {
    {
        std::lock_guard<std::mutex> g(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    if (!m_held.exchange(false))
        return;
    Database db(m_path, m_busy);
    HistoryStore store(db, m_prefix);
    db.query("DELETE FROM " + store.table("lock") + " WHERE id = 1 AND holder = ?1", {m_id});
}

}  // namespace rollsafe::sqlite
