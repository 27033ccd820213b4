#include "core/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <unordered_map>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/parallel.h"
#include "core/base/sha256.h"
#include "core/base/text.h"
#include "core/catalog/catalog.h"
#include "core/engine/analysis.h"
#include "core/migrations/executable.h"
#include "core/migrations/releases.h"

namespace rollsafe {

// The files against the history, decided by the rules both engines share (analysis.h).
struct Engine::Analysis : FileAnalysis {};

namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string millis_setting(Millis m) {
    return text::quote_literal(std::to_string(m.count()) + "ms");
}

Version parse_version_or_throw(const std::string& text) {
    auto v = Version::parse(text);
    if (!v)
        throw usage_error("\"" + text + "\" is not a migration version",
                          "use the number of a migration, e.g. 0042");
    return *v;
}

// True when a migration of this class (as `up` stored it) leaves the schema usable by the
// previous release: no contract change and nothing unanalysable. unsafe-lock is about the lock
// while it runs and data-loss-on-down about its down script; neither breaks the old app.
bool compatible_with_older(const std::string& class_string) {
    if (class_string.empty())
        return false;
    for (const auto& c : text::split(class_string, ','))
        if (c == "contract" || c == "unknown")
            return false;
    return true;
}

// Builds the planned form of a script's statements.
std::vector<PlannedStatement> plan_statements(const Script& script,
                                              const std::vector<sql::Statement>& statements) {
    std::vector<PlannedStatement> out;
    for (std::size_t i = 0; i < statements.size(); ++i) {
        const auto& st = statements[i];
        PlannedStatement p{static_cast<int>(i), script.where(st), st.text, st.kind, "", ""};
        nlohmann::json node = st.kind == "IndexStmt" ? st.node() : nlohmann::json();
        if (st.kind == "IndexStmt" && node["IndexStmt"].value("concurrent", false)) {
            const auto& n = node["IndexStmt"];
            p.concurrent_index = n.value("idxname", "");
            std::string schema = n["relation"].value("schemaname", "");
            p.concurrent_index_table = (schema.empty() ? "" : text::quote_ident(schema) + ".") +
                                       text::quote_ident(n["relation"].value("relname", ""));
        }
        out.push_back(std::move(p));
    }
    return out;
}

// Jittered exponential backoff for lock-timeout retries.
class Backoff {
  public:
    explicit Backoff(Millis budget) : m_end(Clock::now() + budget), m_rng(std::random_device{}()) {}
    // Waits before the next attempt; returns false when the budget does not allow one.
    bool wait() {
        auto jitter = std::uniform_real_distribution<double>(0.5, 1.5)(m_rng);
        auto delay = Millis(static_cast<long long>(static_cast<double>(m_next.count()) * jitter));
        if (Clock::now() + delay >= m_end)
            return false;
        if (!interrupt::sleep_for(delay))
            return true;  // the caller sees the interrupt
        m_next = std::min(m_next * 2, Millis(5000));
        return true;
    }
    Millis next() const { return m_next; }

  private:
    Clock::time_point m_end;
    Millis m_next{200};
    std::mt19937 m_rng;
};

}  // namespace

Engine::Engine(Config config, EngineHooks hooks)
    : m_config(std::move(config)), m_hooks(std::move(hooks)) {}

Engine::~Engine() = default;

void Engine::say(const std::string& line) const {
    if (m_hooks.progress)
        m_hooks.progress(line);
    else
        log::info("{}", line);
}

const MigrationSet& Engine::files() {
    // Checksums only: statements are parsed when a migration is about to be planned, so that
    // `status` on a thousand migrations does not run the SQL parser a thousand times.
    if (!m_files) {
        m_files = m_files_ahead.valid()
                      ? m_files_ahead.get()
                      : read_migrations(m_config.migrations_dir, m_config.layout, false);
    }
    return *m_files;
}

void Engine::prefetch_files() {
    if (m_files || m_files_ahead.valid())
        return;
    m_files_ahead =
        std::async(std::launch::async, [dir = m_config.migrations_dir, layout = m_config.layout] {
            return read_migrations(dir, layout, false);
        });
}

void Engine::parse(const Script& script) {
    // Every Script the engine sees belongs to *m_files, which the engine owns and may change.
    std::vector<Diagnostic> problems;
    ensure_parsed(const_cast<Script&>(script), problems);
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
}

std::unique_ptr<db::Session> Engine::connect() const {
    db::ConnectOptions o;
    o.connect_timeout = m_config.connect_timeout;
    o.retries = m_config.connect_retries;
    return db::connect(Dsn::parse(m_config.database_url), o);
}

db::Session& Engine::session() {
    if (!m_session) {
        m_session = connect();
        m_history = std::make_unique<History>(*m_session, m_config.history_schema);
    }
    return *m_session;
}

History& Engine::history_store() {
    session();
    return *m_history;
}

Engine::Analysis Engine::analyze(bool with_down_scripts) {
    auto& h = history_store();
    std::map<std::string, AppliedVersion> state;
    if (h.exists())
        state = h.state(with_down_scripts);
    return analyze_state(std::move(state));
}

Engine::Analysis Engine::analyze_state(std::map<std::string, AppliedVersion> state,
                                       const DriftChecksumLoader& load_drift_checksums) {
    Analysis a;
    static_cast<FileAnalysis&>(a) = analyze_files(files(), std::move(state), load_drift_checksums);
    return a;
}

void Engine::require_not_frozen() {
    auto f = history_store().freeze();
    if (!f)
        return;
    throw Error(
        ExitCode::frozen,
        "deployments are frozen since " + f->set_at +
            (f->set_by.empty() ? "" : " by " + f->set_by) + ": " + f->reason,
        "find out what failed (rollsafe status, rollsafe report), fix it (rollsafe repair), then "
        "rollsafe unfreeze --reason \"...\"");
}

void Engine::require_not_dirty(const Analysis& a) {
    if (a.dirty.empty())
        return;
    const auto& row = a.state.at(a.dirty.front()).row;
    std::string what = row.outcome == outcome::started
                           ? "was interrupted part way (the process died)"
                           : "failed part way: " + row.error;
    throw Error(ExitCode::failed_dirty,
                "migration " + row.version + "_" + row.name + " " + what +
                    (row.error_position.empty() ? "" : " at " + row.error_position),
                "it ran outside a transaction, so part of it is applied: fix the cause, then "
                "`rollsafe repair "
                "--resume --version " +
                    row.version + " --reason \"...\"` (or --mark-applied / --mark-rolled-back)");
}

void Engine::check_drift(const Analysis& a, Plan& plan) {
    std::vector<Diagnostic> changed;
    for (const auto& d : a.drift) {
        if (d.script != "up")
            continue;
        if (d.cosmetic) {
            plan.warnings.push_back(
                d.file + ": changed since it was applied, but only in whitespace or comments");
        } else {
            changed.push_back({d.file, 0, 0,
                               "applied script changed on disk: applied sha256 " +
                                   d.stored.substr(0, 12) + "..., file sha256 " +
                                   d.now.substr(0, 12) + "...",
                               ""});
        }
    }
    for (const auto& d : a.drift) {
        if (d.script == "down" && !d.cosmetic)
            plan.warnings.push_back(
                d.file + ": down script differs from the one stored when it was applied");
    }
    for (const auto& key : a.missing) {
        const auto& row = a.state.at(key).row;
        plan.warnings.push_back("applied migration " + row.version + "_" + row.name +
                                " has no file any more");
    }
    if (!changed.empty()) {
        throw Error(ExitCode::drift,
                    changed.size() == 1 ? changed.front().location_and_message()
                                        : std::to_string(changed.size()) +
                                              " applied scripts changed on disk; first: " +
                                              changed.front().location_and_message(),
                    "never edit an applied migration: restore the file (git checkout) and add a "
                    "new migration",
                    changed);
    }
}

