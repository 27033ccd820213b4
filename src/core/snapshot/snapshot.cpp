#include "core/snapshot/snapshot.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <future>
#include <map>
#include <set>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/sha256.h"
#include "core/base/text.h"
#include "core/snapshot/pg_tools.h"
#include "core/snapshot/progress.h"
#include "core/snapshot/script_stream.h"

namespace rollsafe::snapshot {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string pattern(const std::string& schema, const std::string& name) {
    // pg_dump patterns: inside double quotes every character is literal.
    return text::quote_ident(schema) + "." + text::quote_ident(name);
}

Error dump_failed(const ProcessResult& r, const std::string& dir, Millis lock_wait) {
    std::string err = r.err;
    if (r.term_signal == SIGXFSZ || err.find("No space left") != std::string::npos ||
        err.find("File too large") != std::string::npos ||
        err.find("Disk quota") != std::string::npos) {
        return Error(ExitCode::snapshot_failed,
                     "pg_dump could not write the snapshot: no space left (disk full or file size "
                     "limit) in " +
                         dir + "; nothing was applied",
                     "free space in snapshot.dir or remove old snapshots (rollsafe snapshot "
                     "prune), then retry");
    }
    if (err.find("could not obtain lock") != std::string::npos ||
        err.find("lock timeout") != std::string::npos) {
        return Error(ExitCode::snapshot_failed,
                     "pg_dump could not lock a table within " + format_duration(lock_wait) +
                         " (another session holds a conflicting lock); nothing was applied",
                     "retry when the table is not being altered, or raise timeouts.lock");
    }
    return Error(ExitCode::snapshot_failed,
                 "pg_dump failed: " + r.describe() + "; nothing was applied",
                 std::string(text::trim(err)));
}

}  // namespace

SnapshotService::SnapshotService(Config config, ProcessRunner& runner)
    : m_config(std::move(config)), m_runner(runner), m_store(m_config.snapshot_dir) {}

std::unique_ptr<db::Session> SnapshotService::connect() const {
    db::ConnectOptions o;
    o.connect_timeout = m_config.connect_timeout;
    o.retries = m_config.connect_retries;
    o.application_name = "rollsafe-snapshot";
    return db::connect(Dsn::parse(m_config.database_url), o);
}

std::vector<TableEntry> describe_relations(db::Session& session,
                                           const std::vector<TouchedRelation>& relations) {
    std::vector<TableEntry> out;
    if (relations.empty())
        return out;
    std::string oids = "{";
    for (std::size_t i = 0; i < relations.size(); ++i)
        oids += (i ? "," : "") + std::to_string(relations[i].relation.oid);
    oids += "}";
    // pg_table_size() takes an ACCESS SHARE lock: behind a migration's ACCESS EXCLUSIVE lock it
    // would wait, so it gets a moment, then the page counts of the catalog (lock-free) stand in.
    db::Result r;
    try {
        db::Transaction tx(session, "SET LOCAL lock_timeout = '100ms'");
        r = session.exec_params(
            "SELECT c.oid::bigint, c.relkind::text, c.reltuples::bigint, pg_table_size(c.oid), "
            "pg_total_relation_size(c.oid) FROM pg_class c WHERE c.oid = ANY($1::oid[])",
            {oids});
        tx.commit();
    } catch (const db::DbError& e) {
        if (!e.lock_timeout())
            throw;
        r = session.exec_params(
            "SELECT c.oid::bigint, c.relkind::text, c.reltuples::bigint, "
            "(c.relpages + coalesce(t.relpages, 0))::bigint * "
            "current_setting('block_size')::bigint, "
            "(c.relpages + coalesce(t.relpages, 0) + coalesce((SELECT sum(i.relpages) FROM "
            "pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0))::bigint "
            "* current_setting('block_size')::bigint "
            "FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = "
            "ANY($1::oid[])",
            {oids});
    }
    std::map<long long, std::size_t> row_of;
    for (std::size_t i = 0; i < r.size(); ++i)
        row_of[std::stoll(r.get(i, 0))] = i;
    for (const auto& t : relations) {
        TableEntry e;
        e.schema = t.relation.schema;
        e.name = t.relation.name;
        e.kind = t.relation.kind;
        e.why = t.why;
        auto it = row_of.find(t.relation.oid);
        if (it != row_of.end()) {
            auto kind = r.get(it->second, 1);
            e.kind = kind.empty() ? e.kind : kind[0];
            e.row_estimate = std::stoll(r.get(it->second, 2, "-1"));
            e.bytes = std::stoll(r.get(it->second, 3, "0"));
            e.total_bytes = std::stoll(r.get(it->second, 4, "0"));
        }
        out.push_back(e);
    }
    return out;
}

