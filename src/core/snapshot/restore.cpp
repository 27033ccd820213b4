#include "core/snapshot/restore.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/engine/history.h"
#include "core/engine/migration_lock.h"
#include "core/snapshot/copy_connection.h"
#include "core/snapshot/pg_tools.h"
#include "core/snapshot/progress.h"
#include "core/snapshot/script_stream.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/sql_rewrite.h"
#include "core/snapshot/toc.h"

namespace rollsafe::snapshot {
namespace {

using Clock = std::chrono::steady_clock;

// A session on the configured database, named for pg_stat_activity, with the configured
// connect timeout and retries.
std::unique_ptr<db::Session> connect_as(const Config& config, const std::string& application) {
    db::ConnectOptions co;
    co.connect_timeout = config.connect_timeout;
    co.retries = config.connect_retries;
    co.application_name = application;
    return db::connect(Dsn::parse(config.database_url), co);
}

std::string q(const std::string& schema, const std::string& name) {
    return text::quote_ident(schema) + "." + text::quote_ident(name);
}

std::string millis_literal(Millis m) {
    return text::quote_literal(std::to_string(std::max<long long>(m.count(), 1)) + "ms");
}

std::string oid_array(const std::vector<long long>& oids) {
    std::string out = "{";
    for (std::size_t i = 0; i < oids.size(); ++i)
        out += (i ? "," : "") + std::to_string(oids[i]);
    return out + "}";
}

// A name for an object moved aside: base + suffix, shortened to PostgreSQL's 63 bytes.
std::string aside_of(const std::string& base, const std::string& suffix) {
    std::string b = base;
    if (b.size() + suffix.size() > 63)
        b = b.substr(0, 63 - suffix.size());
    return b + suffix;
}

struct ViewDep {
    long long oid = 0;
    std::string schema, name, def, options;
};
struct FkDep {
    long long oid = 0;
    std::string name, child_schema, child_name, def, child_cols, ref_cols;
    long long child_oid = 0;
};
struct StatDep {
    long long oid = 0;
    std::string schema, name, def;
};

// The table in the live database and what depends on it.
struct Live {
    bool exists = false;
    long long oid = 0;
    long long rows = -1;
    std::vector<ViewDep> views;
    std::vector<FkDep> fks;
    std::vector<StatDep> stats;
    std::vector<Dependent> dependents;
    std::vector<std::string> blockers;  // for swap mode
};

Live inspect_live(db::Session& s, const std::string& schema, const std::string& name,
                  bool count_rows) {
    Live live;
    auto r = s.exec_params(
        "SELECT c.oid::bigint, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {schema, name});
    if (r.empty())
        return live;
    live.exists = true;
    live.oid = std::stoll(r.get(0, 0));
    std::string kind = r.get(0, 1);
    if (kind != "r") {
        live.blockers.push_back(
            q(schema, name) + " is now a " +
            (kind == "p" ? std::string("partitioned table") : "relation of kind " + kind) +
            ", not a plain table: a swap cannot replace it");
        return live;
    }
    if (count_rows)
        live.rows =
            std::stoll(s.exec("SELECT count(*) FROM ONLY " + q(schema, name)).get(0, 0, "-1"));
    std::string oid = std::to_string(live.oid);
    auto deps = s.exec_params(
        "SELECT d.classid::regclass::text, d.objid::bigint, pg_describe_object(d.classid, d.objid, "
        "0), "
        " (CASE d.classid"
        "   WHEN 'pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = "
        "d.objid)"
        "   WHEN 'pg_constraint'::regclass THEN (SELECT k.conrelid FROM pg_constraint k WHERE "
        "k.oid = d.objid)"
        "   WHEN 'pg_attrdef'::regclass THEN (SELECT a.adrelid FROM pg_attrdef a WHERE a.oid = "
        "d.objid)"
        "   WHEN 'pg_trigger'::regclass THEN (SELECT t.tgrelid FROM pg_trigger t WHERE t.oid = "
        "d.objid)"
        "   WHEN 'pg_policy'::regclass THEN (SELECT p.polrelid FROM pg_policy p WHERE p.oid = "
        "d.objid)"
        "   WHEN 'pg_statistic_ext'::regclass THEN (SELECT x.stxrelid FROM pg_statistic_ext x "
        "WHERE x.oid = d.objid)"
        "   WHEN 'pg_class'::regclass THEN d.objid END)::bigint,"
        " (SELECT k.contype::text || CASE WHEN k.conparentid <> 0 THEN 'i' ELSE '' END FROM "
        "pg_constraint k"
        "   WHERE d.classid = 'pg_constraint'::regclass AND k.oid = d.objid),"
        " d.deptype::text"
        " FROM pg_depend d"
        " WHERE ((d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid)"
        "    OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = (SELECT reltype FROM pg_class "
        "WHERE oid = $1::oid)))"
        "  AND NOT (d.classid = 'pg_class'::regclass AND d.objid = $1::oid)"
        "  AND d.classid <> 'pg_type'::regclass ORDER BY 1, 2",
        {oid});
    std::set<long long> view_oids, fk_oids, stat_oids;
    for (std::size_t i = 0; i < deps.size(); ++i) {
        std::string cls = deps.get(i, 0);
        long long objid = std::stoll(deps.get(i, 1));
        std::string what = deps.get(i, 2);
        long long rel = std::stoll(deps.get(i, 3, "0"));
        std::string contype = deps.get(i, 4);
        std::string deptype = deps.get(i, 5);
        if (cls == "pg_rewrite") {
            if (rel != live.oid)
                view_oids.insert(rel);
        } else if (cls == "pg_constraint") {
            if (rel == live.oid)
                continue;
            if (contype == "f")
                fk_oids.insert(objid);
            else if (contype != "fi")
                live.blockers.push_back(what + " depends on the table");
        } else if (cls == "pg_statistic_ext") {
            if (rel == live.oid)
                stat_oids.insert(objid);
            else
                live.blockers.push_back(what + " depends on the table");
        } else if (cls == "pg_class") {
            if (deptype == "a" || deptype == "i")
                continue;  // its indexes, owned sequences, TOAST
            live.blockers.push_back(what +
                                    " depends on the table (a partition or inheritance child?)");
        } else if (cls == "pg_attrdef" || cls == "pg_trigger" || cls == "pg_policy") {
            if (rel != live.oid)
                live.blockers.push_back(what + " refers to the table");
        } else if (cls == "pg_proc") {
            live.blockers.push_back(
                what +
                " depends on the table (SQL-standard body or its row type): it would keep "
                "pointing at the old table");
        } else if (cls == "pg_publication_rel") {
            live.blockers.push_back(what +
                                    ": the table is published; re-add the restored one by hand");
        } else {
            live.blockers.push_back(what + " depends on the table");
        }
    }
    // Other tables' defaults that draw from this table's sequences.
    auto seq_users = s.exec_params(
        "SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_depend own"
        " JOIN pg_class sq ON sq.oid = own.objid AND sq.relkind = 'S'"
        " JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = sq.oid"
        "  AND d.classid = 'pg_attrdef'::regclass"
        " JOIN pg_attrdef ad ON ad.oid = d.objid AND ad.adrelid <> $1::oid"
        " WHERE own.classid = 'pg_class'::regclass AND own.refclassid = 'pg_class'::regclass"
        "  AND own.refobjid = $1::oid AND own.deptype IN ('a', 'i')",
        {oid});
    for (std::size_t i = 0; i < seq_users.size(); ++i)
        live.blockers.push_back(seq_users.get(i, 0) + " draws from a sequence of the table");

    if (!view_oids.empty()) {
        auto v = s.exec_params(
            "SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text, pg_get_viewdef(c.oid), "
            "coalesce(array_to_string(c.reloptions, ', '), '') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[]) ORDER BY "
            "c.oid",
            {oid_array({view_oids.begin(), view_oids.end()})});
        for (std::size_t i = 0; i < v.size(); ++i) {
            std::string full = q(v.get(i, 1), v.get(i, 2));
            std::string k = v.get(i, 3);
            if (k == "v") {
                live.views.push_back(
                    {std::stoll(v.get(i, 0)), v.get(i, 1), v.get(i, 2), v.get(i, 4), v.get(i, 5)});
                live.dependents.push_back(
                    {"view", full, "re-create (CREATE OR REPLACE VIEW on the restored table)"});
            } else {
                std::string what = k == "m" ? "materialized view " : "rule on ";
                live.blockers.push_back(what + full +
                                        " depends on the table and cannot be re-created safely");
                live.dependents.push_back(
                    {k == "m" ? "materialized view" : "rule", full, "refuse"});
            }
        }
    }
    if (!fk_oids.empty()) {
        auto f = s.exec_params(
            "SELECT k.oid::bigint, k.conname, n.nspname, c.relname, c.oid::bigint, "
            "pg_get_constraintdef(k.oid),"
            " (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord) FROM "
            "unnest(k.conkey) WITH ORDINALITY"
            "   u(attnum, ord) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = "
            "u.attnum),"
            " (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord) FROM "
            "unnest(k.confkey) WITH ORDINALITY"
            "   u(attnum, ord) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = "
            "u.attnum)"
            " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON "
            "n.oid = c.relnamespace"
            " WHERE k.oid = ANY($1::oid[]) ORDER BY n.nspname, c.relname, k.conname",
            {oid_array({fk_oids.begin(), fk_oids.end()})});
        for (std::size_t i = 0; i < f.size(); ++i) {
            FkDep d{std::stoll(f.get(i, 0)),
                    f.get(i, 1),
                    f.get(i, 2),
                    f.get(i, 3),
                    f.get(i, 5),
                    f.get(i, 6),
                    f.get(i, 7),
                    std::stoll(f.get(i, 4))};
            live.dependents.push_back(
                {"foreign key", q(d.child_schema, d.child_name) + "." + text::quote_ident(d.name),
                 "re-point to the restored table (validated)"});
            live.fks.push_back(d);
        }
    }
    if (!stat_oids.empty()) {
        auto st = s.exec_params(
            "SELECT x.oid::bigint, n.nspname, x.stxname, pg_get_statisticsobjdef(x.oid) FROM "
            "pg_statistic_ext x "
            "JOIN pg_namespace n ON n.oid = x.stxnamespace WHERE x.oid = ANY($1::oid[]) ORDER BY "
            "x.oid",
            {oid_array({stat_oids.begin(), stat_oids.end()})});
        for (std::size_t i = 0; i < st.size(); ++i)
            live.stats.push_back(
                {std::stoll(st.get(i, 0)), st.get(i, 1), st.get(i, 2), st.get(i, 3)});
    }
    for (const auto& b : live.blockers)
        if (b.find("materialized view") == std::string::npos &&
            b.find("rule on") == std::string::npos)
            live.dependents.push_back({"other", b, "refuse"});
    return live;
}

// A sequence that feeds a column of a table.
struct ColumnSequence {
    std::string column;  // quoted
    std::string schema, name;
};

// The sequences that feed the columns of a table: serial/identity (owned) and nextval defaults.
std::vector<ColumnSequence> sequences_of(db::Session& s, long long table_oid) {
    auto r = s.exec_params(
        "SELECT quote_ident(a.attname), sn.nspname, sq.relname"
        " FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
        " JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid"
        "  AND dep.refclassid = 'pg_class'::regclass"
        " JOIN pg_class sq ON sq.oid = dep.refobjid AND sq.relkind = 'S'"
        " JOIN pg_namespace sn ON sn.oid = sq.relnamespace WHERE d.adrelid = $1::oid"
        " UNION "
        "SELECT quote_ident(a.attname), sn.nspname, sq.relname"
        " FROM pg_depend dep JOIN pg_class sq ON sq.oid = dep.objid AND sq.relkind = 'S'"
        " JOIN pg_namespace sn ON sn.oid = sq.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid"
        " WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass"
        "  AND dep.refobjid = $1::oid AND dep.deptype IN ('a', 'i')",
        {std::to_string(table_oid)});
    std::vector<ColumnSequence> out;
    for (std::size_t i = 0; i < r.size(); ++i)
        out.push_back({r.get(i, 0), r.get(i, 1), r.get(i, 2)});
    return out;
}

// Runs one step of a restore transaction; a failure names the step ("re-creating view ...").
void exec_step(db::Session& s, const std::string& sql, const std::string& what) {
    try {
        s.exec(sql);
    } catch (const db::DbError& e) {
        throw db::DbError(what + ": " + e.what(), e.sqlstate(), e.connection_lost());
    }
}

// Raises a sequence to at least max(column) and at least older_sequence's value (never lowers it).
void raise_sequence(db::Session& s, const std::string& table, const std::string& column,
                    const std::string& seq, const std::string& older_seq) {
    std::string older =
        older_seq.empty()
            ? "NULL"
            : "(SELECT CASE WHEN is_called THEN last_value END FROM " + older_seq + ")";
    s.exec("SELECT pg_catalog.setval(" + text::quote_literal(seq) +
           ", v, true) FROM (SELECT GREATEST((SELECT max(" + column + ") FROM " + table +
           ")::bigint, (SELECT CASE WHEN is_called THEN last_value END FROM " + seq + "), " +
           older + ") AS v) x WHERE v IS NOT NULL");
}

// Jittered exponential backoff between lock-timeout retries.
class Backoff {
  public:
    explicit Backoff(Millis budget) : m_end(Clock::now() + budget), m_rng(std::random_device{}()) {}
    // Waits before the next attempt; returns false when the budget does not allow one.
    bool wait() {
        auto jitter = std::uniform_real_distribution<double>(0.5, 1.5)(m_rng);
        auto delay = Millis(static_cast<long long>(static_cast<double>(m_next.count()) * jitter));
        if (Clock::now() + delay >= m_end)
            return false;
        interrupt::sleep_for(delay);
        m_next = std::min(m_next * 2, Millis(5000));
        return true;
    }

  private:
    Clock::time_point m_end;
    Millis m_next{200};
    std::mt19937 m_rng;
};

std::string timestamp_suffix() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

// Private temp folder (0700), removed on destruction.
struct TempFolder {
    std::string path = fs::make_temp_dir(fs::temp_root() + "/rollsafe-restore-XXXXXX");
    ~TempFolder() { fs::remove_all(path); }
};

// The SQL a restore runs around the rows: the table and its sequences (pre), sequence values
// (sets), indexes, constraints and triggers (post), and the foreign keys.
struct StagingScripts {
    std::string pre, sets, post, fks;
};

// Returns the SQL pg_restore writes for these entries.
std::string entries_script(ProcessRunner& runner, const std::string& pg_restore,
                           const std::string& archive, const std::vector<TocEntry>& entries,
                           const std::string& dir, const std::string& name) {
    if (entries.empty())
        return "";
    std::string list = dir + "/" + name + ".list";
    fs::write_file_atomic(list, list_file(entries), 0600);
    ProcessSpec spec;
    spec.argv = {pg_restore, "--use-list=" + list, "--file=-", archive};
    auto r = runner.run(spec);
    if (!r.ok())
        throw Error(ExitCode::snapshot_failed,
                    "pg_restore cannot read " + archive + ": " + r.describe());
    return r.out;
}

// Starts the four short pg_restore runs side by side (together they cost one); the result
// owns nothing of the caller's, so the caller can go on (connect, inspect, lock) meanwhile.
std::future<StagingScripts> extract_scripts(ProcessRunner& runner, std::string pg_restore,
                                            std::string archive, TableSelection sel,
                                            std::string dir) {
    return std::async(std::launch::async, [&runner, pg_restore, archive, sel, dir] {
        auto later = [&](const std::vector<TocEntry>& entries, const char* name) {
            return std::async(std::launch::async, [&, name] {
                return entries_script(runner, pg_restore, archive, entries, dir, name);
            });
        };
        auto sets = later(sel.sequence_sets, "sets");
        auto post = later(sel.post, "post");
        auto fks = later(sel.foreign_keys, "fks");
        StagingScripts out;
        out.pre = entries_script(runner, pg_restore, archive, sel.pre, dir, "pre");
        out.sets = sets.get();
        out.post = post.get();
        out.fks = fks.get();
        return out;
    });
}

bool skipped_setting(const std::string& stmt) {
    if (first_keyword(stmt) != "SET")
        return false;
    auto lower = text::to_lower(stmt);
    for (const char* s : {"statement_timeout", "lock_timeout",
                          "idle_in_transaction_session_timeout", "transaction_timeout"})
        if (lower.find(s) != std::string::npos)
            return true;
    return false;
}

// Everything a table restore needs, gathered once by prepare().
struct Job {
    RestoreOptions options;
    VerifiedSnapshot verified;  // its SHA-256 re-check runs while the restore prepares
    Manifest manifest;
    TableEntry entry;
    std::string archive;
    PgTool pg_restore;
    TableSelection selection;
    std::unique_ptr<db::Session> session;
    Live live;
    RestorePlan plan;
    std::string ts;
    std::unique_ptr<TempFolder> tmp;      // list files of the pg_restore runs
    std::future<StagingScripts> scripts;  // started by prepare for a run
};

class TableRestore {
  public:
    TableRestore(const Config& config, ProcessRunner& runner)
        : m_config(config), m_runner(runner) {}

    // Reads what the restore needs from the archive: a pg_restore that can read it, the table's
    // entries in its table of contents and, for a run, the SQL around the rows (started on
    // threads). Touches only job.pg_restore, job.selection, job.tmp, job.scripts and
    // job.verified.
    void read_archive(Job& job, const RestoreOptions& options, bool count_live_rows) {
        job.pg_restore =
            find_pg_tool("pg_restore", m_config.pg_bindir, job.manifest.pg_dump_major, m_runner);
        ProcessSpec list;
        list.argv = {job.pg_restore.path, "--list", "--verbose", job.archive};
        auto r = m_runner.run(list);
        std::optional<TableSelection> sel;
        if (r.ok())
            sel = select_table(parse_toc(r.out), job.entry.schema, job.entry.name);
        if (!sel) {
            if (auto e = job.verified.problem())
                throw *e;  // the archive changed since its verification: say so
            throw Error(ExitCode::snapshot_failed,
                        r.ok() ? "the archive of snapshot " + options.snapshot_id +
                                     " has no table " + job.entry.qualified()
                               : "cannot read the table of contents of " + job.archive + ": " +
                                     r.describe());
        }
        job.selection = *sel;
        if (!count_live_rows) {  // a run, not a plan: the SQL around the rows is needed
            job.tmp = std::make_unique<TempFolder>();
            job.scripts = extract_scripts(m_runner, job.pg_restore.path, job.archive, job.selection,
                                          job.tmp->path);
        }
    }

    // Gathers what the restore needs and plans it; counts the live rows only for a plan that is
    // shown (a full scan of the table).
    Job prepare(const RestoreOptions& options, bool count_live_rows) {
        Job job;
        job.options = options;
        SnapshotService service(m_config, m_runner);
        job.verified = service.require_verified_async(options.snapshot_id);
        job.manifest = job.verified.manifest;
        job.archive = service.store().archive_path(job.manifest);
        auto entry = job.manifest.find_table(options.table);
        if (!entry) {
            std::vector<std::string> names;
            for (const auto& t : job.manifest.tables)
                if (t.kind == 'r')
                    names.push_back(t.qualified());
            throw usage_error(
                "table " + options.table + " is not in snapshot " + options.snapshot_id +
                    (names.empty() ? "" : " (it holds " + text::join(names, ", ") + ")"),
                "rollsafe snapshot list shows what each snapshot holds");
        }
        if (entry->kind != 'r')
            throw usage_error(
                entry->qualified() +
                    " is not a plain table in the snapshot; only tables can be restored",
                "restore the whole snapshot into a new database with --into and copy what you "
                "need");
        job.entry = *entry;
        // The archive (pg_restore's version, its table of contents, the SQL around the rows) and
        // the live table (a connection, the catalog) are read side by side; an archive problem
        // is still the one reported when both fail.
        auto archive = std::async(std::launch::async, [this, &job, &options, count_live_rows] {
            read_archive(job, options, count_live_rows);
        });
        try {
            job.session = connect_as(m_config, "rollsafe-restore");
            // Catalog functions (pg_get_viewdef, pg_get_constraintdef) then qualify every name.
            job.session->exec("SET search_path = ''");
            job.live =
                inspect_live(*job.session, job.entry.schema, job.entry.name, count_live_rows);
        } catch (...) {
            archive.get();  // throws the archive's error, if any
            throw;
        }
        archive.get();
        job.ts = timestamp_suffix();
        make_plan(job);
        return job;
    }

    RestoreResult run(Job& job) {
        auto t0 = Clock::now();
        RestoreResult res;
        res.plan = job.plan;
        if (!job.plan.blockers.empty()) {
            throw usage_error(
                "cannot restore " + job.plan.table +
                    " safely, nothing was changed: " + text::join(job.plan.blockers, "; "),
                job.options.mode == "swap" ? "handle those objects by hand, or use --mode data "
                                             "(rows only) or --mode side-by-side"
                                           : "use --mode swap or --mode side-by-side");
        }
        auto& s = *job.session;
        History history(s, m_config.history_schema);
        history.ensure();
        MigrationLock lock([this] { return connect_as(m_config, "rollsafe-restore-lock"); },
                           m_config.history_schema, m_config.lock_lease, "restore");
        if (!lock.acquire(s, m_config.lock_wait))
            throw Error(ExitCode::locked,
                        "another rollsafe holds the migration lock; nothing was changed",
                        "wait for it to finish (rollsafe lock status), then retry");

        try {
            load_staging(job);
            job.verified.confirm();  // before anything outside the staging schema changes
        } catch (...) {
            drop_staging(job);
            if (auto e = job.verified.problem())
                throw *e;  // a damaged archive may fail pg_restore first: name the cause
            throw;
        }
        res.rows = job.entry.rows;
        HistoryRow audit = audit_row(job);
        if (job.options.mode == "side-by-side") {
            audit.details["staging"] = job.plan.staging_schema;
            history.append(audit);
            res.message = "restored " + job.plan.table + " from snapshot " + job.manifest.id +
                          " into " + q(job.plan.staging_schema, job.entry.name) +
                          " for comparison (" + std::to_string(res.rows) +
                          " rows); the live table is unchanged";
            res.hint = "compare, then DROP SCHEMA " + text::quote_ident(job.plan.staging_schema) +
                       " CASCADE when done (it holds only the restored copy)";
            res.duration_ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
            return res;
        }
        try {
            if (job.options.mode == "swap") {
                check_orphans(job);  // early and without locks; the validating ADD CONSTRAINT
                                     // enforces it again
                res.attempts = swap(job, lock, history, audit);
            } else {
                res.attempts = replace_rows(job, lock, history, audit);
            }
        } catch (...) {
            drop_staging(job);
            throw;
        }
        drop_staging(job);
        res.duration_ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
        if (job.options.mode == "swap") {
            res.message =
                "restored " + job.plan.table + " from snapshot " + job.manifest.id + " (" +
                std::to_string(res.rows) + " rows)" +
                (job.live.exists ? "; the table it replaced is kept as " + job.plan.aside_name
                                 : "");
            if (job.live.exists)
                res.hint = "check the application, then drop " + job.plan.aside_name +
                           " when you no longer need it";
        } else {
            res.message = "replaced the rows of " + job.plan.table + " with the " +
                          std::to_string(res.rows) + " rows of snapshot " + job.manifest.id;
        }
        return res;
    }

  private:
    void make_plan(Job& job) {
        auto& p = job.plan;
        const auto& o = job.options;
        p.snapshot_id = job.manifest.id;
        p.snapshot_created_at = job.manifest.created_at;
        p.table = job.entry.qualified();
        p.mode = o.mode;
        p.table_exists = job.live.exists;
        p.snapshot_rows = job.entry.rows;
        p.current_rows = job.live.rows;
        p.staging_schema =
            aside_of("rollsafe_restore_" + job.ts + "_" + new_run_id().substr(0, 4), "");
        if (job.live.exists)
            p.aside_name = q(job.entry.schema, aside_of(job.entry.name, "_rollsafe_" + job.ts));
        for (const auto& e : job.selection.definitions())
            p.objects.push_back(e.desc + " " + e.tag);
        for (const auto& e : job.selection.data)
            p.objects.push_back(e.desc + " " + e.tag);
        std::string staged = q(p.staging_schema, job.entry.name);
        p.steps.push_back("verify snapshot " + job.manifest.id +
                          " (SHA-256 and a full read): done");
        p.steps.push_back("restore " + p.table + " with " + std::to_string(p.objects.size()) +
                          " archive object(s) into " + staged + " and check " +
                          std::to_string(p.snapshot_rows) + " rows");
        if (o.mode == "swap") {
            p.dependents = job.live.dependents;
            p.blockers = job.live.blockers;
            if (!job.live.exists) {
                p.notes.push_back(p.table +
                                  " does not exist now: the restored table is simply put in place");
                p.steps.push_back("move " + staged + " into schema " +
                                  text::quote_ident(job.entry.schema));
            } else {
                p.steps.push_back("in one transaction (lock_timeout " +
                                  format_duration(m_config.lock_timeout) + ", retried for " +
                                  format_duration(m_config.lock_retry_budget) + "): rename " +
                                  p.table + " to " + p.aside_name + " (kept, never dropped)");
                p.steps.push_back(
                    "  move the restored table into its place; raise its sequences to at least "
                    "max(id)");
                for (const auto& fk : job.live.fks)
                    p.steps.push_back("  re-point foreign key " + fk.name + " of " +
                                      q(fk.child_schema, fk.child_name));
                for (const auto& v : job.live.views)
                    p.steps.push_back("  re-create view " + q(v.schema, v.name));
            }
        } else if (o.mode == "data") {
            if (!job.live.exists)
                p.blockers.push_back(p.table +
                                     " does not exist now: --mode data needs it (use --mode swap)");
            for (const auto& fk : job.live.fks)
                p.dependents.push_back(
                    {"foreign key",
                     q(fk.child_schema, fk.child_name) + "." + text::quote_ident(fk.name),
                     "checked: no child row may lose its parent"});
            p.steps.push_back(
                "in one transaction: delete rows missing from the snapshot, update the others, "
                "insert "
                "those missing now (by primary key; user triggers off); sequences raised to "
                "max(id)");
        } else {
            p.steps.push_back("leave the restored copy in " + staged +
                              " for comparison; the live table stays as it is");
        }
        p.steps.push_back("append an audit row (op restore) to the history");
    }

    void drop_staging(Job& job) {
        try {
            job.session->exec("DROP SCHEMA IF EXISTS " +
                              text::quote_ident(job.plan.staging_schema) + " CASCADE");
        } catch (const std::exception& e) {
            log::warn("could not drop the staging schema {}: {}", job.plan.staging_schema,
                      e.what());
        }
    }

    // Builds the table with everything that belongs to it in a fresh staging schema, loads its
    // rows, checks the count, then validates its foreign keys (added NOT VALID so that the tables
    // they reference are locked only for a moment).
    void load_staging(Job& job) {
        const auto& sel = job.selection;
        const std::string& staging = job.plan.staging_schema;
        std::set<QualifiedName> names = {{job.entry.schema, job.entry.name}};
        for (const auto& e : sel.sequences)
            names.insert({e.schema, e.tag});
        for (const auto& e : sel.statistics)
            names.insert({e.schema, e.tag});
        const TempFolder& tmp = *job.tmp;  // made, and the scripts started, by prepare()
        StagingScripts scripts = job.scripts.get();
        const std::string& pre = scripts.pre;
        const std::string& sets = scripts.sets;
        const std::string& post = scripts.post;
        const std::string& fks = scripts.fks;

        CopyConnection conn(Dsn::parse(m_config.database_url), "rollsafe-restore");
        bool in_copy = false;
        try {
            conn.exec("BEGIN; SET LOCAL lock_timeout = " + millis_literal(m_config.lock_timeout) +
                      "; CREATE SCHEMA " + text::quote_ident(staging));
            auto run_script = [&](const std::string& sql, bool foreign_keys,
                                  std::vector<std::string>* fk_names) {
                for (auto& stmt : split_script(sql)) {
                    if (skipped_setting(stmt))
                        continue;
                    std::string moved = move_to_schema(stmt, names, staging);
                    if (foreign_keys && first_keyword(moved) == "ALTER" &&
                        text::to_upper(moved).find("FOREIGN KEY") != std::string::npos) {
                        static const std::regex con(
                            R"(ADD CONSTRAINT ("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*) FOREIGN KEY)");
                        std::smatch m;
                        if (std::regex_search(moved, m, con) && fk_names)
                            fk_names->push_back(m[1].str());
                        moved += " NOT VALID";
                    }
                    conn.exec(moved);
                }
            };
            run_script(pre, false, nullptr);
            long long loaded = 0;
            if (!sel.data.empty()) {
                std::string list = tmp.path + "/data.list";
                fs::write_file_atomic(list, list_file(sel.data), 0600);
                ProcessSpec spec;
                spec.argv = {job.pg_restore.path, "--data-only", "--use-list=" + list, job.archive};
                std::string target = q(staging, job.entry.name);
                Progress progress("restore " + job.entry.qualified(), job.entry.bytes);
                long long streamed = 0;
                ScriptStream stream(
                    {[&](const std::vector<std::string>&, const std::string& columns) {
                         // FREEZE: the table is new in this transaction, so its rows can be
                         // written frozen; the index builds then set no hint bits.
                         conn.copy_begin("COPY " + target + " " + columns +
                                         " FROM STDIN WITH (FREEZE)");
                         in_copy = true;
                     },
                     [&](std::string_view rows) {
                         conn.copy_put(rows);
                         streamed += static_cast<long long>(rows.size());
                         progress.update(streamed);
                     },
                     [&](long long) {
                         in_copy = false;
                         loaded += conn.copy_end();
                     }});
                auto r = run_streaming(m_runner, spec,
                                       [&](std::string_view chunk) { stream.feed(chunk); });
                progress.finish();
                if (r.interrupted)
                    throw Error(ExitCode::interrupted,
                                "interrupted while restoring; nothing was changed");
                if (!r.ok() || stream.inside_copy())
                    throw Error(ExitCode::snapshot_failed,
                                "pg_restore failed reading the rows of " + job.entry.qualified() +
                                    ": " + r.describe() + "; nothing was changed");
            }
            run_script(sets, false, nullptr);
            run_script(post, false, nullptr);
            std::vector<std::string> fk_names;
            run_script(fks, true, &fk_names);
            // The rows COPY loaded, as the server counted them.
            long long count = loaded;
            if (job.entry.rows >= 0 && count != job.entry.rows)
                throw Error(ExitCode::snapshot_failed,
                            "restored " + std::to_string(count) + " rows of " +
                                job.entry.qualified() + ", the snapshot's manifest says " +
                                std::to_string(job.entry.rows) + "; nothing was changed");
            conn.exec("COMMIT");
            for (const auto& fk : fk_names) {
                try {
                    conn.exec("ALTER TABLE " + q(staging, job.entry.name) +
                              " VALIDATE CONSTRAINT " + fk);
                } catch (const db::DbError& e) {
                    throw Error(ExitCode::failed_clean,
                                "the snapshot's rows of " + job.entry.qualified() +
                                    " break foreign key " + fk + ": " + e.what() +
                                    "; nothing was changed",
                                "the rows they referenced are gone: restore the referenced table "
                                "first, or use "
                                "--mode side-by-side and repair by hand");
                }
            }
        } catch (const db::DbError& e) {
            if (in_copy)
                conn.copy_abort("rollsafe: restore failed");
            try {
                conn.exec("ROLLBACK");
            } catch (...) {
            }
            throw Error(ExitCode::failed_clean,
                        "restoring " + job.entry.qualified() + " into a staging schema failed: " +
                            std::string(e.what()) + "; nothing was changed");
        } catch (...) {
            if (in_copy)
                conn.copy_abort("rollsafe: restore failed");
            try {
                conn.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
    }

    HistoryRow audit_row(const Job& job) {
        HistoryRow row;
        auto actor = Actor::current();
        row.run_id = new_run_id();
        row.op = "restore";
        row.outcome = "restored";
        row.reason = job.options.reason;
        row.snapshot_id = job.manifest.id;
        row.os_user = actor.os_user;
        row.host = actor.host;
        row.pod = actor.pod;
        row.pid = actor.pid;
        row.details["table"] = job.entry.qualified();
        row.details["mode"] = job.options.mode;
        row.details["rows"] = job.entry.rows;
        if (job.live.rows >= 0)
            row.details["rows_before"] = job.live.rows;
        row.details["snapshot_created_at"] = job.manifest.created_at;
        return row;
    }

    void stage(Job& job, const std::string& name) {
        if (job.options.on_stage)
            job.options.on_stage(name, *job.session);
    }

    // Runs body in one transaction with lock_timeout, retrying lock timeouts with backoff until
    // timeouts.lock_retry_budget; returns the attempts it took.
    int with_retry(Job& job, const std::function<void(db::Transaction&)>& body) {
        Backoff backoff(m_config.lock_retry_budget);
        for (int attempt = 1;; ++attempt) {
            try {
                db::Transaction tx(*job.session, "SET LOCAL lock_timeout = " +
                                                     millis_literal(m_config.lock_timeout) +
                                                     "; SET LOCAL statement_timeout = " +
                                                     millis_literal(m_config.statement_timeout));
                body(tx);
                return attempt;
            } catch (const db::DbError& e) {
                if (interrupt::requested())
                    throw Error(ExitCode::interrupted,
                                "interrupted; the restore rolled back, nothing was changed");
                if (e.lock_timeout()) {
                    log::info(
                        "restore: a lock on {} or a dependent is held by another session (attempt "
                        "{}); retrying",
                        job.plan.table, attempt);
                    if (backoff.wait() && !interrupt::requested())
                        continue;
                    throw Error(ExitCode::busy,
                                "could not lock " + job.plan.table + " and its dependents within " +
                                    format_duration(m_config.lock_retry_budget) +
                                    "; nothing was changed",
                                "retry off-peak, or raise timeouts.lock_retry_budget");
                }
                if (e.sqlstate() == "RSL01")
                    throw Error(
                        ExitCode::locked,
                        "lost the migration lock; the restore rolled back, nothing was changed");
                throw Error(ExitCode::failed_clean,
                            "restore of " + job.plan.table +
                                " failed and rolled back, the table is unchanged: " + e.what(),
                            "fix the conflict, then run the restore again");
            } catch (const Error&) {
                throw;
            } catch (const std::exception& e) {
                throw Error(ExitCode::failed_clean,
                            "restore of " + job.plan.table +
                                " failed and rolled back, the table is unchanged: " + e.what());
            }
        }
    }

    // Throws Error(USAGE) listing every foreign key of another table whose rows would lose their
    // parent row if the staged rows replaced the live ones.
    void check_orphans(Job& job) {
        auto& s = *job.session;
        const std::string staged = q(job.plan.staging_schema, job.entry.name);
        std::vector<std::string> problems;
        for (const auto& fk : job.live.fks) {
            auto child_cols = text::split(fk.child_cols, ',');
            auto ref_cols = text::split(fk.ref_cols, ',');
            std::vector<std::string> not_null, eq;
            for (std::size_t i = 0; i < child_cols.size() && i < ref_cols.size(); ++i) {
                std::string cc(text::trim(child_cols[i])), rc(text::trim(ref_cols[i]));
                not_null.push_back("c." + cc + " IS NOT NULL");
                eq.push_back("s." + rc + " = c." + cc);
            }
            long long orphans = std::stoll(
                s.exec("SELECT count(*) FROM " + q(fk.child_schema, fk.child_name) + " c WHERE " +
                       text::join(not_null, " AND ") + " AND NOT EXISTS (SELECT 1 FROM " + staged +
                       " s WHERE " + text::join(eq, " AND ") + ")")
                    .get(0, 0, "0"));
            if (orphans > 0)
                problems.push_back(
                    std::to_string(orphans) + " row(s) of " + q(fk.child_schema, fk.child_name) +
                    " reference rows the snapshot does not have (foreign key " + fk.name + ")");
        }
        if (!problems.empty())
            throw usage_error("cannot restore " + job.plan.table +
                                  " without orphaning rows of other tables, nothing "
                                  "was changed: " +
                                  text::join(problems, "; "),
                              "restore or fix those rows first, or use --mode side-by-side and "
                              "reconcile by hand");
    }

    int swap(Job& job, MigrationLock& lock, History& history, HistoryRow audit) {
        auto& s = *job.session;
        const std::string schema = job.entry.schema, name = job.entry.name;
        const std::string live_table = q(schema, name);
        const std::string staged = q(job.plan.staging_schema, name);
        const std::string suffix = "_rollsafe_" + job.ts;
        return with_retry(job, [&](db::Transaction& tx) {
            // Lock the table and everything the swap alters first, so nothing waits half-way.
            std::vector<std::string> to_lock;
            if (job.live.exists)
                to_lock.push_back(live_table);
            for (const auto& fk : job.live.fks)
                to_lock.push_back(q(fk.child_schema, fk.child_name));
            for (const auto& v : job.live.views)
                to_lock.push_back(q(v.schema, v.name));
            if (!to_lock.empty())
                s.exec("LOCK TABLE " + text::join(to_lock, ", ") + " IN ACCESS EXCLUSIVE MODE");
            stage(job, "locked");
            Live now = inspect_live(s, schema, name, false);
            auto same = [](const Live& a, const Live& b) {
                std::vector<long long> av, bv, af, bf;
                for (const auto& v : a.views)
                    av.push_back(v.oid);
                for (const auto& v : b.views)
                    bv.push_back(v.oid);
                for (const auto& f : a.fks)
                    af.push_back(f.oid);
                for (const auto& f : b.fks)
                    bf.push_back(f.oid);
                return a.exists == b.exists && a.oid == b.oid && av == bv && af == bf &&
                       b.blockers.empty();
            };
            if (!same(job.live, now))
                throw Error(
                    ExitCode::failed_clean,
                    "the objects that depend on " + job.plan.table +
                        " changed while the restore ran; it rolled back, nothing was changed",
                    "run the restore again");
            std::string ns =
                job.live.exists
                    ? s.exec_params("SELECT oid FROM pg_namespace WHERE nspname = $1", {schema})
                          .get(0, 0)
                    : "";
            std::map<std::string, std::string>
                seq_aside;  // qualified sequence -> its old one, moved aside
            if (job.live.exists) {
                for (const auto& fk : job.live.fks)
                    s.exec("ALTER TABLE " + q(fk.child_schema, fk.child_name) +
                           " DROP CONSTRAINT " + text::quote_ident(fk.name));
                s.exec("ALTER TABLE " + live_table + " RENAME TO " +
                       text::quote_ident(aside_of(name, suffix)));
                stage(job, "renamed");
                // Indexes and sequences of the old table whose names the restored ones need.
                auto conflicts = s.exec_params(
                    "SELECT o.relname, o.relkind::text, (o.relkind IN ('i', 'I') AND EXISTS "
                    "(SELECT 1 FROM pg_index i"
                    "  WHERE i.indexrelid = o.oid AND i.indrelid = $3::oid)) OR (o.relkind = 'S' "
                    "AND EXISTS (SELECT 1"
                    "  FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = o.oid"
                    "  AND d.refobjid = $3::oid AND d.deptype IN ('a', 'i')))"
                    " FROM pg_class st JOIN pg_namespace sn ON sn.oid = st.relnamespace AND "
                    "sn.nspname = $1"
                    " JOIN pg_class o ON o.relname = st.relname AND o.relnamespace = $2::oid"
                    " WHERE st.relkind IN ('i', 'I', 'S') ORDER BY 1",
                    {job.plan.staging_schema, ns, std::to_string(job.live.oid)});
                for (std::size_t i = 0; i < conflicts.size(); ++i) {
                    std::string old = conflicts.get(i, 0), kind = conflicts.get(i, 1);
                    if (conflicts.get(i, 2) != "t")
                        throw Error(ExitCode::failed_clean,
                                    q(schema, old) + " exists and does not belong to " +
                                        job.plan.table +
                                        ": the restored table needs that name; nothing was changed",
                                    "rename or drop that object by hand, then restore again");
                    std::string moved = aside_of(old, suffix);
                    s.exec(std::string(kind == "S" ? "ALTER SEQUENCE " : "ALTER INDEX ") +
                           q(schema, old) + " RENAME TO " + text::quote_ident(moved));
                    if (kind == "S")
                        seq_aside[q(schema, old)] = q(schema, moved);
                }
                for (const auto& st : job.live.stats)
                    s.exec("ALTER STATISTICS " + q(st.schema, st.name) + " RENAME TO " +
                           text::quote_ident(aside_of(st.name, suffix)));
            }
            s.exec("ALTER TABLE " + staged + " SET SCHEMA " + text::quote_ident(schema));
            auto staged_stats = s.exec_params(
                "SELECT x.stxname FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = "
                "x.stxnamespace "
                "WHERE n.nspname = $1 ORDER BY 1",
                {job.plan.staging_schema});
            std::set<std::string> restored_stats;
            for (std::size_t i = 0; i < staged_stats.size(); ++i) {
                restored_stats.insert(staged_stats.get(i, 0));
                s.exec("ALTER STATISTICS " + q(job.plan.staging_schema, staged_stats.get(i, 0)) +
                       " SET SCHEMA " + text::quote_ident(schema));
            }
            stage(job, "moved");
            // Extended statistics are not in a pg_dump -t archive: re-create the old table's.
            for (const auto& st : job.live.stats) {
                if (restored_stats.count(st.name))
                    continue;
                s.exec("SAVEPOINT rollsafe_stats");
                try {
                    s.exec(st.def);
                    s.exec("RELEASE SAVEPOINT rollsafe_stats");
                } catch (const db::DbError& e) {
                    s.exec("ROLLBACK TO SAVEPOINT rollsafe_stats");
                    job.plan.notes.push_back("statistics " + q(st.schema, st.name) +
                                             " not re-created (" + e.what() +
                                             "); it stays on the old table");
                }
            }
            long long new_oid = std::stoll(
                s.exec_params("SELECT to_regclass($1)::oid::bigint", {live_table}).get(0, 0, "0"));
            for (const auto& cs : sequences_of(s, new_oid)) {
                std::string seq = q(cs.schema, cs.name);
                auto it = seq_aside.find(seq);
                raise_sequence(s, live_table, cs.column, seq,
                               it == seq_aside.end() ? "" : it->second);
            }
            stage(job, "sequences");
            for (const auto& fk : job.live.fks)
                exec_step(s,
                          "ALTER TABLE " + q(fk.child_schema, fk.child_name) + " ADD CONSTRAINT " +
                              text::quote_ident(fk.name) + " " + fk.def,
                          "re-pointing foreign key " + fk.name + " of " +
                              q(fk.child_schema, fk.child_name));
            stage(job, "repointed");
            for (const auto& v : job.live.views)
                exec_step(s,
                          "CREATE OR REPLACE VIEW " + q(v.schema, v.name) +
                              (v.options.empty() ? "" : " WITH (" + v.options + ")") + " AS " +
                              v.def,
                          "re-creating view " + q(v.schema, v.name));
            stage(job, "views");
            auto final_audit = audit;
            if (job.live.exists)
                final_audit.details["aside"] = job.plan.aside_name;
            final_audit.details["views_recreated"] = job.live.views.size();
            final_audit.details["foreign_keys_repointed"] = job.live.fks.size();
            tx.commit(lock.fence_sql() + "; " + history.insert_sql(final_audit));
        });
    }

    int replace_rows(Job& job, MigrationLock& lock, History& history, HistoryRow audit) {
        auto& s = *job.session;
        const std::string live_table = q(job.entry.schema, job.entry.name);
        const std::string staged = q(job.plan.staging_schema, job.entry.name);
        auto columns = [&](const std::string& schema) {
            auto r = s.exec_params(
                "SELECT a.attname, a.attgenerated::text FROM pg_attribute a JOIN pg_class c ON "
                "c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname "
                "= $2 "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                {schema, job.entry.name});
            std::vector<std::pair<std::string, bool>> out;  // name, generated
            for (std::size_t i = 0; i < r.size(); ++i)
                out.emplace_back(r.get(i, 0), !r.get(i, 1).empty());
            return out;
        };
        auto live_cols = columns(job.entry.schema);
        auto staged_cols = columns(job.plan.staging_schema);
        std::set<std::string> live_names;
        for (const auto& [n, g] : live_cols)
            live_names.insert(n);
        std::vector<std::string> common, missing;
        for (const auto& [n, g] : staged_cols) {
            if (!live_names.count(n))
                missing.push_back(n);
            else {
                bool generated =
                    std::any_of(live_cols.begin(), live_cols.end(),
                                [&](const auto& c) { return c.first == n && c.second; });
                if (!generated)
                    common.push_back(n);
            }
        }
        if (!missing.empty())
            throw usage_error(
                "the live " + job.plan.table + " has no column " + text::join(missing, ", ") +
                    " of the snapshot: --mode data would lose those values; nothing was changed",
                "use --mode swap to bring back the table as it was");
        auto key_r = s.exec_params(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
            "a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY "
            "array_position(i.indkey::int2[], a.attnum)",
            {std::to_string(job.live.oid)});
        std::vector<std::string> key;
        for (std::size_t i = 0; i < key_r.size(); ++i)
            key.push_back(key_r.get(i, 0));
        for (const auto& k : key)
            if (std::find(common.begin(), common.end(), k) == common.end())
                throw usage_error("the primary key column " + k + " of " + job.plan.table +
                                      " is not in the snapshot; nothing was changed",
                                  "use --mode swap");
        if (key.empty() && !job.live.fks.empty())
            throw usage_error(
                job.plan.table +
                    " has no primary key and other tables reference it: --mode data cannot "
                    "match rows safely; nothing was changed",
                "use --mode swap");
        auto list = [](const std::vector<std::string>& cols, const std::string& prefix) {
            std::vector<std::string> out;
            for (const auto& c : cols)
                out.push_back(prefix + text::quote_ident(c));
            return text::join(out, ", ");
        };
        auto match = [&](const std::string& a, const std::string& b) {
            std::vector<std::string> parts;
            for (const auto& k : key)
                parts.push_back(a + "." + text::quote_ident(k) + " = " + b + "." +
                                text::quote_ident(k));
            return text::join(parts, " AND ");
        };
        std::vector<std::string> non_key;
        for (const auto& c : common)
            if (std::find(key.begin(), key.end(), c) == key.end())
                non_key.push_back(c);
        return with_retry(job, [&](db::Transaction& tx) {
            s.exec("LOCK TABLE " + live_table + " IN EXCLUSIVE MODE");
            for (const auto& fk : job.live.fks)
                s.exec("LOCK TABLE " + q(fk.child_schema, fk.child_name) + " IN SHARE MODE");
            stage(job, "locked");
            // No child row may lose its parent: ON DELETE CASCADE would silently delete it.
            check_orphans(job);
            s.exec("ALTER TABLE " + live_table + " DISABLE TRIGGER USER");
            if (key.empty()) {
                s.exec("DELETE FROM " + live_table);
                s.exec("INSERT INTO " + live_table + " (" + list(common, "") +
                       ") OVERRIDING SYSTEM VALUE SELECT " + list(common, "s.") + " FROM " +
                       staged + " s");
            } else {
                s.exec("DELETE FROM " + live_table + " l WHERE NOT EXISTS (SELECT 1 FROM " +
                       staged + " s WHERE " + match("s", "l") + ")");
                if (!non_key.empty())
                    s.exec("UPDATE " + live_table + " l SET (" + list(non_key, "") + ") = ROW(" +
                           list(non_key, "s.") + ") FROM " + staged + " s WHERE " +
                           match("s", "l"));
                s.exec("INSERT INTO " + live_table + " (" + list(common, "") +
                       ") OVERRIDING SYSTEM VALUE SELECT " + list(common, "s.") + " FROM " +
                       staged + " s WHERE NOT EXISTS (SELECT 1 FROM " + live_table + " l WHERE " +
                       match("s", "l") + ")");
            }
            stage(job, "rows");
            for (const auto& cs : sequences_of(s, job.live.oid))
                raise_sequence(s, live_table, cs.column, q(cs.schema, cs.name), "");
            s.exec("ALTER TABLE " + live_table + " ENABLE TRIGGER USER");
            long long now_rows =
                std::stoll(s.exec("SELECT count(*) FROM ONLY " + live_table).get(0, 0, "-1"));
            if (job.entry.rows >= 0 && now_rows != job.entry.rows)
                throw Error(ExitCode::failed_clean,
                            job.plan.table + " would hold " + std::to_string(now_rows) +
                                " rows, the snapshot " + std::to_string(job.entry.rows) +
                                "; the restore rolled back, nothing was changed");
            tx.commit(lock.fence_sql() + "; " + history.insert_sql(audit));
        });
    }

    const Config& m_config;
    ProcessRunner& m_runner;
};

// Restores a whole snapshot into a new database.
class IntoRestore {
  public:
    IntoRestore(const Config& config, ProcessRunner& runner) : m_config(config), m_runner(runner) {}

    RestorePlan plan(const RestoreOptions& options, Manifest& manifest) {
        RestorePlan p;
        SnapshotService service(m_config, m_runner);
        manifest = service.require_verified(options.snapshot_id);
        p.snapshot_id = manifest.id;
        p.snapshot_created_at = manifest.created_at;
        p.mode = "into";
        p.into = options.into;
        for (const auto& t : manifest.tables)
            p.objects.push_back(std::string(t.kind == 'r' ? "TABLE " : "RELATION ") +
                                t.qualified());
        auto s = connect();
        if (!s->exec_params("SELECT 1 FROM pg_database WHERE datname = $1", {options.into}).empty())
            p.blockers.push_back("database " + options.into +
                                 " exists already: --into creates a new one");
        if (manifest.mode != "full")
            p.notes.push_back(
                "snapshot " + manifest.id + " is a " + manifest.mode +
                " snapshot: it holds only some tables, not the types and functions they use");
        p.steps.push_back("verify snapshot " + manifest.id + ": done");
        p.steps.push_back("CREATE DATABASE " + text::quote_ident(options.into));
        p.steps.push_back(
            "pg_restore the whole archive into it, stopping at the first error (then the new "
            "database is dropped)");
        p.steps.push_back("check the row count of every table against the manifest");
        p.steps.push_back("append an audit row (op restore) to the history of the source database");
        return p;
    }

    RestoreResult run(const RestoreOptions& options) {
        auto t0 = Clock::now();
        RestoreResult res;
        Manifest m;
        res.plan = plan(options, m);
        if (!res.plan.blockers.empty())
            throw usage_error(text::join(res.plan.blockers, "; "), "pick another name for --into");
        auto s = connect();
        bool superuser =
            s->exec("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").get(0, 0) == "t";
        s->exec("CREATE DATABASE " + text::quote_ident(options.into) + " TEMPLATE template0");
        Dsn target = Dsn::parse(m_config.database_url);
        target.set("dbname", options.into);
        try {
            SnapshotService service(m_config, m_runner);
            auto tool = find_pg_tool("pg_restore", m_config.pg_bindir, m.pg_dump_major, m_runner);
            ChildConnection conn(target);
            ProcessSpec spec;
            spec.argv = {tool.path, "--exit-on-error", "--no-password"};
            if (!superuser) {
                spec.argv.push_back("--no-owner");
                res.plan.notes.push_back(
                    "not a superuser: objects are owned by the restoring user (--no-owner)");
            }
            conn.apply(spec);
            spec.argv.push_back(service.store().archive_path(m));
            std::string app = "rollsafe-restore-" + m.id;
            spec.env.emplace_back("PGAPPNAME", app);
            long long total = 0;
            for (const auto& t : m.tables)
                total += t.bytes;
            Progress progress("restore " + m.id, total);
            spec.on_tick = [&] {
                if (std::chrono::duration_cast<Millis>(Clock::now() - t0).count() < 1000)
                    return;
                try {
                    auto r = s->exec_params(
                        "SELECT coalesce(sum(p.bytes_processed), 0) FROM pg_stat_clear_snapshot() "
                        "x, "
                        "pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid WHERE "
                        "a.application_name = $1",
                        {app});
                    progress.update(std::stoll(r.get(0, 0, "0")));
                } catch (const std::exception&) {
                }
            };
            auto r = m_runner.run(spec);
            progress.finish();
            if (r.interrupted)
                throw Error(ExitCode::interrupted,
                            "interrupted while restoring into " + options.into);
            if (!r.ok())
                throw Error(ExitCode::failed_clean,
                            "pg_restore into " + options.into + " failed: " + r.describe() +
                                "; the new database was dropped",
                            m.mode == "full"
                                ? ""
                                : "a " + m.mode +
                                      " snapshot lacks the types and functions its tables "
                                      "use: create them in the new database first, or restore a "
                                      "full snapshot");
            db::ConnectOptions co;
            auto t = db::connect(target, co);
            for (const auto& tab : m.tables) {
                if (tab.rows < 0)
                    continue;
                long long n =
                    std::stoll(t->exec("SELECT count(*) FROM ONLY " + q(tab.schema, tab.name))
                                   .get(0, 0, "-1"));
                if (n != tab.rows)
                    throw Error(ExitCode::failed_clean,
                                tab.qualified() + " has " + std::to_string(n) + " rows in " +
                                    options.into + ", the snapshot " + std::to_string(tab.rows) +
                                    "; the new database was dropped");
                res.rows += n;
            }
        } catch (...) {
            try {
                s->exec("DROP DATABASE IF EXISTS " + text::quote_ident(options.into) +
                        " WITH (FORCE)");
            } catch (const std::exception& e) {
                log::warn("could not drop {}: {}", options.into, e.what());
            }
            throw;
        }
        History history(*s, m_config.history_schema);
        history.ensure();
        HistoryRow row;
        auto actor = Actor::current();
        row.run_id = new_run_id();
        row.op = "restore";
        row.outcome = "restored";
        row.reason = options.reason;
        row.snapshot_id = m.id;
        row.os_user = actor.os_user;
        row.host = actor.host;
        row.pod = actor.pod;
        row.pid = actor.pid;
        row.details["into"] = options.into;
        row.details["mode"] = "into";
        row.details["rows"] = res.rows;
        history.append(row);
        res.duration_ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
        res.message = "restored snapshot " + m.id + " into the new database " + options.into +
                      " (" + std::to_string(m.tables.size()) + " relation(s), " +
                      std::to_string(res.rows) + " rows)";
        return res;
    }

  private:
    std::unique_ptr<db::Session> connect() { return connect_as(m_config, "rollsafe-restore"); }

    const Config& m_config;
    ProcessRunner& m_runner;
};

void check_options(const RestoreOptions& o) {
    if (o.snapshot_id.empty())
        throw usage_error("restore needs --snapshot ID", "rollsafe snapshot list shows them");
    if (o.into.empty() == o.table.empty())
        throw usage_error("restore needs either --table T or --into NEWDB",
                          "e.g. rollsafe restore --snapshot ID --table orders");
    if (!o.table.empty() && o.mode != "swap" && o.mode != "data" && o.mode != "side-by-side")
        throw usage_error("unknown --mode " + o.mode, "use swap, data or side-by-side");
}

}  // namespace

Restorer::Restorer(Config config, ProcessRunner& runner)
    : m_config(std::move(config)), m_runner(runner) {}

RestorePlan Restorer::plan(const RestoreOptions& options) {
    check_options(options);
    try {
        if (!options.into.empty()) {
            Manifest m;
            return IntoRestore(m_config, m_runner).plan(options, m);
        }
        TableRestore restore(m_config, m_runner);
        auto job = restore.prepare(options, true);
        job.verified.confirm();
        return job.plan;
    } catch (const db::DbError& e) {
        throw Error(ExitCode::failed_clean,
                    std::string("cannot plan the restore: ") + e.what() + "; nothing was changed");
    }
}

RestoreResult Restorer::run(const RestoreOptions& options) {
    check_options(options);
    try {
        if (!options.into.empty())
            return IntoRestore(m_config, m_runner).run(options);
        TableRestore restore(m_config, m_runner);
        Job job = restore.prepare(options, false);
        return restore.run(job);
    } catch (const db::DbError& e) {
        // Every step that changes something rolls itself back (transactions, the staging schema
        // and a half-made --into database are dropped), so a database error here left nothing.
        throw Error(ExitCode::failed_clean,
                    std::string("restore failed: ") + e.what() + "; nothing was changed",
                    e.sqlstate() == "42501" ? "the restoring role lacks a privilege it needs" : "");
    }
}

}  // namespace rollsafe::snapshot