PlannedStep Engine::plan_up_step(const Migration& m) {
    parse(m.up);
    PlannedStep s;
    s.version = m.version.text();
    s.version_key = m.version.key();
    s.name = m.name;
    s.direction = "up";
    s.migration = &m;
    s.source = "file";
    s.transactional = !m.up.no_transaction();
    s.lock_timeout = m_config.lock_timeout;
    s.statement_timeout = m_config.statement_timeout;
    if (auto* d = m.up.directive("lock-timeout"))
        s.lock_timeout = *parse_duration(d->value);
    if (auto* d = m.up.directive("statement-timeout"))
        s.statement_timeout = *parse_duration(d->value);
    s.compat_class = "unknown";
    s.statements = plan_statements(m.up, executable_statements(m.up));
    s.up_sha256 = m.up.sha256;
    s.up_drift_sha256 = m.up.drift_sha256();
    if (m.down) {
        s.down_sha256 = m.down->sha256;
        s.down_drift_sha256 = m.down->drift_sha256();
        s.down_text = m.down->text;
    }
    return s;
}

Plan Engine::plan_up(const UpOptions& options, bool refuse_dirty) {
    files();
    auto a = analyze(false);
    if (refuse_dirty)
        require_not_dirty(a);
    Plan plan;
    plan.direction = "up";
    check_drift(a, plan);
    if (!a.ahead.empty()) {
        std::vector<std::string> incompatible;
        for (const auto& key : a.ahead) {
            const auto& row = a.state.at(key).row;
            if (!compatible_with_older(row.compat_class))
                incompatible.push_back(
                    row.version + "_" + row.name + " (" +
                    (row.compat_class.empty() ? "class unknown" : row.compat_class) + ")");
        }
        if (!incompatible.empty()) {
            throw Error(
                ExitCode::incompatible,
                "the database has migrations this release does not know, and they are not all "
                "expand-only: " +
                    text::join(incompatible, ", "),
                "this image is older than the schema: roll the app forward, or bring the schema "
                "back "
                "with `rollsafe rollback --to-release <this release>`");
        }
        plan.notes.push_back(
            std::to_string(a.ahead.size()) +
            " newer migration(s) in the database are expand-only: this release can run on them");
    }
    if (!a.out_of_order.empty() && !(options.allow_out_of_order || m_config.allow_out_of_order)) {
        std::vector<std::string> ids;
        for (auto* m : a.out_of_order)
            ids.push_back(m->id());
        throw usage_error(
            "out-of-order migration(s) " + text::join(ids, ", ") +
                " are older than the newest applied "
                "version " +
                a.newest_applied->text(),
            "rename them to a newer version, or pass --allow-out-of-order if they are independent");
    }
    std::optional<Version> to;
    if (options.to_version)
        to = parse_version_or_throw(*options.to_version);
    std::vector<const Migration*> chosen;
    for (auto* m : a.pending)
        if (!to || !(*to < m->version))
            chosen.push_back(m);
    // PostgreSQL's parser, on a few threads, for every pending script (the checks read the trees
    // kept in the scripts; the applied scripts they replay are parsed there, a batch at a time).
    std::vector<std::vector<Diagnostic>> sql_problems(chosen.size());
    parallel_for(
        chosen.size(),
        [&](std::size_t i) {
            // Owned by m_files, see parse().
            ensure_parsed(const_cast<Script&>(chosen[i]->up), sql_problems[i]);
        },
        16);
    std::vector<Diagnostic> problems;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        problems.insert(problems.end(), sql_problems[i].begin(), sql_problems[i].end());
        if (sql_problems[i].empty())
            executable_statements(chosen[i]->up, problems);
    }
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
    for (auto* m : chosen)
        plan.steps.push_back(plan_up_step(*m));
    if (m_hooks.check && m_config.check_level != "off" && !chosen.empty()) {
        EngineHooks::CheckRequest req;
        req.pending = chosen;
        for (const auto& m : files().migrations)
            if (a.state.count(m.version.key()))
                req.applied.push_back(&m);
        req.server_major = session().server_version() / 10000;
        auto report = m_hooks.check(req);
        if (!report.parse_errors.empty())
            throw Error(ExitCode::usage, report.parse_errors.front().location_and_message(), "",
                        report.parse_errors);
        // One lookup per verdict (a nested scan was quadratic: 42% of `up`'s CPU at 2,000).
        std::unordered_map<std::string, std::vector<PlannedStep*>> steps_by_id;
        for (auto& step : plan.steps)
            if (step.migration)
                steps_by_id[step.migration->id()].push_back(&step);
        for (const auto& v : report.migrations) {
            auto found = steps_by_id.find(v.migration);
            for (PlannedStep* sp :
                 found == steps_by_id.end() ? std::vector<PlannedStep*>() : found->second) {
                PlannedStep& step = *sp;
                step.compat_class = v.class_string();
                for (const auto& f : v.findings) {
                    if (!f.suppressed)
                        continue;
                    step.suppressions.push_back(
                        {{"rule", f.rule_id},
                         {"reason", f.suppression_reason},
                         {"position",
                          f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col)}});
                }
            }
            plan.findings.insert(plan.findings.end(), v.findings.begin(), v.findings.end());
        }
    }
    return plan;
}

std::vector<PlannedStep> Engine::plan_down_steps(const Analysis& a, const DownOptions& options,
                                                 Plan& plan) {
    std::vector<std::pair<Version, const AppliedVersion*>> applied;
    for (const auto& [key, av] : a.state) {
        if (av.state != AppliedVersion::State::applied)
            continue;
        if (auto v = Version::parse(av.row.version))
            applied.emplace_back(*v, &av);
    }
    std::sort(applied.begin(), applied.end(),
              [](const auto& x, const auto& y) { return y.first < x.first; });
    std::vector<const AppliedVersion*> targets;
    if (options.to_version) {
        auto to = parse_version_or_throw(*options.to_version);
        for (const auto& [v, av] : applied)
            if (to < v)
                targets.push_back(av);
    } else {
        for (std::size_t i = 0; i < applied.size() && static_cast<int>(i) < options.steps; ++i)
            targets.push_back(applied[i].second);
    }
    std::vector<PlannedStep> steps;
    std::vector<Diagnostic> drift;
    for (const auto* av : targets) {
        const auto& row = av->row;
        PlannedStep s;
        s.version = row.version;
        s.version_key = row.version_key;
        s.name = row.name;
        s.direction = "down";
        s.compat_class = row.compat_class;
        s.lock_timeout = m_config.lock_timeout;
        s.statement_timeout = m_config.statement_timeout;
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
            Script script =
                make_script("stored down script of " + id, *row.down_script, 1, problems);
            s.transactional = !script.no_transaction();
            if (auto* d = script.directive("lock-timeout"))
                s.lock_timeout = *parse_duration(d->value);
            if (auto* d = script.directive("statement-timeout"))
                s.statement_timeout = *parse_duration(d->value);
            s.down_sha256 = script.sha256;
            s.down_drift_sha256 = script.drift_sha256();
            s.statements = plan_statements(script, executable_statements(script, problems));
            if (!m)
                plan.notes.push_back(
                    id + ": file absent (older image); using the down script stored in history");
        } else {
            s.source = "file";
            const auto& script = *m->down;
            parse(script);
            s.down_text = script.text;
            s.transactional = !script.no_transaction();
            if (auto* d = script.directive("lock-timeout"))
                s.lock_timeout = *parse_duration(d->value);
            if (auto* d = script.directive("statement-timeout"))
                s.statement_timeout = *parse_duration(d->value);
            s.down_sha256 = script.sha256;
            s.down_drift_sha256 = script.drift_sha256();
            s.statements = plan_statements(script, executable_statements(script, problems));
        }
        if (!problems.empty())
            throw Error(ExitCode::usage, problems.front().location_and_message(),
                        problems.front().hint, problems);
        steps.push_back(std::move(s));
    }
    if (!drift.empty()) {
        throw Error(ExitCode::drift, drift.front().location_and_message(),
                    "choose explicitly: --use-file runs the file, --use-stored runs the text "
                    "stored at apply time",
                    drift);
    }
    return steps;
}