std::vector<TouchedRelation> all_relations(db::Session& session) {
    auto r = session.exec(
        "SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname <> 'information_schema' "
        "AND n.nspname NOT LIKE 'pg\\_%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND "
        "d.objid = c.oid "
        "AND d.deptype = 'e') ORDER BY 2, 3");
    std::vector<TouchedRelation> out;
    for (std::size_t i = 0; i < r.size(); ++i) {
        Relation rel{r.get(i, 1), r.get(i, 2), r.get(i, 3).empty() ? 'r' : r.get(i, 3)[0],
                     std::stoll(r.get(i, 0))};
        out.push_back({rel, "full snapshot"});
    }
    return out;
}

Manifest SnapshotService::create(const CreateRequest& request) {
    auto t0 = Clock::now();
    m_store.prepare();
    for (const auto& f : m_store.clean_temp_files())
        log::warn("removed {}, left behind by a snapshot that was killed", f);

    auto session = connect();
    log::debug("snapshot: connected after {} ms", ms_since(t0));
    int server_num = session->server_version();
    // `pg_dump --version` runs while the catalog is read; its answer is checked before the dump.
    auto tool_future = std::async(std::launch::async, [this, server_num] {
        return find_pg_tool("pg_dump", m_config.pg_bindir, server_num / 10000, m_runner);
    });
    std::string server_version = session->exec("SHOW server_version").get(0, 0);

    std::time_t now = std::time(nullptr);
    Manifest m;
    m.id = new_snapshot_id(now);
    m.created_at = iso_utc(now);
    m.created_unix = now;
    m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    Dsn dsn = Dsn::parse(m_config.database_url);
    m.database = dsn.display();
    m.dbname = session->exec("SELECT current_database()").get(0, 0);
    m.mode = request.mode;
    m.mode_reasons = request.mode_reasons;
    m.batch = request.batch;
    m.schema_version_before = request.schema_version_before;
    m.server_version = server_version;
    m.server_version_num = server_num;
    m.archive = m.id + ".dump";

    bool full = request.mode == "full";
    auto relations = full ? all_relations(*session) : request.relations;
    if (relations.empty() && !full)
        throw usage_error("nothing to snapshot: no existing table was named",
                          "name tables with --table, or use --mode full");
    m.tables = describe_relations(*session, relations);
    long long total_bytes = 0;
    std::map<long long, long long> size_of;  // oid -> bytes, for progress
    for (std::size_t i = 0; i < relations.size(); ++i) {
        total_bytes += m.tables[i].bytes;
        size_of[relations[i].relation.oid] = m.tables[i].bytes;
    }

    // One exported MVCC snapshot for pg_dump and the row counts, so both see the same rows.
    db::Transaction tx(
        *session,
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL lock_timeout = " +
            text::quote_literal(std::to_string(m_config.lock_timeout.count()) + "ms"));
    std::string exported = session->exec("SELECT pg_export_snapshot()").get(0, 0);
    PgTool tool = tool_future.get();
    require_tool_not_older(tool, server_num, server_version);
    m.pg_dump_version = tool.version;
    m.pg_dump_major = tool.major;
    log::debug("snapshot: catalog read, MVCC snapshot {} exported, {} {} found after {} ms",
               exported, tool.path, tool.version, ms_since(t0));

    TempArchive temp(m_store.dir(), m.id);
    ChildConnection conn(dsn);
    ProcessSpec spec;
    spec.argv = {tool.path,
                 "--format=custom",
                 "--file=" + temp.path(),
                 "--lock-wait-timeout=" +
                     std::to_string(std::max<long long>(m_config.lock_timeout.count(), 1)),
                 "--snapshot=" + exported,
                 "--no-password"};
    conn.apply(spec);
    if (!full)
        for (const auto& t : relations)
            spec.argv.push_back("--table=" + pattern(t.relation.schema, t.relation.name));
    std::string app = "rollsafe-snapshot-" + m.id;
    spec.env.emplace_back("PGAPPNAME", app);
    spec.new_process_group = true;
    spec.kill_on_interrupt = true;

    Progress progress("snapshot", total_bytes);
    std::set<long long> copied;
    long long current = 0;
    spec.on_tick = [&] {
        if (ms_since(t0) < 1000)
            return;
        try {
            auto r = session->exec_params(
                "SELECT p.relid::bigint, p.bytes_processed FROM pg_stat_clear_snapshot() x, "
                "pg_stat_progress_copy p "
                "JOIN pg_stat_activity a ON a.pid = p.pid WHERE a.application_name = $1",
                {app});
            long long in_flight = 0;
            for (std::size_t i = 0; i < r.size(); ++i) {
                long long relid = std::stoll(r.get(i, 0, "0"));
                if (relid != current && current != 0)
                    copied.insert(current);
                current = relid;
                in_flight = std::stoll(r.get(i, 1, "0"));
            }
            long long done = in_flight;
            for (auto oid : copied)
                done += size_of.count(oid) ? size_of[oid] : 0;
            progress.update(done);
        } catch (const std::exception&) {
            // Progress is cosmetic: never fail a dump for it.
        }
    };
    log::debug("pg_dump argv: {}", redact(text::join(spec.argv, " ")));
    auto r = m_runner.run(spec);
    progress.finish();
    if (r.interrupted)
        throw Error(ExitCode::interrupted,
                    "interrupted while taking snapshot " + m.id + "; nothing was applied",
                    "re-running is safe");
    if (!r.ok())
        throw dump_failed(r, m_store.dir(), m_config.lock_timeout);
    log::debug("snapshot: pg_dump done after {} ms", ms_since(t0));

    // Exact row counts in the dump's own snapshot (ONLY: a partition's rows are its own entry).
    std::vector<std::size_t> counted;
    std::string count_sql;
    for (std::size_t i = 0; i < m.tables.size(); ++i) {
        if (m.tables[i].kind != 'r' && m.tables[i].kind != 'p')
            continue;
        count_sql += std::string(count_sql.empty() ? "SELECT " : ", ") +
                     "(SELECT count(*) FROM ONLY " + text::quote_ident(m.tables[i].schema) + "." +
                     text::quote_ident(m.tables[i].name) + ")";
        counted.push_back(i);
    }
    if (!count_sql.empty()) {
        try {
            auto counts = session->exec(count_sql);
            for (std::size_t k = 0; k < counted.size(); ++k)
                m.tables[counted[k]].rows = std::stoll(counts.get(0, k, "-1"));
        } catch (const db::DbError& e) {
            throw Error(ExitCode::snapshot_failed,
                        std::string("cannot count the rows of the snapshot: ") + e.what());
        }
    }
    tx.commit();
    log::debug("snapshot: rows counted after {} ms", ms_since(t0));

    struct stat st {};
    if (::stat(temp.path().c_str(), &st) == 0)
        m.bytes = static_cast<long long>(st.st_size);
    m.sha256 = sha256_file(temp.path());
    temp.commit(m_store.archive_path(m));
    m.duration_ms = ms_since(t0);
    m_store.save(m);
    log::debug("snapshot: archive and manifest in place after {} ms", ms_since(t0));
    log::info("snapshot {} taken: {} relation(s), {} ({} mode) in {}", m.id, m.tables.size(),
              human_bytes(m.bytes), m.mode, human_duration(Millis(m.duration_ms)));
    return m;
}

