#include "core/sqlite/sqlite_engine.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/sqlite/script.h"
#include "core/sqlite/sqlite_snapshot.h"

namespace rollsafe::sqlite {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// "path:line:col" of the statement moved on by `offset` bytes into its text.
std::string error_position(const PlannedStatement& st, int offset) {
    if (offset <= 0)
        return st.position;
    auto c2 = st.position.rfind(':');
    auto c1 = c2 == std::string::npos ? std::string::npos : st.position.rfind(':', c2 - 1);
    if (c1 == std::string::npos)
        return st.position;
    int line = std::stoi(st.position.substr(c1 + 1, c2 - c1 - 1));
    int col = std::stoi(st.position.substr(c2 + 1));
    for (int i = 0; i < offset && i < static_cast<int>(st.text.size()); ++i) {
        if (st.text[static_cast<std::size_t>(i)] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return st.position.substr(0, c1) + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// Takes the transaction-level directives SQLite cannot honour out of a script's plan.
void refuse_no_transaction(const Script& script, const std::string& id) {
    if (script.no_transaction())
        throw usage_error(
            script.path + ": -- rollsafe:no-transaction is not supported on SQLite (" + id + ")",
            "SQLite runs DDL in transactions; remove the directive (VACUUM and other "
            "statements that cannot run in a transaction do not belong in a "
            "migration)");
}

}  // namespace

SqliteEngine::SqliteEngine(Config config, EngineHooks hooks)
    : m_config(std::move(config)),
      m_hooks(std::move(hooks)),
      m_path(path_from_url(m_config.database_url)) {}

SqliteEngine::~SqliteEngine() = default;

void SqliteEngine::say(const std::string& line) const {
    if (m_hooks.progress)
        m_hooks.progress(line);
    else
        log::info("{}", line);
}

Millis SqliteEngine::busy_timeout() const {
    // How long one statement waits for SQLite's write lock held by another connection.
    return std::max(Millis(5000), m_config.lock_timeout);
}

const MigrationSet& SqliteEngine::files() {
    // parse = false: the scripts are SQLite SQL, which PostgreSQL's parser need not accept.
    if (!m_files)
        m_files = read_migrations(m_config.migrations_dir, m_config.layout, false);
    return *m_files;
}

Database& SqliteEngine::database() {
    if (!m_db) {
        m_db = std::make_unique<Database>(m_path, busy_timeout());
        m_store = std::make_unique<HistoryStore>(*m_db, m_config.history_schema);
    }
    return *m_db;
}

HistoryStore& SqliteEngine::store() {
    database();
    return *m_store;
}

FileAnalysis SqliteEngine::analyze(bool with_down_scripts) {
    std::map<std::string, AppliedVersion> state;
    // A file that does not exist yet has no history: do not create it just to read.
    if (m_db || m_path == ":memory:" || fs::exists(m_path)) {
        if (store().exists())
            state = store().state(with_down_scripts);
    }
    return analyze_files(files(), std::move(state));
}

PlannedStep SqliteEngine::plan_up_step(const Migration& m) {
    refuse_no_transaction(m.up, m.id());
    PlannedStep s;
    s.version = m.version.text();
    s.version_key = m.version.key();
    s.name = m.name;
    s.direction = "up";
    s.migration = &m;
    s.source = "file";
    s.transactional = true;
    s.lock_timeout = busy_timeout();
    s.statement_timeout = Millis(0);
    s.compat_class = "unknown";
    s.statements = plan_script(m.up.path, m.up.text, m.up.first_line);
    s.up_sha256 = m.up.sha256;
    s.up_drift_sha256 = m.up.drift_sha256();
    if (m.down) {
        s.down_sha256 = m.down->sha256;
        s.down_drift_sha256 = m.down->drift_sha256();
        s.down_text = m.down->text;
    }
    return s;
}

Plan SqliteEngine::plan_up(const UpOptions& options) {
    files();
    auto a = analyze(false);
    Plan plan;
    plan.direction = "up";
    check_drift(a, plan);
    if (!a.ahead.empty()) {
        // Same rule as PostgreSQL: an image behind the database may only run on newer
        // migrations recorded as expand-only; SQLite has no classifier yet, so they are unknown.
        std::vector<std::string> ids;
        for (const auto& key : a.ahead) {
            const auto& row = a.state.at(key).row;
            ids.push_back(row.version + "_" + row.name);
        }
        throw Error(
            ExitCode::incompatible,
            "the database has migrations this release does not know: " + text::join(ids, ", "),
            "this image is older than the schema: roll the app forward, or revert them "
            "with `rollsafe down --to <version>` (stored down scripts)");
    }
    check_out_of_order(a, options.allow_out_of_order || m_config.allow_out_of_order);
    std::optional<Version> to;
    if (options.to_version) {
        to = Version::parse(*options.to_version);
        if (!to)
            throw usage_error("\"" + *options.to_version + "\" is not a migration version",
                              "use the number of a migration, e.g. 0042");
    }
    for (auto* m : a.pending) {
        if (to && *to < m->version)
            continue;
        plan.steps.push_back(plan_up_step(*m));
    }
    return plan;
}

Plan SqliteEngine::plan_down(const DownOptions& options) {
    if (!options.to_version && options.steps <= 0)
        throw usage_error("down needs --to VERSION or --steps N", "e.g. rollsafe down --steps 1");
    files();
    auto a = analyze(true);
    Plan plan;
    plan.direction = "down";
    plan.atomic = options.atomic;
    std::vector<Diagnostic> drift;
    for (const auto* av : down_targets(a, options)) {
        const auto& row = av->row;
        PlannedStep s;
        s.version = row.version;
        s.version_key = row.version_key;
        s.name = row.name;
        s.direction = "down";
        s.compat_class = row.compat_class;
        s.lock_timeout = busy_timeout();
        s.up_sha256 = row.up_sha256;
        s.up_drift_sha256 = row.up_drift_sha256;
        auto v = Version::parse(row.version);
        const Migration* m = v ? files().find(*v) : nullptr;
        s.migration = m;
        bool file_down = m && m->down;
        bool stored = row.down_script.has_value();
        std::string id = row.version + "_" + row.name;
        if (!file_down && !stored) {
            if (m && m->irreversible())
                throw usage_error(
                    id + " is irreversible: " + m->up.directive("irreversible")->reason,
                    "restore its data from a snapshot instead (rollsafe restore)");
            throw usage_error(
                "no down script for " + id + ": no file, and none was stored when it was applied",
                "write a down script and run with --use-file, or restore from a snapshot");
        }
        bool use_stored = !file_down || (stored && options.prefer_stored);
        if (file_down && stored && !options.prefer_stored && m->down->sha256 != row.down_sha256) {
            bool cosmetic = m->down->drift_sha256() == row.down_drift_sha256;
            if (options.use_stored) {
                use_stored = true;
            } else if (options.use_file || cosmetic) {
                use_stored = false;
                if (cosmetic)
                    plan.warnings.push_back(
                        m->down->path +
                        ": differs from the stored down script only in whitespace or comments");
            } else {
                drift.push_back({m->down->path, 0, 0,
                                 "down script differs from the one stored when " + id +
                                     " was applied (stored sha256 " +
                                     row.down_sha256.substr(0, 12) + "..., file " +
                                     m->down->sha256.substr(0, 12) + "...)",
                                 ""});
                continue;
            }
        }
        std::vector<Diagnostic> problems;
        if (use_stored) {
            s.source = "stored";
            s.down_text = *row.down_script;
            std::string where = "stored down script of " + id;
            Script script = make_script(where, *row.down_script, 1, problems, false);
            refuse_no_transaction(script, id);
            s.down_sha256 = script.sha256;
            s.down_drift_sha256 = script.drift_sha256();
            s.statements = plan_script(where, *row.down_script, 1);
            if (!m)
                plan.notes.push_back(
                    id + ": file absent (older image); using the down script stored in history");
        } else {
            s.source = "file";
            const auto& script = *m->down;
            refuse_no_transaction(script, id);
            s.down_text = script.text;
            s.down_sha256 = script.sha256;
            s.down_drift_sha256 = script.drift_sha256();
            s.statements = plan_script(script.path, script.text, script.first_line);
        }
        if (!problems.empty())
            throw Error(ExitCode::usage, problems.front().location_and_message(),
                        problems.front().hint, problems);
        plan.steps.push_back(std::move(s));
    }
    if (!drift.empty())
        throw Error(ExitCode::drift, drift.front().location_and_message(),
                    "choose explicitly: --use-file runs the file, --use-stored runs the text "
                    "stored at apply time",
                    drift);
    return plan;
}

std::unique_ptr<LeaseLock> SqliteEngine::take_lock(const std::string& command) {
    if (m_path == ":memory:")
        return nullptr;  // no other process can see an in-memory database
    auto lock = std::make_unique<LeaseLock>(m_path, m_config.history_schema, m_config.lock_lease,
                                            busy_timeout(), command);
    bool ok = lock->acquire(database(), store(), m_config.lock_wait, [&](const LockHolder& h) {
        say(lock_waiting_message(h, m_config.lock_wait));
    });
    if (!ok)
        throw lock_wait_error(read_holder(database(), store()), m_config.lock_wait);
    return lock;
}

void SqliteEngine::with_lock(const std::string& command, const std::function<void()>& fn) {
    store().ensure();
    auto lock = take_lock(command);
    fn();
}

HistoryRow SqliteEngine::base_row(const PlannedStep& step, const std::string& run_id) const {
    HistoryRow row;
    auto actor = Actor::current();
    row.run_id = run_id;
    row.op = step.direction;
    row.version = step.version;
    row.version_key = step.version_key;
    row.name = step.name;
    row.up_sha256 = step.up_sha256;
    row.up_drift_sha256 = step.up_drift_sha256;
    row.down_sha256 = step.down_sha256;
    row.down_drift_sha256 = step.down_drift_sha256;
    if (step.direction == "up" && step.migration && step.migration->down)
        row.down_script = step.migration->down->text;
    row.os_user = actor.os_user;
    row.host = actor.host;
    row.pod = actor.pod;
    row.pid = actor.pid;
    row.compat_class = step.compat_class;
    row.details["statements"] = step.statements.size();
    row.details["source"] = step.source;
    row.details["engine"] = "sqlite";
    return row;
}

void SqliteEngine::run_steps(RunResult& res, LeaseLock* lock, const std::string& release,
                             const std::string& reason, bool atomic) {
    auto& db = database();
    auto hook = interrupt::on_interrupt([&db] { db.interrupt(); });
    const bool up = res.plan.direction == "up";
    auto t_all = Clock::now();
    // Each group runs in one BEGIN IMMEDIATE transaction with its history rows.
    std::vector<std::vector<const PlannedStep*>> groups;
    for (const auto& s : res.plan.steps) {
        if (atomic && !groups.empty())
            groups.back().push_back(&s);
        else
            groups.push_back({&s});
    }
    for (const auto& group : groups) {
        const PlannedStep* step = nullptr;
        const PlannedStatement* failed = nullptr;
        auto t0 = Clock::now();
        std::vector<StepResult> done;
        try {
            interrupt::check();
            WriteTransaction tx(db);
            for (const auto* s : group) {
                step = s;
                say(std::string(up ? "applying " : "reverting ") + s->version + "_" + s->name +
                    (s->source == "stored" ? " (stored down script)" : "") +
                    (atomic ? " (atomic)" : ""));
                auto ts = Clock::now();
                for (const auto& st : s->statements) {
                    failed = &st;
                    if (interrupt::requested())
                        throw SqliteError("interrupted", SQLITE_INTERRUPT);
                    db.exec(st.text);
                }
                failed = nullptr;
                HistoryRow row = base_row(*s, res.run_id);
                row.release = release;
                row.reason = reason;
                row.snapshot_id = res.snapshot_id;
                row.outcome = up ? outcome::applied : outcome::rolled_back;
                row.duration_ms = ms_since(ts);
                if (atomic)
                    row.details["atomic"] = true;
                store().append(row);
                done.push_back({s->version, s->name, s->direction, row.outcome, row.duration_ms, 1,
                                "", "", s->compat_class});
            }
            if (lock && !lock->fence(db, store())) {
                res.code = ExitCode::locked;
                res.message =
                    "this process lost the migration lock (its lease expired); the "
                    "transaction rolled back";
                res.hint = "re-running is safe";
                return;
            }
            tx.commit();
            for (auto& d : done) {
                res.steps.push_back(d);
                say(std::string(up ? "applied " : "reverted ") + d.version + "_" + d.name + " in " +
                    human_duration(Millis(d.duration_ms)));
            }
        } catch (const SqliteError& e) {
            const std::string id = step ? step->version + "_" + step->name : std::string("?");
            StepResult sr;
            if (step) {
                sr = {step->version,     step->name,
                      step->direction,   outcome::failed,
                      ms_since(t0),      1,
                      e.what(),          failed ? error_position(*failed, e.offset()) : "",
                      step->compat_class};
                res.steps.push_back(sr);
            }
            int primary = e.code() & 0xff;
            if (primary == SQLITE_INTERRUPT || interrupt::requested()) {
                res.code = ExitCode::interrupted;
                res.message = id +
                              " was interrupted; its transaction rolled back, nothing of it "
                              "is applied";
                res.hint = "re-running is safe";
            } else if (e.busy()) {
                res.code = ExitCode::busy;
                res.message = id + " could not take SQLite's write lock within " +
                              format_duration(busy_timeout()) + "; nothing changed";
                res.hint = "another connection writes to the file; retry when it is done";
            } else {
                res.code = ExitCode::failed_clean;
                res.message = id + " failed" +
                              (failed ? " at " + sr.position : std::string(" at commit")) + ": " +
                              e.what() + "; its transaction rolled back" +
                              (atomic ? " (atomic: nothing changed)" : "");
                res.hint = up ? "the database is at the last good version; fix the migration "
                                "and deploy again"
                              : "the database is where the previous down left it";
            }
            if (step) {
                HistoryRow row = base_row(*step, res.run_id);
                row.release = release;
                row.reason = reason;
                row.outcome = outcome::failed;
                row.error = e.what();
                row.error_position = sr.position;
                row.error_statement = failed ? failed->index : -1;
                row.duration_ms = sr.duration_ms;
                row.details["exit_code"] = static_cast<int>(res.code);
                row.details["sqlite_code"] = e.code();
                try {
                    store().append(row);
                } catch (const std::exception& re) {
                    log::warn("could not record the failure in history: {}", re.what());
                }
            }
            return;
        }
        if (interrupt::requested()) {
            res.code = ExitCode::interrupted;
            res.message = "interrupted after " + group.back()->version + "_" + group.back()->name;
            res.hint = "re-running is safe";
            return;
        }
    }
    (void)t_all;
    res.message = std::string(up ? "applied " : "reverted ") + std::to_string(res.steps.size()) +
                  " migration(s)" + (atomic ? " in one transaction" : "");
}

RunResult SqliteEngine::up(const UpOptions& options) {
    RunResult res;
    res.run_id = new_run_id();
    files();
    if (options.dry_run) {
        res.plan = plan_up(options);
        res.nothing_to_do = res.plan.steps.empty();
        return res;
    }
    store().ensure();
    auto lock = take_lock(options.command);
    check_not_dirty(analyze(false));
    res.plan = plan_up(options);  // under the lock: what another migrator did is seen
    for (const auto& w : res.plan.warnings)
        log::warn("{}", w);
    if (res.plan.steps.empty()) {
        res.nothing_to_do = true;
        res.message = "nothing to do: every migration is applied";
        return res;
    }
    if (m_config.snapshot_mode != "none" && m_path != ":memory:") {
        BatchInfo batch{"up", res.run_id, {}};
        for (const auto& s : res.plan.steps)
            batch.migrations.push_back(s.version + "_" + s.name);
        res.snapshot_id = create_snapshot(database(), m_config, current_version(store()), batch).id;
        say("snapshot " + res.snapshot_id + " taken");
    }
    run_steps(res, lock.get(), options.release, "", false);
    return res;
}

RunResult SqliteEngine::down(const DownOptions& options) {
    RunResult res;
    res.run_id = new_run_id();
    if (options.use_file && options.use_stored)
        throw usage_error("--use-file and --use-stored exclude each other");
    files();
    if (options.dry_run) {
        res.plan = plan_down(options);
        res.nothing_to_do = res.plan.steps.empty();
        return res;
    }
    store().ensure();
    auto lock = take_lock(options.command);
    check_not_dirty(analyze(false));
    res.plan = plan_down(options);
    for (const auto& w : res.plan.warnings)
        log::warn("{}", w);
    for (const auto& n : res.plan.notes)
        say(n);
    if (res.plan.steps.empty()) {
        res.nothing_to_do = true;
        res.message = "nothing to do: no applied migration is newer than the target";
        return res;
    }
    if (m_config.snapshot_mode != "none" && m_path != ":memory:") {
        BatchInfo batch{"down", res.run_id, {}};
        for (const auto& s : res.plan.steps)
            batch.migrations.push_back(s.version + "_" + s.name);
        res.snapshot_id = create_snapshot(database(), m_config, current_version(store()), batch).id;
        say("snapshot " + res.snapshot_id + " taken");
    }
    run_steps(res, lock.get(), options.release, options.reason, options.atomic);
    return res;
}

StatusReport SqliteEngine::status() {
    StatusReport rep;
    rep.database = "sqlite:" + m_path;
    files();
    bool file = m_path == ":memory:" || fs::exists(m_path);
    rep.initialized = file && store().exists();
    rep.lockfile = read_lockfile(m_config.lockfile_path);
    auto a = analyze(false);
    if (rep.initialized)
        rep.lock = read_holder(database(), store());
    fill_status(a, files(), rep);
    return rep;
}

std::vector<HistoryRow> SqliteEngine::history(const History::Filter& filter) {
    if (m_path != ":memory:" && !fs::exists(m_path))
        return {};
    if (!store().exists())
        return {};
    return store().rows(filter);
}

std::optional<LockHolder> SqliteEngine::lock_status() {
    if (m_path != ":memory:" && !fs::exists(m_path))
        return std::nullopt;
    return read_holder(database(), store());
}

std::optional<LockHolder> SqliteEngine::break_lock(const std::string& reason) {
    if (reason.empty())
        throw usage_error("lock break needs --reason", "it is recorded in history");
    store().ensure();
    WriteTransaction tx(database());
    auto holder = read_holder(database(), store());
    if (holder) {
        database().query("DELETE FROM " + store().table("lock") + " WHERE id = 1");
        auto actor = Actor::current();
        HistoryRow audit;
        audit.run_id = new_run_id();
        audit.op = "lock-break";
        audit.outcome = "broken";
        audit.reason = reason;
        audit.os_user = actor.os_user;
        audit.host = actor.host;
        audit.pod = actor.pod;
        audit.pid = actor.pid;
        audit.details = {{"holder", holder->holder},
                         {"pid", holder->pid},
                         {"host", holder->host},
                         {"command", holder->command}};
        store().append(audit);
    }
    tx.commit();
    return holder;
}

}  // namespace rollsafe::sqlite