Plan Engine::plan_down(const DownOptions& options, bool refuse_dirty) {
    if (!options.to_version && options.steps <= 0)
        throw usage_error("down needs --to VERSION or --steps N", "e.g. rollsafe down --steps 1");
    files();
    auto a = analyze(true);
    if (refuse_dirty)
        require_not_dirty(a);
    Plan plan;
    plan.direction = "down";
    plan.steps = plan_down_steps(a, options, plan);
    plan.atomic = options.atomic;
    if (options.atomic) {
        for (const auto& s : plan.steps) {
            if (!s.transactional)
                throw usage_error("--atomic needs every down script to be transactional; " +
                                  s.version + "_" + s.name + " is marked no-transaction");
        }
    }
    return plan;
}

std::unique_ptr<MigrationLock> Engine::take_lock(const std::string& command) {
    auto lock = std::make_unique<MigrationLock>(
        [this] { return connect(); }, m_config.history_schema, m_config.lock_lease, command);
    bool ok = lock->acquire(session(), m_config.lock_wait, [&](const LockHolder& h) {
        say(lock_waiting_message(h, m_config.lock_wait));
    });
    if (!ok)
        throw lock_wait_error(read_lock_holder(session(), m_config.history_schema),
                              m_config.lock_wait);
    lock->on_lost([this] {
        std::lock_guard<std::mutex> g(m_cancel_mutex);
        if (m_running)
            m_running->cancel();
    });
    return lock;
}

HistoryRow Engine::base_row(const PlannedStep& step, const std::string& run_id) const {
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
    row.no_transaction = !step.transactional;
    row.os_user = actor.os_user;
    row.host = actor.host;
    row.pod = actor.pod;
    row.pid = actor.pid;
    row.compat_class = step.compat_class;
    row.details["statements"] = step.statements.size();
    row.details["source"] = step.source;
    if (!step.suppressions.empty())
        row.details["suppressed"] = step.suppressions;
    return row;
}

void Engine::record_failure(HistoryRow row) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            history_store().append(row);
            return;
        } catch (const db::DbError& e) {
            if (!e.connection_lost() || attempt == 1) {
                log::warn("could not record the failure in history: {}", e.what());
                return;
            }
            // The migration's connection is gone (e.g. pg_terminate_backend): use a new one.
            try {
                m_session = connect();
                m_history = std::make_unique<History>(*m_session, m_config.history_schema);
            } catch (const std::exception& ce) {
                log::warn("could not reconnect to record the failure: {}", ce.what());
                return;
            }
        }
    }
}

void Engine::set_freeze_after(const std::string& reason, const std::string& run_id,
                              const std::string& version, ExitCode code) {
    History::Freeze f;
    f.reason = reason;
    f.run_id = run_id;
    f.version = version;
    f.exit_code = static_cast<int>(code);
    auto actor = Actor::current();
    f.set_by = actor.os_user + "@" + actor.host;
    HistoryRow audit;
    audit.run_id = run_id;
    audit.op = "freeze";
    audit.version = version;
    audit.outcome = "frozen";
    audit.reason = reason;
    audit.os_user = actor.os_user;
    audit.host = actor.host;
    audit.pod = actor.pod;
    audit.pid = actor.pid;
    audit.details["exit_code"] = static_cast<int>(code);
    try {
        history_store().set_freeze(f, audit);
    } catch (const db::DbError& e) {
        if (!e.connection_lost())
            throw;
        m_session = connect();
        m_history = std::make_unique<History>(*m_session, m_config.history_schema);
        history_store().set_freeze(f, audit);
    }
    if (m_hooks.freeze_changed)
        m_hooks.freeze_changed(f);
    log::error("deployments are now frozen: {}", reason);
}

StepResult Engine::run_transactional(const PlannedStep& step, const HistoryRow& base,
                                     MigrationLock& lock, ExitCode& code, std::string& message) {
    StepResult res;
    res.version = step.version;
    res.name = step.name;
    res.direction = step.direction;
    res.compat_class = step.compat_class;
    auto t0 = Clock::now();
    Backoff backoff(m_config.lock_retry_budget);
    const std::string id = step.version + "_" + step.name;
    for (int attempt = 1;; ++attempt) {
        res.attempts = attempt;
        int current = -1;
        try {
            interrupt::check();
            // Round trips: BEGIN and the settings go with the first statement, the last
            // statement with the fence, the history row and COMMIT; a one-statement migration
            // is one round trip. A failure is still the statement's: the fence raises its own
            // SQLSTATE (RSL01), and the rest is rollsafe's own SQL.
            db::Transaction tx(
                session(),
                "RESET SESSION AUTHORIZATION; RESET ALL; SET LOCAL lock_timeout = " +
                    millis_setting(step.lock_timeout) +
                    "; SET LOCAL statement_timeout = " + millis_setting(step.statement_timeout),
                db::Transaction::Deferred{});
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = &session();
            }
            HistoryRow row = base;
            row.outcome = step.direction == "up" ? outcome::applied : outcome::rolled_back;
            row.details["attempts"] = attempt;
            std::string last = lock.fence_sql() + "; " + history_store().insert_sql(row);
            for (std::size_t i = 0; i < step.statements.size(); ++i) {
                const auto& st = step.statements[i];
                current = st.index;
                if (interrupt::requested() || lock.lost())
                    throw db::DbError("canceled", "57014", false);
                if (i + 1 < step.statements.size())
                    tx.exec(st.text);
                else
                    last = st.text + "\n;\n" + last;
            }
            if (step.statements.empty())
                current = -1;
            tx.commit(last);
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = nullptr;
            }
            res.outcome = row.outcome;
            res.duration_ms = ms_since(t0);
            return res;
        } catch (const db::DbError& e) {
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = nullptr;
            }
            const PlannedStatement* failed =
                current >= 0 ? &step.statements[static_cast<std::size_t>(current)] : nullptr;
            res.position = failed ? failed->position : "";
            res.error = e.what();
            res.duration_ms = ms_since(t0);
            res.outcome = outcome::failed;
            HistoryRow row = base;
            row.outcome = outcome::failed;
            row.error = e.what();
            row.error_statement = current;
            row.error_position = res.position;
            row.details["attempts"] = attempt;
            row.details["sqlstate"] = e.sqlstate();
            if (interrupt::requested()) {
                code = ExitCode::interrupted;
                message =
                    id + " was interrupted; its transaction rolled back, nothing of it is applied";
                row.error = "interrupted by signal " + std::to_string(interrupt::signal_number());
                res.error = row.error;
                row.details["exit_code"] = static_cast<int>(code);
                record_failure(row);
                return res;
            }
            if (e.sqlstate() == "RSL01" || lock.lost()) {
                code = ExitCode::locked;
                message =
                    id + " rolled back: this process lost the migration lock (its lease expired)";
                return res;
            }
            if (e.lock_timeout()) {
                log::warn(
                    "{}: lock_timeout ({}) waiting for a lock{}; retrying in about {} (attempt {})",
                    id, format_duration(step.lock_timeout),
                    failed ? " at " + failed->position : std::string(),
                    format_duration(backoff.next()), attempt);
                if (backoff.wait())
                    continue;
                code = ExitCode::busy;
                message = id + " could not take its locks within lock_timeout " +
                          format_duration(step.lock_timeout) + " over " + std::to_string(attempt) +
                          " attempts (budget " + format_duration(m_config.lock_retry_budget) +
                          "); nothing changed";
                row.details["exit_code"] = static_cast<int>(code);
                record_failure(row);
                return res;
            }
            code = ExitCode::failed_clean;
            message = id + " failed" +
                      (failed ? " at " + failed->position : std::string(" at commit")) + ": " +
                      e.what() + "; its transaction rolled back";
            row.details["exit_code"] = static_cast<int>(code);
            record_failure(row);
            return res;
        }
    }
}