VerifyResult SnapshotService::verify(const std::string& id) {
    VerifyResult res;
    Manifest m = m_store.load(id);
    std::string path = m_store.archive_path(m);
    std::string actual;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        res.problems.push_back(path + ": archive missing");
    } else {
        actual = sha256_file(path);
        if (actual != m.sha256)
            res.problems.push_back(path + ": SHA-256 is " + actual + ", the manifest says " +
                                   m.sha256 + ": the file is damaged or was changed");
        if (static_cast<long long>(st.st_size) != m.bytes)
            res.problems.push_back(path + ": " + std::to_string(st.st_size) +
                                   " bytes, the manifest says " + std::to_string(m.bytes));
    }
    std::map<std::string, long long> rows;
    if (res.problems.empty()) {
        PgTool tool = find_pg_tool("pg_restore", m_config.pg_bindir, m.pg_dump_major, m_runner);
        ProcessSpec spec;
        spec.argv = {tool.path, path};
        spec.kill_on_interrupt = true;
        std::string current;
        long long total = 0;
        for (const auto& t : m.tables)
            total += t.bytes;
        Progress progress("verify", total);
        long long streamed = 0;
        ScriptStream stream({[&](const std::vector<std::string>& table, const std::string&) {
                                 current = table.size() == 2
                                               ? Relation{table[0], table[1], 'r', 0}.qualified()
                                               : "";
                             },
                             nullptr, [&](long long n) { rows[current] = n; }});
        auto r = run_streaming(m_runner, spec, [&](std::string_view chunk) {
            streamed += static_cast<long long>(chunk.size());
            stream.feed(chunk);
            progress.update(streamed);
        });
        progress.finish();
        if (r.interrupted)
            throw Error(ExitCode::interrupted, "interrupted while verifying snapshot " + id);
        if (!r.ok())
            res.problems.push_back("full read failed: pg_restore " + r.describe());
        else if (stream.inside_copy())
            res.problems.push_back("full read failed: the archive ends inside a table's data");
        if (res.problems.empty()) {
            for (const auto& t : m.tables) {
                if (t.rows < 0)
                    continue;
                auto it = rows.find(t.qualified());
                long long found = it == rows.end() ? -1 : it->second;
                if (found != t.rows)
                    res.problems.push_back(
                        t.qualified() + ": " +
                        (found < 0 ? std::string("no data") : std::to_string(found)) +
                        " row(s) in the archive, the manifest says " + std::to_string(t.rows));
            }
        }
    }
    res.ok = res.problems.empty();
    Verification v;
    v.at = iso_utc(std::time(nullptr));
    v.ok = res.ok;
    v.sha256 = actual;
    v.error = text::join(res.problems, "; ");
    v.rows = rows;
    m.verification = v;
    m_store.save(m);
    res.manifest = m;
    return res;
}

