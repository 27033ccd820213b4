#include "core/sqlite/sqlite_snapshot.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/sha256.h"
#include "core/base/text.h"
#include "core/engine/history.h"
#include "core/snapshot/store.h"

namespace rollsafe::sqlite {
namespace {

long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// User tables of a database (rollsafe's own included: a snapshot is the whole file).
std::vector<std::string> user_tables(Database& db, const std::string& schema = "main") {
    auto r = db.query("SELECT name FROM " + ident(schema) +
                      ".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                      "ESCAPE '\\' ORDER BY name");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i)
        out.push_back(r.get(i, 0));
    return out;
}

long long count_rows(Database& db, const std::string& schema, const std::string& table) {
    auto r = db.query("SELECT count(*) FROM " + ident(schema) + "." + ident(table));
    return std::stoll(r.get(0, 0, "0"));
}

}  // namespace

snapshot::Manifest create_snapshot(Database& db, const Config& config,
                                   const std::string& version_before,
                                   const std::optional<BatchInfo>& batch) {
    auto t0 = std::chrono::steady_clock::now();
    snapshot::SnapshotStore store(config.snapshot_dir);
    store.prepare();
    std::time_t now = std::time(nullptr);
    snapshot::Manifest m;
    m.id = snapshot::new_snapshot_id(now);
    m.created_at = snapshot::iso_utc(now);
    m.created_unix = static_cast<long long>(now);
    m.created_ms = now_ms();
    m.database = "sqlite:" + db.path();
    m.dbname = db.path();
    m.schema_version_before = version_before;
    m.mode = "full";
    m.archive = m.id + ".db";
    m.server_version = std::string("SQLite ") + sqlite3_libversion();
    m.server_version_num = sqlite3_libversion_number();
    m.batch = batch;
    const std::string final_path = store.dir() + "/" + m.archive;
    try {
        snapshot::TempArchive tmp(store.dir(), m.id);  // 0600, empty: a valid empty database
        sqlite3* dest = nullptr;
        int rc = sqlite3_open_v2(tmp.path().c_str(), &dest, SQLITE_OPEN_READWRITE, nullptr);
        std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(dest, sqlite3_close);
        if (rc != SQLITE_OK)
            throw Error(ExitCode::snapshot_failed,
                        "cannot open the snapshot file " + tmp.path() + ": " + sqlite3_errstr(rc));
        sqlite3_backup* b = sqlite3_backup_init(dest, "main", db.handle(), "main");
        if (!b)
            throw Error(ExitCode::snapshot_failed,
                        std::string("cannot start the SQLite backup: ") + sqlite3_errmsg(dest));
        // Copies in one step: a consistent copy even while other connections write.
        do {
            rc = sqlite3_backup_step(b, -1);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(50);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE)
            throw Error(ExitCode::snapshot_failed,
                        std::string("the SQLite backup failed: ") + sqlite3_errstr(rc));
        guard.reset();
        tmp.commit(final_path);
    } catch (const Error& e) {
        if (e.code() == ExitCode::snapshot_failed)
            throw;
        throw Error(ExitCode::snapshot_failed, e.what(), e.hint());
    }
    // Exact row counts, from the copy (what a restore will find).
    Database copy(final_path, Millis(1000));
    for (const auto& t : user_tables(copy)) {
        snapshot::TableEntry e;
        e.schema = "main";
        e.name = t;
        e.rows = count_rows(copy, "main", t);
        e.row_estimate = e.rows;
        m.tables.push_back(e);
    }
    struct stat st {};
    if (::stat(final_path.c_str(), &st) == 0)
        m.bytes = static_cast<long long>(st.st_size);
    m.sha256 = sha256_file(final_path);
    m.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    store.save(m);
    return m;
}

snapshot::Verification verify_snapshot(const Config& config, const std::string& id) {
    snapshot::SnapshotStore store(config.snapshot_dir);
    auto m = store.load(id);
    if (!text::ends_with(m.archive, ".db"))
        throw usage_error("snapshot " + id + " is a PostgreSQL archive, not an SQLite copy",
                          "verify it with a PostgreSQL database URL");
    snapshot::Verification v;
    v.at = snapshot::iso_utc(std::time(nullptr));
    const std::string path = store.archive_path(m);
    try {
        if (!fs::exists(path))
            throw std::runtime_error("the file " + path + " is missing");
        v.sha256 = sha256_file(path);
        if (v.sha256 != m.sha256)
            throw std::runtime_error("sha256 " + v.sha256.substr(0, 12) +
                                     "... differs from the manifest's " + m.sha256.substr(0, 12) +
                                     "...");
        Database copy(path, Millis(1000));
        auto ic = copy.query("PRAGMA integrity_check");
        if (ic.get(0, 0) != "ok")
            throw std::runtime_error("integrity_check: " + ic.get(0, 0));
        for (const auto& t : m.tables) {
            long long n = count_rows(copy, "main", t.name);
            v.rows[t.name] = n;
            if (t.rows >= 0 && n != t.rows)
                throw std::runtime_error("table " + t.name + " has " + std::to_string(n) +
                                         " rows, the manifest says " + std::to_string(t.rows));
        }
        v.ok = true;
    } catch (const std::exception& e) {
        v.ok = false;
        v.error = e.what();
    }
    m.verification = v;
    try {
        store.save(m);
    } catch (const std::exception& e) {
        log::warn("could not store the verification in the manifest: {}", e.what());
    }
    return v;
}

TableRestore restore_table(Database& db, HistoryStore& hist, const Config& config,
                           const std::string& id, const std::string& table,
                           const std::string& reason, bool dry_run) {
    snapshot::SnapshotStore store(config.snapshot_dir);
    auto m = store.load(id);
    std::string name = table;
    if (text::starts_with(name, "main."))
        name = name.substr(5);
    bool found = false;
    for (const auto& t : m.tables)
        found = found || t.name == name;
    if (!found)
        throw usage_error("snapshot " + id + " has no table \"" + name + "\"",
                          "see the tables with `rollsafe snapshot list -o json`");
    if (text::starts_with(name, hist.prefix() + "_"))
        throw usage_error("\"" + name + "\" is one of rollsafe's own tables; it is not restored");
    auto v = verify_snapshot(config, id);
    if (!v.ok)
        throw Error(ExitCode::snapshot_failed, "snapshot " + id + " fails verification: " + v.error,
                    "choose another snapshot (rollsafe snapshot list)");
    TableRestore out;
    out.snapshot_id = id;
    out.table = name;
    out.dry_run = dry_run;
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", std::gmtime(&now));
    out.aside = name + "_before_restore_" + stamp;
    auto exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", {name});
    if (!exists.empty())
        out.rows_before = count_rows(db, "main", name);
    else
        out.aside.clear();
    out.rows = v.rows.count(name) ? v.rows[name] : 0;
    if (!out.aside.empty()) {
        auto now_sql = db.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", {name});
        Database copy(store.archive_path(m), Millis(1000));
        auto then_sql =
            copy.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", {name});
        out.definition_differs = now_sql.get(0, 0) != then_sql.get(0, 0);
    }
    if (dry_run)
        return out;

    // ATTACH cannot run inside a transaction; the copy is read through it, never written.
    db.query("ATTACH DATABASE ?1 AS rollsafe_snapshot", {store.archive_path(m)});
    struct Detach {
        Database& db;
        ~Detach() {
            try {
                db.exec("DETACH DATABASE rollsafe_snapshot");
            } catch (const std::exception& e) {
                log::warn("detach: {}", e.what());
            }
        }
    } detach{db};
    // Renaming must not rewrite other tables' foreign keys to point at the table set aside.
    db.exec("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON");
    WriteTransaction tx(db);
    if (!out.aside.empty()) {
        auto attached = db.query(
            "SELECT type, name FROM main.sqlite_master WHERE tbl_name = ?1 AND type IN ('index', "
            "'trigger') AND sql IS NOT NULL",
            {name});
        for (std::size_t i = 0; i < attached.size(); ++i)
            db.exec("DROP " + text::to_upper(attached.get(i, 0)) + " main." + ident(attached.get(i, 1)));
        db.exec("ALTER TABLE main." + ident(name) + " RENAME TO " + ident(out.aside));
    }
    auto ddl = db.query(
        "SELECT type, sql FROM rollsafe_snapshot.sqlite_master WHERE tbl_name = ?1 AND sql IS NOT "
        "NULL ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END",
        {name});
    for (std::size_t i = 0; i < ddl.size(); ++i) {
        if (ddl.get(i, 0) == "table") {
            db.exec(ddl.get(i, 1));
            db.exec("INSERT INTO main." + ident(name) + " SELECT * FROM rollsafe_snapshot." +
                    ident(name));
        } else {
            db.exec(ddl.get(i, 1));
        }
    }
    auto actor = Actor::current();
    HistoryRow row;
    row.run_id = new_run_id();
    row.op = "restore";
    row.outcome = "restored";
    row.snapshot_id = id;
    row.reason = reason;
    row.os_user = actor.os_user;
    row.host = actor.host;
    row.pod = actor.pod;
    row.pid = actor.pid;
    row.details = {{"table", name}, {"aside", out.aside}, {"rows", out.rows},
                   {"rows_before", out.rows_before}, {"engine", "sqlite"}};
    hist.append(row);
    tx.commit();
    db.exec("PRAGMA legacy_alter_table = OFF");
    return out;
}

}  // namespace rollsafe::sqlite