StepResult Engine::run_statement_by_statement(const PlannedStep& step, const HistoryRow& base,
                                              MigrationLock& lock, ExitCode& code,
                                              std::string& message, int resume_from,
                                              bool resuming) {
    StepResult res;
    res.version = step.version;
    res.name = step.name;
    res.direction = step.direction;
    res.compat_class = step.compat_class;
    auto t0 = Clock::now();
    const std::string id = step.version + "_" + step.name;
    auto& h = history_store();
    HistoryRow started = base;
    started.started_at = session()
                             .exec(
                                 "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
                             .get(0, 0);
    if (!resuming) {
        started.outcome = outcome::started;
        h.append(started);
    }
    // Session-level timeouts: these statements cannot run inside a transaction block.
    session().exec("RESET SESSION AUTHORIZATION; RESET ALL; SET lock_timeout = " +
                   millis_setting(step.lock_timeout) +
                   "; SET statement_timeout = " + millis_setting(step.statement_timeout));
    int current = resume_from;
    for (std::size_t i = static_cast<std::size_t>(resume_from); i < step.statements.size(); ++i) {
        const auto& st = step.statements[i];
        current = st.index;
        Backoff backoff(m_config.lock_retry_budget);
        while (true) {
            try {
                interrupt::check();
                if (lock.lost())
                    throw db::DbError("lost the migration lock", "RSL01", false);
                if (!st.concurrent_index.empty()) {
                    // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: drop it
                    // first.
                    auto r = session().exec_params(
                        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM "
                        "pg_index i "
                        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace "
                        "WHERE c.relname = $1 AND NOT i.indisvalid AND i.indrelid = "
                        "to_regclass($2)",
                        {st.concurrent_index, st.concurrent_index_table});
                    if (!r.empty()) {
                        say("dropping the INVALID index " + r.get(0, 0) +
                            " left by an earlier failed build");
                        session().exec("DROP INDEX CONCURRENTLY IF EXISTS " + r.get(0, 0));
                    }
                }
                {
                    std::lock_guard<std::mutex> g(m_cancel_mutex);
                    m_running = &session();
                }
                session().exec(st.text);
                {
                    std::lock_guard<std::mutex> g(m_cancel_mutex);
                    m_running = nullptr;
                }
                session().exec(
                    h.progress_sql(base.run_id, step.version_key, st.index, st.position));
                break;
            } catch (const db::DbError& e) {
                {
                    std::lock_guard<std::mutex> g(m_cancel_mutex);
                    m_running = nullptr;
                }
                bool first = static_cast<int>(i) == 0 && !resuming;
                bool changed_nothing =
                    first && st.concurrent_index.empty() && st.kind != "IndexStmt";
                if (e.lock_timeout() && !interrupt::requested()) {
                    log::warn("{}: lock_timeout at {}; retrying in about {}", id, st.position,
                              format_duration(backoff.next()));
                    if (backoff.wait())
                        continue;
                }
                HistoryRow row = base;
                row.error = e.what();
                row.error_statement = current;
                row.error_position = st.position;
                row.started_at = started.started_at;
                res.error = e.what();
                res.position = st.position;
                res.duration_ms = ms_since(t0);
                if (changed_nothing) {
                    // The first statement failed on its own: nothing of this migration is applied.
                    row.outcome = outcome::aborted;
                    res.outcome = outcome::failed;
                    if (interrupt::requested()) {
                        code = ExitCode::interrupted;
                        message = id +
                                  " was interrupted before its first statement completed; nothing "
                                  "changed";
                    } else if (e.sqlstate() == "RSL01" || lock.lost()) {
                        code = ExitCode::locked;
                        message = id + ": this process lost the migration lock; nothing changed";
                    } else if (e.lock_timeout()) {
                        code = ExitCode::busy;
                        message = id + " could not take its locks within the retry budget at " +
                                  st.position + "; nothing changed";
                    } else {
                        code = ExitCode::failed_clean;
                        message = id + " failed at " + st.position + ": " + e.what() +
                                  "; nothing of it was applied";
                    }
                    row.details["exit_code"] = static_cast<int>(code);
                    record_failure(row);
                    return res;
                }
                row.outcome = outcome::failed_dirty;
                res.outcome = outcome::failed_dirty;
                code = ExitCode::failed_dirty;
                row.details["exit_code"] = static_cast<int>(code);
                record_failure(row);
                message =
                    id + " failed at " + st.position + " (statement " +
                    std::to_string(current + 1) + " of " + std::to_string(step.statements.size()) +
                    ", outside a transaction): " + e.what() + "; statements before it stay applied";
                set_freeze_after(message, base.run_id, step.version, code);
                return res;
            }
        }
    }
    try {
        session().exec("RESET lock_timeout; RESET statement_timeout");
        db::Transaction tx(session());
        HistoryRow row = base;
        row.started_at = started.started_at;
        row.outcome = step.direction == "up" ? outcome::applied : outcome::rolled_back;
        if (resuming) {
            row.op = "repair";
            row.outcome = outcome::applied;
            row.details["resumed_from_statement"] = resume_from;
        }
        tx.commit(lock.fence_sql() + "; " + h.insert_sql(row));
        res.outcome = row.outcome;
    } catch (const db::DbError& e) {
        HistoryRow row = base;
        row.outcome = outcome::failed_dirty;
        row.error = std::string("could not record completion: ") + e.what();
        code = e.sqlstate() == "RSL01" ? ExitCode::locked : ExitCode::failed_dirty;
        row.details["exit_code"] = static_cast<int>(code);
        record_failure(row);
        message = id + ": every statement ran, but recording it failed: " + e.what();
        if (code == ExitCode::failed_dirty)
            set_freeze_after(message, base.run_id, step.version, code);
        res.outcome = outcome::failed_dirty;
    }
    res.duration_ms = ms_since(t0);
    return res;
}

StepResult Engine::run_step(const PlannedStep& step, const std::string& run_id,
                            const std::string& release, const std::string& snapshot_id,
                            MigrationLock& lock, ExitCode& code, std::string& message) {
    HistoryRow base = base_row(step, run_id);
    base.release = release;
    base.snapshot_id = snapshot_id;
    say((step.direction == "up" ? "applying " : "reverting ") + step.version + "_" + step.name +
        (step.transactional ? "" : " (no transaction: statement by statement)") +
        (step.source == "stored" ? " (stored down script)" : ""));
    if (step.transactional)
        return run_transactional(step, base, lock, code, message);
    return run_statement_by_statement(step, base, lock, code, message, 0, false);
}

std::unique_ptr<MigrationLock> Engine::prepare_run(const std::string& command, RunResult& res,
                                                   const std::function<Plan()>& make_plan) {
    history_store().ensure();
    require_not_frozen();
    auto lock = take_lock(command);
    // Planned under the lock: what another migrator did while we waited is taken into account.
    // The plan reads the history once and refuses a dirty version from it.
    res.plan = make_plan();
    for (const auto& w : res.plan.warnings)
        log::warn("{}", w);
    for (const auto& n : res.plan.notes)
        say(n);
    return lock;
}

std::string Engine::snapshot_before(const std::string& direction, const RunResult& res) {
    // The hook decides, also under snapshot.mode = none: a migration's own
    // `-- rollsafe:snapshot=full|touched` directive still asks for one.
    if (!m_hooks.snapshot)
        return "";
    SnapshotRequest req{direction, res.run_id, "", {}};
    for (const auto& s : res.plan.steps)
        req.steps.push_back(&s);
    return m_hooks.snapshot(session(), req);
}

interrupt::Hook Engine::cancel_on_interrupt() {
    return interrupt::on_interrupt([this] {
        std::lock_guard<std::mutex> g(m_cancel_mutex);
        if (m_running)
            m_running->cancel();
    });
}

RunResult Engine::up(const UpOptions& options) {
    RunResult res;
    res.run_id = new_run_id();
    files();
    if (options.dry_run) {
        res.plan = plan_up(options);
        res.nothing_to_do = res.plan.steps.empty();
        return res;
    }
    auto lock = prepare_run(options.command, res, [&] { return plan_up(options, true); });
    if (res.plan.steps.empty()) {
        res.nothing_to_do = true;
        res.message = "nothing to do: every migration is applied";
        if (!options.release.empty())
            record_release(options.release, res.run_id);
        return res;
    }
    // Blocking findings stop the run before anything changes.
    std::vector<const check::Finding*> blocking;
    for (const auto& f : res.plan.findings)
        if (f.severity == check::Severity::error && !f.suppressed)
            blocking.push_back(&f);
    if (!blocking.empty() && m_config.check_level == "error") {
        res.code = ExitCode::check_failed;
        const auto& f = *blocking.front();
        res.message = std::to_string(blocking.size()) + " blocking finding(s); first: " + f.file +
                      ":" + std::to_string(f.line) + ":" + std::to_string(f.col) + ": " +
                      f.rule_id + ": " + f.message;
        res.hint = "see `rollsafe check`; fix the migration, or allow it with -- rollsafe:allow=" +
                   f.rule_id + " reason=\"...\"";
        return res;
    }
    res.snapshot_id = snapshot_before("up", res);
    auto hook = cancel_on_interrupt();
    for (const auto& step : res.plan.steps) {
        // Record which findings were suppressed, so history shows who allowed what.
        PlannedStep s = step;
        ExitCode code = ExitCode::ok;
        std::string message;
        auto result =
            run_step(s, res.run_id, options.release, res.snapshot_id, *lock, code, message);
        res.steps.push_back(result);
        if (code != ExitCode::ok) {
            res.code = code;
            res.message = message;
            if (code == ExitCode::failed_clean) {
                res.hint =
                    "the database is at the last good version; fix the migration and deploy again";
                if (m_config.freeze_on_failed_clean)
                    set_freeze_after(message, res.run_id, step.version, code);
            } else if (code == ExitCode::failed_dirty) {
                res.hint = "fix the cause, then `rollsafe repair --resume --version " +
                           step.version +
                           " --reason \"...\"` and `rollsafe unfreeze --reason \"...\"`";
            } else if (code == ExitCode::interrupted) {
                res.hint = "re-running is safe";
            } else if (code == ExitCode::busy) {
                res.hint =
                    "another transaction holds a lock on the table; retry off-peak, or raise "
                    "timeouts.lock_retry_budget";
            }
            return res;
        }
        say("applied " + step.version + "_" + step.name + " in " +
            human_duration(Millis(result.duration_ms)));
        if (interrupt::requested()) {
            res.code = ExitCode::interrupted;
            res.message = "interrupted after " + step.version + "_" + step.name + " was applied";
            res.hint = "re-running is safe";
            return res;
        }
    }
    res.message = "applied " + std::to_string(res.steps.size()) + " migration(s)";
    if (!options.release.empty())
        record_release(options.release, res.run_id);
    return res;
}

RunResult Engine::run_atomic_down(const Plan& plan, const std::string& run_id,
                                  const std::string& snapshot_id, const DownOptions& options,
                                  MigrationLock& lock) {
    RunResult res;
    res.run_id = run_id;
    res.plan = plan;
    res.snapshot_id = snapshot_id;
    auto t0 = Clock::now();
    Millis lock_timeout = m_config.lock_timeout, statement_timeout = m_config.statement_timeout;
    for (const auto& s : plan.steps) {
        lock_timeout = std::max(lock_timeout, s.lock_timeout);
        statement_timeout = std::max(statement_timeout, s.statement_timeout);
    }
    Backoff backoff(m_config.lock_retry_budget);
    for (int attempt = 1;; ++attempt) {
        const PlannedStatement* failed = nullptr;
        try {
            db::Transaction tx(
                session(), "RESET SESSION AUTHORIZATION; RESET ALL; SET LOCAL lock_timeout = " +
                               millis_setting(lock_timeout) + "; SET LOCAL statement_timeout = " +
                               millis_setting(statement_timeout));
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = &session();
            }
            std::string rows = lock.fence_sql();
            for (const auto& step : plan.steps) {
                say("reverting " + step.version + "_" + step.name + " (atomic)");
                for (const auto& st : step.statements) {
                    failed = &st;
                    if (interrupt::requested() || lock.lost())
                        throw db::DbError("canceled", "57014", false);
                    session().exec(st.text);
                }
                HistoryRow row = base_row(step, run_id);
                row.snapshot_id = snapshot_id;
                row.release = options.release;
                row.reason = options.reason;
                row.outcome = outcome::rolled_back;
                row.details["atomic"] = true;
                rows += "; " + history_store().insert_sql(row);
                res.steps.push_back({step.version, step.name, "down", outcome::rolled_back, 0,
                                     attempt, "", "", step.compat_class});
            }
            failed = nullptr;
            tx.commit(rows);
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = nullptr;
            }
            for (auto& s : res.steps)
                s.duration_ms = ms_since(t0);
            res.message =
                "reverted " + std::to_string(res.steps.size()) + " migration(s) in one transaction";
            return res;
        } catch (const db::DbError& e) {
            {
                std::lock_guard<std::mutex> g(m_cancel_mutex);
                m_running = nullptr;
            }
            res.steps.clear();
            if (interrupt::requested()) {
                res.code = ExitCode::interrupted;
                res.message = "interrupted; the down transaction rolled back, nothing changed";
                return res;
            }
            if (e.sqlstate() == "RSL01" || lock.lost()) {
                res.code = ExitCode::locked;
                res.message = "lost the migration lock; the down transaction rolled back";
                return res;
            }
            if (e.lock_timeout() && backoff.wait())
                continue;
            res.code = e.lock_timeout() ? ExitCode::busy : ExitCode::failed_clean;
            res.message = "atomic down failed" +
                          (failed ? " at " + failed->position : std::string()) + ": " + e.what() +
                          "; nothing changed";
            return res;
        }
    }
}