namespace {

Error does_not_verify(const std::string& id, const std::string& problems) {
    return Error(ExitCode::snapshot_failed,
                 "snapshot " + id + " does not verify: " + problems + "; nothing was changed",
                 "it cannot be restored from: pick another snapshot (rollsafe snapshot list)");
}

// A passing verification on record for an archive of the manifest's size.
bool verified_before(const Manifest& m, const std::string& path) {
    struct stat st {};
    return m.verification && m.verification->ok && m.verification->sha256 == m.sha256 &&
           ::stat(path.c_str(), &st) == 0 && static_cast<long long>(st.st_size) == m.bytes;
}

}  // namespace

Manifest SnapshotService::require_verified(const std::string& id) {
    auto v = require_verified_async(id);
    v.confirm();
    return v.manifest;
}

VerifiedSnapshot SnapshotService::require_verified_async(const std::string& id) {
    VerifiedSnapshot out;
    Manifest m = m_store.load(id);
    std::string path = m_store.archive_path(m);
    if (verified_before(m, path)) {
        out.manifest = std::move(m);
        out.m_path = path;
        out.m_sha256 = std::async(std::launch::async, [path] { return sha256_file(path); });
        return out;
    }
    log::info("verifying snapshot {} (SHA-256 and a full read)", id);
    auto v = verify(id);
    if (!v.ok)
        throw does_not_verify(id, text::join(v.problems, "; "));
    out.manifest = v.manifest;
    return out;
}

std::optional<Error> VerifiedSnapshot::problem() {
    if (m_sha256.valid()) {
        try {
            m_actual = m_sha256.get();
        } catch (const std::exception& e) {
            m_unreadable = e.what();
        }
    }
    if (!m_unreadable.empty())
        return does_not_verify(manifest.id, m_path + ": " + m_unreadable);
    if (m_actual && *m_actual != manifest.sha256)
        return does_not_verify(manifest.id, m_path + ": SHA-256 is " + *m_actual +
                                                ", the manifest says " + manifest.sha256 +
                                                ": the file is damaged or was changed");
    return std::nullopt;
}

void VerifiedSnapshot::confirm() {
    if (auto e = problem())
        throw *e;
}

}  // namespace rollsafe::snapshot