RunResult Engine::down(const DownOptions& options) {
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
    auto lock = prepare_run(options.command, res, [&] { return plan_down(options, true); });
    if (res.plan.steps.empty()) {
        res.nothing_to_do = true;
        res.message = "nothing to do: no applied migration is newer than the target";
        return res;
    }
    res.snapshot_id = snapshot_before("down", res);
    auto hook = cancel_on_interrupt();
    if (options.atomic) {
        auto r = run_atomic_down(res.plan, res.run_id, res.snapshot_id, options, *lock);
        return r;
    }
    for (const auto& step : res.plan.steps) {
        ExitCode code = ExitCode::ok;
        std::string message;
        HistoryRow base = base_row(step, res.run_id);
        base.release = options.release;
        base.snapshot_id = res.snapshot_id;
        base.reason = options.reason;
        say("reverting " + step.version + "_" + step.name +
            (step.source == "stored" ? " (stored down script)" : ""));
        auto result = step.transactional
                          ? run_transactional(step, base, *lock, code, message)
                          : run_statement_by_statement(step, base, *lock, code, message, 0, false);
        res.steps.push_back(result);
        if (code != ExitCode::ok) {
            res.code = code;
            res.message = message;
            if (code == ExitCode::failed_clean)
                res.hint = "the database is where the previous down left it";
            if (code == ExitCode::failed_dirty)
                res.hint = "part of the down ran outside a transaction: repair it, then unfreeze";
            return res;
        }
        say("reverted " + step.version + "_" + step.name + " in " +
            human_duration(Millis(result.duration_ms)));
        if (interrupt::requested()) {
            res.code = ExitCode::interrupted;
            res.message = "interrupted after reverting " + step.version + "_" + step.name;
            res.hint = "re-running is safe";
            return res;
        }
    }
    res.message = "reverted " + std::to_string(res.steps.size()) + " migration(s)";
    return res;
}

std::set<std::string> StatusReport::applied_keys() const {
    std::set<std::string> keys;
    for (const auto& e : entries)
        if (e.state == "applied" || e.state == "dirty")
            keys.insert(e.version_key);
    return keys;
}

StatusReport Engine::status() {
    StatusReport rep;
    rep.database = Dsn::parse(m_config.database_url).display();
    // The files are read while the database answers (status only reads, so connecting before
    // the files are known to be good changes nothing); a problem in the files still comes first.
    prefetch_files();
    // Everything the database has to say is asked before waiting for the files.
    std::map<std::string, AppliedVersion> state;
    try {
        auto& h = history_store();
        rep.initialized = h.exists();
        if (rep.initialized) {
            state = h.status_state();
            rep.freeze = h.freeze();
            rep.lock = read_lock_holder(session(), m_config.history_schema);
        }
    } catch (...) {
        files();
        throw;
    }
    rep.lockfile = read_lockfile(m_config.lockfile_path);
    // The whitespace-insensitive checksums are read only for the versions whose scripts changed.
    Analysis a = analyze_state(std::move(state), [this](auto& st, const auto& keys) {
        history_store().read_drift_checksums(st, keys);
    });
    fill_status(a, files(), rep);
    return rep;
}

std::vector<HistoryRow> Engine::history(const History::Filter& filter) {
    auto& h = history_store();
    if (!h.exists())
        return {};
    return h.rows(filter);
}

RunResult Engine::baseline_version(const std::string& version, const std::string& reason,
                                   bool dry_run) {
    RunResult res;
    res.run_id = new_run_id();
    auto to = parse_version_or_throw(version);
    files();
    if (!files().find(to))
        throw usage_error("no migration file has version " + version,
                          "baseline to a version that exists in the folder");
    if (!dry_run)
        history_store().ensure();
    auto a = analyze(false);
    Plan plan;
    plan.direction = "baseline";
    for (auto* m : a.pending) {
        if (to < m->version)
            continue;
        plan.steps.push_back(plan_up_step(*m));
    }
    res.plan = plan;
    if (dry_run || plan.steps.empty()) {
        res.nothing_to_do = plan.steps.empty();
        res.message = plan.steps.empty() ? "nothing to baseline" : "";
        return res;
    }
    auto lock = take_lock("baseline");
    db::Transaction tx(session());
    std::string rows = lock->fence_sql();
    for (const auto& step : plan.steps) {
        HistoryRow row = base_row(step, res.run_id);
        row.op = "baseline";
        row.outcome = outcome::baselined;
        row.reason = reason;
        rows += "; " + history_store().insert_sql(row);
        res.steps.push_back({step.version, step.name, "baseline", outcome::baselined, 0, 1, "", "",
                             step.compat_class});
    }
    tx.commit(rows);
    res.message =
        "baselined " + std::to_string(plan.steps.size()) + " migration(s) up to " + version;
    return res;
}

RunResult Engine::baseline_from(const std::string& tool, const std::string& table_in,
                                const std::string& reason, bool dry_run) {
    RunResult res;
    res.run_id = new_run_id();
    files();
    auto& s = session();
    std::string table = table_in;
    if (table.empty())
        table = tool == "flyway" ? "flyway_schema_history" : "schema_migrations";
    auto reg = s.exec_params("SELECT to_regclass($1)::text", {table});
    if (reg.empty() || !reg.rows[0][0])
        throw usage_error("no table " + table + " in the database for " + tool,
                          "name it with --from-table (schema.table) if it lives elsewhere");
    std::string qualified = *reg.rows[0][0];
    std::set<std::string> applied_keys;
    if (tool == "golang-migrate") {
        auto r = s.exec("SELECT version::text, dirty FROM " + qualified + " LIMIT 1");
        if (r.empty())
            throw usage_error(qualified + " is empty: golang-migrate applied nothing");
        if (r.get(0, 1) == "t")
            throw Error(ExitCode::failed_dirty,
                        "golang-migrate marks version " + r.get(0, 0) + " dirty",
                        "finish or undo that migration by hand, clear golang-migrate's dirty flag, "
                        "then baseline");
        auto v = parse_version_or_throw(r.get(0, 0));
        for (const auto& m : files().migrations)
            if (m.version <= v)
                applied_keys.insert(m.version.key());
    } else if (tool == "dbmate") {
        auto r = s.exec("SELECT version::text FROM " + qualified);
        for (std::size_t i = 0; i < r.size(); ++i)
            if (auto v = Version::parse(r.get(i, 0)))
                applied_keys.insert(v->key());
    } else if (tool == "flyway") {
        auto r = s.exec("SELECT DISTINCT ON (version) version, type, success FROM " + qualified +
                        " WHERE version IS NOT NULL ORDER BY version, installed_rank DESC");
        for (std::size_t i = 0; i < r.size(); ++i) {
            auto v = Version::parse(r.get(i, 0));
            bool undo = text::starts_with(r.get(i, 1), "UNDO");
            if (v && r.get(i, 2) == "t" && !undo)
                applied_keys.insert(v->key());
        }
    } else {
        throw usage_error("unknown tool \"" + tool + "\"", "use golang-migrate, dbmate or flyway");
    }
    if (!dry_run)
        history_store().ensure();
    auto a = analyze(false);
    Plan plan;
    plan.direction = "baseline";
    std::set<std::string> known;
    for (const auto& m : files().migrations) {
        known.insert(m.version.key());
        if (applied_keys.count(m.version.key()) && !a.state.count(m.version.key()))
            plan.steps.push_back(plan_up_step(m));
    }
    for (const auto& k : applied_keys)
        if (!known.count(k))
            plan.warnings.push_back(tool + " records version " + k + ", which has no file here");
    res.plan = plan;
    for (const auto& w : plan.warnings)
        log::warn("{}", w);
    if (dry_run || plan.steps.empty()) {
        res.nothing_to_do = plan.steps.empty();
        res.message = plan.steps.empty() ? "nothing to import" : "";
        return res;
    }
    auto lock = take_lock("baseline");
    db::Transaction tx(session());
    std::string rows = lock->fence_sql();
    for (const auto& step : plan.steps) {
        HistoryRow row = base_row(step, res.run_id);
        row.op = "baseline";
        row.outcome = outcome::baselined;
        row.reason = reason.empty() ? "imported from " + tool : reason;
        row.details["imported_from"] = tool;
        row.details["table"] = qualified;
        rows += "; " + history_store().insert_sql(row);
        res.steps.push_back(
            {step.version, step.name, "baseline", outcome::baselined, 0, 1, "", "", ""});
    }
    tx.commit(rows);
    res.message = "imported " + std::to_string(plan.steps.size()) + " applied migration(s) from " +
                  tool + " (" + qualified + ")";
    return res;
}

RunResult Engine::repair(RepairAction action, const std::string& version, const std::string& reason,
                         bool dry_run) {
    RunResult res;
    if (text::trim(reason).empty())
        throw usage_error("repair needs --reason \"...\" for the audit trail");
    auto v = parse_version_or_throw(version);
    files();
    history_store().ensure();
    auto lock = dry_run ? nullptr : take_lock("repair");
    auto a = analyze(true);
    auto it = a.state.find(v.key());
    if (it == a.state.end() || it->second.state != AppliedVersion::State::dirty)
        throw usage_error("migration " + version + " is not dirty; nothing to repair",
                          "rollsafe status lists dirty migrations");
    const HistoryRow& dirty = it->second.row;
    res.run_id = dirty.run_id;
    const Migration* m = files().find(v);
    HistoryRow row = dirty;
    row.op = "repair";
    row.reason = reason;
    row.error.clear();
    row.error_position.clear();
    row.error_statement = -1;
    row.started_at.clear();
    auto actor = Actor::current();
    row.os_user = actor.os_user;
    row.host = actor.host;
    row.pod = actor.pod;
    row.pid = actor.pid;
    if (action == RepairAction::resume) {
        if (!m)
            throw usage_error("no file for " + version + ": --resume needs the migration file");
        if (m->up.sha256 != dirty.up_sha256 && m->up.drift_sha256() != dirty.up_drift_sha256)
            res.plan.warnings.push_back(
                m->up.path + " changed since the failed run: resuming with the file as it is now");
        auto done = history_store().progress(dirty.run_id);
        int resume_from = 0;
        while (std::find(done.begin(), done.end(), resume_from) != done.end())
            ++resume_from;
        PlannedStep step = plan_up_step(*m);
        res.plan.direction = "up";
        res.plan.steps.push_back(step);
        res.plan.notes.push_back("resuming " + m->id() + " at statement " +
                                 std::to_string(resume_from + 1) + " of " +
                                 std::to_string(step.statements.size()));
        if (dry_run)
            return res;
        for (const auto& n : res.plan.notes)
            say(n);
        HistoryRow base = base_row(step, dirty.run_id);
        base.op = "repair";
        base.reason = reason;
        base.release = dirty.release;
        base.snapshot_id = dirty.snapshot_id;
        auto hook = cancel_on_interrupt();
        ExitCode code = ExitCode::ok;
        std::string message;
        auto result =
            run_statement_by_statement(step, base, *lock, code, message, resume_from, true);
        res.steps.push_back(result);
        res.code = code;
        res.message = code == ExitCode::ok ? "resumed and completed " + m->id() : message;
        if (code == ExitCode::ok)
            res.hint = "if deployments are frozen: rollsafe unfreeze --reason \"...\"";
        return res;
    }
    row.outcome = action == RepairAction::mark_applied ? outcome::marked_applied
                                                       : outcome::marked_rolled_back;
    res.plan.notes.push_back("mark " + dirty.version + "_" + dirty.name + " as " +
                             (action == RepairAction::mark_applied ? "applied" : "rolled back"));
    if (dry_run)
        return res;
    db::Transaction tx(session());
    tx.commit(lock->fence_sql() + "; " + history_store().insert_sql(row));
    res.steps.push_back(
        {dirty.version, dirty.name, "repair", row.outcome, 0, 1, "", "", dirty.compat_class});
    res.message = "marked " + dirty.version + "_" + dirty.name + " " + row.outcome;
    res.hint = "if deployments are frozen: rollsafe unfreeze --reason \"...\"";
    return res;
}

bool Engine::unfreeze(const std::string& reason) {
    if (text::trim(reason).empty())
        throw usage_error("unfreeze needs --reason \"...\" for the audit trail");
    auto& h = history_store();
    h.ensure();
    auto f = h.freeze();
    if (!f)
        return false;
    auto actor = Actor::current();
    HistoryRow audit;
    audit.run_id = new_run_id();
    audit.op = "unfreeze";
    audit.outcome = "unfrozen";
    audit.reason = reason;
    audit.version = f->version;
    audit.os_user = actor.os_user;
    audit.host = actor.host;
    audit.pod = actor.pod;
    audit.pid = actor.pid;
    audit.details["freeze_reason"] = f->reason;
    audit.details["frozen_at"] = f->set_at;
    h.clear_freeze(audit);
    if (m_hooks.freeze_changed)
        m_hooks.freeze_changed(std::nullopt);
    return true;
}

void Engine::freeze(const std::string& reason) {
    if (text::trim(reason).empty())
        throw usage_error("freeze needs --reason \"...\"");
    history_store().ensure();
    set_freeze_after(reason, new_run_id(), "", ExitCode::frozen);
}

void Engine::record_release(const std::string& release, const std::string& run_id) {
    auto a = analyze(false);
    std::string version = a.newest_applied ? a.newest_applied->text() : "";
    std::string key = a.newest_applied ? a.newest_applied->key() : "";
    auto catalog = read_catalog(session(), {m_config.history_schema});
    auto fp = catalog.fingerprint();
    auto& h = history_store();
    HistoryRow row;
    auto actor = Actor::current();
    row.run_id = run_id;
    row.op = "release";
    row.outcome = "deployed";
    row.release = release;
    row.version = version;
    row.os_user = actor.os_user;
    row.host = actor.host;
    row.pod = actor.pod;
    row.pid = actor.pid;
    row.details["fingerprint"] = fp;
    db::Transaction tx(session());
    session().exec("INSERT INTO " + h.table("releases") +
                   " (release, version, version_key, fingerprint, catalog, run_id) VALUES (" +
                   sql_literal(release) + ", " + sql_literal(version) + ", " + sql_literal(key) +
                   ", " + sql_literal(fp) + ", " + sql_literal(catalog.to_json().dump()) +
                   "::jsonb, " + sql_literal(run_id) + ")");
    tx.commit(h.insert_sql(row));
    say("recorded release " + release + " at schema version " +
        (version.empty() ? "(none)" : version) + " (catalog " + fp.substr(0, 12) + ")");
}

std::optional<ReleaseRecord> Engine::recorded_release(const std::string& release, bool with_catalog,
                                                      nlohmann::json* catalog) {
    auto& h = history_store();
    if (!h.exists())
        return std::nullopt;
    auto r = session().exec_params(
        "SELECT release, version, fingerprint, to_char(deployed_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), run_id" +
            std::string(with_catalog ? ", catalog::text" : "") + " FROM " + h.table("releases") +
            " WHERE release = $1 ORDER BY id DESC LIMIT 1",
        {release});
    if (r.empty())
        return std::nullopt;
    if (with_catalog && catalog)
        *catalog = nlohmann::json::parse(r.get(0, 5, "{}"), nullptr, false);
    return ReleaseRecord{r.get(0, 0), r.get(0, 1), r.get(0, 2), r.get(0, 3), r.get(0, 4)};
}

std::vector<ReleaseRecord> Engine::releases() {
    std::vector<ReleaseRecord> out;
    auto& h = history_store();
    if (!h.exists())
        return out;
    auto r = session().exec(
        "SELECT release, version, fingerprint, to_char(deployed_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), run_id FROM " +
        h.table("releases") + " ORDER BY id");
    for (std::size_t i = 0; i < r.size(); ++i)
        out.push_back({r.get(i, 0), r.get(i, 1), r.get(i, 2), r.get(i, 3), r.get(i, 4)});
    return out;
}

GateResult Engine::gate(const GateOptions& options) {
    GateResult g;
    g.release = options.release;
    const auto& set = files();
    if (set.migrations.empty())
        throw usage_error("no migrations in " + set.dir,
                          "gate compares the schema with this image's migration files");
    Version needs = set.migrations.back().version;
    auto rel = read_releases(releases_path_for(m_config.migrations_dir));
    if (!options.release.empty()) {
        if (const Release* r = rel.find(options.release)) {
            needs = r->version;
        } else if (rel.exists) {
            throw usage_error(
                "release " + options.release + " is not in " + rel.path,
                "add it: \"" + options.release + "\" = \"<last migration version it ships>\"");
        }
    }
    g.needs_version = needs.text();
    std::set<std::string> known;
    for (const auto& m : set.migrations)
        known.insert(m.version.key());
    auto deadline = Clock::now() + options.wait;
    Millis backoff{250};
    std::string last_error;
    while (true) {
        ++g.polls;
        interrupt::check();
        g.missing.clear();
        g.incompatible.clear();
        bool reachable = true;
        try {
            if (!m_session) {
                db::ConnectOptions o;
                o.connect_timeout = m_config.connect_timeout;
                o.retries = 1;
                m_session = db::connect(Dsn::parse(m_config.database_url), o);
                m_history = std::make_unique<History>(*m_session, m_config.history_schema);
            }
            auto& h = *m_history;
            bool initialized = h.exists();
            if (initialized) {
                if (auto f = h.freeze()) {
                    g.code = ExitCode::frozen;
                    g.message = "deployments are frozen since " + f->set_at + ": " + f->reason;
                    g.hint =
                        "a person must look: rollsafe status, then rollsafe unfreeze --reason "
                        "\"...\"";
                    return g;
                }
            }
            std::map<std::string, AppliedVersion> state;
            if (initialized)
                state = h.state(false);
            std::optional<Version> newest;
            for (const auto& [key, av] : state) {
                auto v = Version::parse(av.row.version);
                if (!v)
                    continue;
                if (!newest || *newest < *v)
                    newest = *v;
                if (av.state == AppliedVersion::State::dirty) {
                    g.code = ExitCode::frozen;
                    g.message = "migration " + av.row.version + "_" + av.row.name +
                                " is dirty (part-applied)";
                    g.hint = "a person must repair it: rollsafe repair --version " + av.row.version;
                    return g;
                }
                if (needs < *v || !known.count(key)) {
                    if (!compatible_with_older(av.row.compat_class))
                        g.incompatible.push_back(
                            av.row.version + "_" + av.row.name + " (" +
                            (av.row.compat_class.empty() ? "class unknown" : av.row.compat_class) +
                            ")");
                }
            }
            g.schema_version = newest ? newest->text() : "";
            if (!g.incompatible.empty()) {
                g.code = ExitCode::incompatible;
                g.message =
                    "the schema has migrations release " +
                    (options.release.empty() ? std::string("(this image)") : options.release) +
                    " cannot run against: " + text::join(g.incompatible, ", ");
                g.hint = "roll the app forward, or run `rollsafe rollback --to-release " +
                         (options.release.empty() ? std::string("<release>") : options.release) +
                         "`";
                return g;
            }
            for (const auto& m : set.migrations) {
                if (needs < m.version)
                    break;
                if (!state.count(m.version.key()))
                    g.missing.push_back(m.id());
            }
            if (g.missing.empty()) {
                g.code = ExitCode::ok;
                g.message =
                    "schema is ready for " +
                    (options.release.empty() ? std::string("this image") : options.release) +
                    " (needs " + g.needs_version + ", schema at " +
                    (g.schema_version.empty() ? "(none)" : g.schema_version) + ")";
                return g;
            }
        } catch (const Error& e) {
            if (e.code() != ExitCode::unavailable)
                throw;
            reachable = false;
            last_error = e.what();
            m_session.reset();
            m_history.reset();
        } catch (const db::DbError& e) {
            if (!e.connection_lost())
                throw;
            reachable = false;
            last_error = e.what();
            m_session.reset();
            m_history.reset();
        }
        if (Clock::now() >= deadline) {
            if (!reachable) {
                g.code = ExitCode::unavailable;
                g.message = last_error;
                g.hint = "the database could not be reached within --wait";
            } else {
                g.code = ExitCode::not_ready;
                g.message = "schema is behind: " + std::to_string(g.missing.size()) +
                            " migration(s) not applied yet (" + text::join(g.missing, ", ") + ")";
                g.hint = "let the migration Job finish (rollsafe up), or wait longer with --wait";
            }
            return g;
        }
        if (g.polls == 1 && reachable)
            say("waiting for the schema: " + std::to_string(g.missing.size()) +
                " migration(s) to go");
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (!interrupt::sleep_for(std::min(backoff, left)))
            interrupt::check();
        backoff =
            std::min(Millis(static_cast<long long>(static_cast<double>(backoff.count()) * 1.5)),
                     Millis(5000));
    }
}

RunResult Engine::rollback(const RollbackOptions& options) {
    RunResult res;
    files();
    std::string target;
    std::string label;
    std::optional<ReleaseRecord> record;
    nlohmann::json recorded_catalog;
    if (!options.release.empty()) {
        label = "release " + options.release;
        record = recorded_release(options.release, true, &recorded_catalog);
        if (record) {
            target = record->version;
        } else {
            auto rel = read_releases(releases_path_for(m_config.migrations_dir));
            const Release* r = rel.find(options.release);
            if (!r)
                throw usage_error("release " + options.release +
                                      " was never deployed here and is not in " + rel.path,
                                  "name a release `up --release` recorded (rollsafe releases), or "
                                  "use --to-version");
            target = r->version.text();
        }
    } else if (options.to_version) {
        target = *options.to_version;
        label = "version " + target;
    } else {
        throw usage_error("rollback needs --to-release R or --to-version V");
    }
    res.target_version = target;
    auto to = parse_version_or_throw(target.empty() ? "0" : target);
    auto a = analyze(true);
    std::vector<const HistoryRow*> after;
    for (const auto& [key, av] : a.state) {
        auto v = Version::parse(av.row.version);
        if (v && to < *v)
            after.push_back(&av.row);
    }
    std::vector<std::string> contract;
    for (const auto* row : after) {
        if (!compatible_with_older(row->compat_class))
            contract.push_back(row->version + "_" + row->name + " (" +
                               (row->compat_class.empty() ? "class unknown" : row->compat_class) +
                               ")");
    }
    auto verify = [&](RunResult& r) {
        if (!record || recorded_catalog.is_discarded() || recorded_catalog.is_null()) {
            r.verification = "not recorded";
            return;
        }
        auto now = read_catalog(session(), {m_config.history_schema});
        auto changes = diff_catalogs(Catalog::from_json(recorded_catalog), now);
        if (changes.empty()) {
            r.verification = "matched";
            return;
        }
        r.verification = "differs";
        for (const auto& c : changes)
            r.differences.push_back(c.describe());
    };
    if (after.empty()) {
        res.decision =
            "the schema is already at " + label + " (" + target + "); nothing to roll back";
        res.nothing_to_do = true;
    } else if (contract.empty() && !options.force_schema) {
        res.decision = "every migration applied since " + label + " is expand-only (" +
                       std::to_string(after.size()) +
                       "): its app runs on this schema, so the schema stays (--force-schema rolls "
                       "back anyway)";
        res.nothing_to_do = true;
    }
    if (res.nothing_to_do) {
        res.message = res.decision;
        if (!options.dry_run && record && after.empty())
            verify(res);
        if (res.verification == "differs") {
            res.code = ExitCode::drift;
            res.message = "the schema is at " + target + " but differs from what " + label +
                          " was deployed with";
            res.hint =
                "someone changed the schema outside rollsafe; compare the differences and fix them "
                "by hand";
        }
        return res;
    }
    DownOptions d;
    d.to_version = target.empty() ? std::string("0") : target;
    d.prefer_stored = true;
    d.dry_run = true;
    d.reason = options.reason.empty() ? "rollback to " + label : options.reason;
    d.release = options.release;
    d.command = "rollback";
    auto plan = plan_down(d);
    bool all_transactional = std::all_of(plan.steps.begin(), plan.steps.end(),
                                         [](const PlannedStep& s) { return s.transactional; });
    d.atomic = all_transactional;
    res.decision =
        contract.empty()
            ? "--force-schema: running the down scripts of the " + std::to_string(after.size()) +
                  " migration(s) since " + label + ", although all are expand-only"
            : std::to_string(contract.size()) + " of the " + std::to_string(after.size()) +
                  " migration(s) since " + label + " break its app (" + text::join(contract, ", ") +
                  "): running their down scripts";
    res.decision += all_transactional ? ", in one transaction" : ", one by one";
    if (options.dry_run) {
        res.plan = plan;
        res.plan.atomic = all_transactional;
        res.message = res.decision;
        return res;
    }
    d.dry_run = false;
    say(res.decision);
    auto run = down(d);
    run.decision = res.decision;
    run.target_version = target;
    if (run.code == ExitCode::ok) {
        verify(run);
        if (run.verification == "differs") {
            run.code = ExitCode::drift;
            run.message = "rolled back to " + target + ", but the schema differs from what " +
                          label + " was deployed with (" + std::to_string(run.differences.size()) +
                          " difference(s))";
            run.hint = "the down scripts do not restore the schema exactly; see the differences";
        } else {
            run.message =
                "rolled back to " + label + " (" + target + ")" +
                (run.verification == "matched" ? "; schema verified against the release's record"
                                               : "");
        }
        if (m_config.freeze_on_rollback)
            set_freeze_after("rolled back to " + label, run.run_id, target, ExitCode::ok);
    }
    return run;
}

std::optional<LockHolder> Engine::lock_status() {
    return read_lock_holder(session(), m_config.history_schema);
}

std::optional<LockHolder> Engine::break_lock(const std::string& reason) {
    if (text::trim(reason).empty())
        throw usage_error("lock break needs --reason \"...\" for the audit trail");
    auto& h = history_store();
    h.ensure();
    auto holder = read_lock_holder(session(), m_config.history_schema);
    if (!holder)
        return std::nullopt;
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
    audit.details["holder"] = holder->holder;
    audit.details["holder_host"] = holder->host;
    audit.details["holder_pid"] = holder->pid;
    audit.details["holder_command"] = holder->command;
    db::Transaction tx(session());
    session().exec_params("DELETE FROM " + h.table("lock") + " WHERE id = 1 AND holder = $1",
                          {holder->holder});
    tx.commit(h.insert_sql(audit));
    return holder;
}

}  // namespace rollsafe
