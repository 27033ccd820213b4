#include "core/compat/compat.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/compat/classify.h"
#include "core/compat/hazards.h"
#include "core/compat/probe.h"
#include "core/compat/replay.h"
#include "core/compat/sample_rows.h"
#include "core/compat/schema_dump.h"
#include "core/compat/scratch.h"
#include "core/sandbox/pg_sandbox.h"

namespace rollsafe::compat {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string kind_of(const std::string& key) { return key.substr(0, key.find(':')); }
std::string name_of(const std::string& key) { return key.substr(key.find(':') + 1); }

// The last part of a quote_ident()ed dotted name, unquoted ("public"."Order" -> Order).
std::string bare_name(const std::string& name) {
    std::string last;
    bool quoted = false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '"') {
            if (quoted && i + 1 < name.size() && name[i + 1] == '"') {
                last += '"';
                ++i;
            } else {
                quoted = !quoted;
            }
        } else if (c == '.' && !quoted) {
            last.clear();
        } else {
            last += c;
        }
    }
    // Functions: "public.f(integer)" -> "f".
    auto paren = last.find('(');
    return paren == std::string::npos ? last : last.substr(0, paren);
}

// A reason written for a forward change, reworded for a down: the app written for the schema
// before the down is the new release.
std::string for_the_new_release(const std::string& reason) {
    std::string out;
    for (std::size_t i = 0; i < reason.size();) {
        if (reason.compare(i, 11, "the old app") == 0) {
            out += "the new release";
            i += 11;
        } else if (reason.compare(i, 11, "the new app") == 0) {
            out += "the old release";
            i += 11;
        } else {
            out += reason[i++];
        }
    }
    return out;
}

// Per-statement bookkeeping while downs run one by one (which down broke a blue statement).
struct DownAttribution {
    std::map<int, std::string> first_break;  // statement index -> migration id whose down broke it
};

class Runner {
public:
    Runner(const Request& request, Report& report) : m_req(request), m_rep(report) {}

    void run() {
        auto t0 = Clock::now();
        say("starting the scratch database");
        m_scratch = m_req.dev_url.empty() ? open_embedded_scratch(m_req.server_bindir) : open_dev_scratch(m_req.dev_url);
        m_rep.scratch = m_scratch->description();
        m_rep.startup_ms = ms_since(t0);
        m_exclude = {m_req.history_schema};
        for (const auto* m : m_req.pending) m_rep.pending.push_back(m->id());
        load_contracts();
        if (!build_before()) {
            m_rep.total_ms = ms_since(t0);
            return;
        }
        // Each chain of trials works on its own copy of "before"; the last one to start may use
        // the template itself (one CREATE DATABASE less: "before" is not needed after that).
        std::string roundtrip_db = m_req.layers.roundtrip ? new_trial("roundtrip") : std::string();
        matrix_chain(m_before_db);
        if (m_req.layers.roundtrip) roundtrip_chain(roundtrip_db);
        contract_problems();
        m_rep.total_ms = ms_since(t0);
    }

private:
    void say(const std::string& line) const {
        log::debug("check: {} ms: {}", ms_since(m_started), line);
        if (m_req.progress) m_req.progress(line);
    }

    void problem(Problem p) { m_rep.problems.push_back(std::move(p)); }

    std::vector<const Migration*> all_migrations() const {
        auto all = m_req.applied;
        all.insert(all.end(), m_req.pending.begin(), m_req.pending.end());
        return all;
    }

    void load_contracts() {
        if (!m_req.layers.contracts) return;
        for (const auto& [release, role] : {std::pair<std::string, std::string>{m_req.blue, "blue"}, {m_req.green, "green"}}) {
            if (release.empty()) continue;
            ContractRun run;
            run.release = release;
            run.role = role;
            run.path = contract_path(m_req.contracts_dir, release);
            if (fs::exists(run.path)) {
                run.found = true;
                run.statements = read_contract(run.path).statements;
            } else {
                m_rep.notes.push_back(role + " release " + release + " has no contract (" + run.path +
                                      "): its statements are not checked");
            }
            m_rep.contracts.push_back(std::move(run));
        }
    }

    // Builds the template database with the schema before the pending migrations.
    bool build_before() {
        m_before_db = m_scratch->name("before");
        m_scratch->create_database(m_before_db);
        auto s = connect_scratch(*m_scratch, m_before_db);
        if (m_scratch->may_create_roles()) ensure_roles(*s, roles_named(all_migrations()));
        if (m_req.before_database) {
            s.reset();
            say("restoring the schema of the target database");
            auto dr = restore_schema_of(Dsn::parse(*m_req.before_database), m_req.history_schema, *m_scratch, m_before_db,
                                        m_req.client_bindir);
            m_rep.before_source = dr.description;
            for (const auto& w : dr.warnings) m_rep.notes.push_back("before: " + w);
            return true;
        }
        say("replaying " + std::to_string(m_req.applied.size()) + " applied migration(s)");
        for (const auto* m : m_req.applied) {
            interrupt::check();
            auto o = apply_script(*s, m->up);
            if (!o.ok) {
                Problem p;
                p.layer = "diff";
                p.rule = "compat-apply-failed";
                p.severity = "error";
                p.migration = m->id();
                p.message = "the schema before the pending migrations cannot be built: " + m->id() +
                            " fails on the scratch database: " + o.error;
                p.file = o.file;
                p.line = o.line;
                p.col = o.col;
                problem(p);
                return false;
            }
        }
        m_rep.before_source = m_req.applied.empty()
                                  ? std::string("an empty database")
                                  : std::to_string(m_req.applied.size()) + " migration(s) replayed (up to " +
                                        m_req.applied.back()->id() + ")";
        return true;
    }

    std::string new_trial(const std::string& suffix) {
        auto name = m_scratch->name(suffix);
        m_scratch->create_database(name, m_before_db);
        return name;
    }

    Catalog catalog(db::Session& s) { return read_catalog(s, m_exclude); }

    void add_state(const std::string& id, const std::string& label, const std::string& kind,
                   const std::string& migration, bool reached, Catalog c = {}) {
        SchemaState st;
        st.id = id;
        st.label = label;
        st.kind = kind;
        st.migration = migration;
        st.reached = reached;
        if (reached) st.fingerprint = c.fingerprint();
        st.catalog = std::move(c);
        // The state before this one is diffed: its catalog is not needed any more, unless it is
        // "before" (round-trips and --with-data compare with it).
        if (m_rep.states.size() > 1 && kind == "up") m_rep.states.back().catalog = Catalog{};
        m_rep.states.push_back(std::move(st));
        for (auto& run : m_rep.contracts) {
            run.required.push_back(false);
            if (run.cells.size() != run.statements.size()) run.cells.resize(run.statements.size());
            for (auto& row : run.cells) row.emplace_back();
        }
    }

    // PREPAREs every contract statement at the newest state.
    void probe_state(StatementProbe& probe) {
        std::size_t state = m_rep.states.size() - 1;
        for (auto& run : m_rep.contracts) {
            for (const auto& st : run.statements) {
                interrupt::check();
                run.cells[static_cast<std::size_t>(st.index)][state] = probe_statement(probe, st);
            }
        }
    }

    Cell probe_statement(StatementProbe& probe, const ContractStatement& st) {
        Cell cell;
        if (!st.preparable) {
            cell.status = "skipped";
            cell.message = "not checked: PREPARE takes SELECT, INSERT, UPDATE, DELETE and MERGE";
            return cell;
        }
        auto o = probe.describe(st.text);
        if (!o.ok) {
            cell.status = o.sqlstate == "42P18" ? "unresolved" : "breaks";
            cell.message = o.message;
            cell.sqlstate = o.sqlstate;
            return cell;
        }
        cell.status = "works";
        cell.parameter_types = o.parameter_types;
        cell.columns = o.columns;
        if (st.kind == "InsertStmt" && !st.insert_all_columns && !st.insert_table.empty()) {
            // NOT NULL columns without a default that the INSERT leaves out: PostgreSQL would
            // reject every row at run time, although the statement prepares.
            auto required = probe.column(
                "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
                "AND NOT a.attisdropped AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' "
                "AND a.attgenerated = '' ORDER BY a.attnum",
                {st.insert_table});
            std::vector<std::string> missing;
            for (const auto& col : required)
                if (std::find(st.insert_columns.begin(), st.insert_columns.end(), col) == st.insert_columns.end())
                    missing.push_back(col);
            if (!missing.empty()) {
                auto triggers = probe.column(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal "
                    "AND (tgtype & 7) = 7 ORDER BY 1",
                    {st.insert_table});
                auto rel = probe.column("SELECT c.relname FROM pg_class c WHERE c.oid = to_regclass($1)", {st.insert_table});
                std::string relname = rel.empty() ? st.insert_table : rel.front();
                cell.status = triggers.empty() ? "breaks" : "warns";
                cell.sqlstate = "23502";
                // PostgreSQL's own words: run it once with sample values, foreign keys off, and roll
                // back. Its NOT NULL checks come before CHECK and unique ones, so with every
                // parameter set the first complaint is about a column the INSERT leaves out.
                std::string said = run_for_error(probe, st, o.parameter_types, missing);
                cell.message = (said.empty() ? "null value in column \"" + missing.front() + "\" of relation \"" +
                                                   relname + "\" violates not-null constraint"
                                             : said) +
                               " (the INSERT does not set " + text::join(missing, ", ") +
                               ", NOT NULL without a default)";
                if (!triggers.empty())
                    cell.message += "; BEFORE INSERT trigger " + text::join(triggers, ", ") + " may fill it";
            }
        }
        return cell;
    }

    // Returns PostgreSQL's error for an INSERT run with sample values when it names one of the
    // missing columns; "" otherwise (no trial session, or another error came first).
    std::string run_for_error(StatementProbe& probe, const ContractStatement& st, const std::vector<std::string>& types,
                              const std::vector<std::string>& missing) {
        if (!m_trial) return "";
        try {
            std::vector<std::optional<std::string>> params;
            for (std::size_t k = 0; k < types.size(); ++k)
                params.push_back(sample_value(*m_trial, st.insert_table, "", types[k], static_cast<int>(k) + 1));
            std::string column;
            auto o = probe.execute_and_roll_back(st.text, params, &column);
            if (!o.ok && o.sqlstate == "23502" && std::find(missing.begin(), missing.end(), column) != missing.end())
                return o.message;
        } catch (const db::DbError& e) {
            if (e.connection_lost()) throw;
        }
        return "";
    }

    Problem apply_failure(const Migration& m, const ApplyOutcome& o, const std::string& direction) {
        Problem p;
        p.layer = "diff";
        p.rule = direction == "up" ? "compat-apply-failed" : "compat-down-failed";
        p.severity = "error";
        p.migration = m.id();
        p.direction = direction;
        p.message = m.id() + (direction == "up" ? "" : " (down)") + " fails on the scratch database: " + o.error +
                    (o.sqlstate.empty() ? "" : " (" + o.sqlstate + ")");
        p.file = o.file;
        p.line = o.line;
        p.col = o.col;
        return p;
    }

    // Hidden hazards new at the newest state: a migration made them.
    void hazards_at(db::Session& s, const std::string& migration, const Script& script, const std::string& direction) {
        auto found = find_hidden_hazards(s, m_exclude);
        std::set<std::string> now;
        for (const auto& h : found) {
            now.insert(h.key);
            if (m_hazards.count(h.key)) continue;
            Problem p;
            p.layer = "diff";
            p.rule = "compat-hidden-hazard";
            p.severity = "error";
            p.migration = migration;
            p.direction = direction;
            p.message = (migration.empty() ? std::string() : migration + (direction == "down" ? " (down)" : "") + ": ") +
                        h.message;
            p.file = script.path;
            p.line = script.first_line;
            p.col = 1;
            p.classes = {"contract"};
            problem(p);
        }
        m_hazards = now;
    }

    // Relations (views above all) that went without the migration naming them: CASCADE took
    // them, or the column they read.
    void implicit_drops(const Catalog& before, const Catalog& after, const Migration& m) {
        auto named = names_in(m.up);
        for (const auto& [key, attrs] : before.objects) {
            if (kind_of(key) != "relation" || after.objects.count(key)) continue;
            auto name = bare_name(name_of(key));
            if (named.count(name)) continue;
            std::string what = attrs.is_object() && attrs.contains("kind") && attrs["kind"].is_string()
                                   ? attrs["kind"].get<std::string>()
                                   : "relation";
            if (what == "sequence") continue;  // owned sequences go with their column
            Problem p;
            p.layer = "diff";
            p.rule = "compat-hidden-hazard";
            p.severity = "error";
            p.migration = m.id();
            std::string reads = attrs.is_object() && attrs.contains("reads") && attrs["reads"].is_string()
                                    ? attrs["reads"].get<std::string>()
                                    : "";
            p.message = m.id() + " drops " + what + " " + name_of(key) +
                        " without naming it (CASCADE, or with an object it depends on" +
                        (reads.empty() ? std::string() : ": it read " + reads) + "); whoever reads it breaks";
            p.file = m.up.path;
            p.line = m.up.first_line;
            p.col = 1;
            p.classes = {"contract"};
            problem(p);
        }
    }

    void diff_problems(const std::vector<ClassifiedChange>& changes, const Migration& m, const std::string& direction) {
        for (const auto& c : changes) {
            if (!c.klass.empty() && direction == "up") m_rep.classes[m.id()].insert(c.klass);
            if (c.effect == "expand" || !m_req.layers.diff) continue;
            Problem p;
            p.layer = "diff";
            p.rule = c.reverse ? "compat-reverse-hazard" : c.effect == "breaks-new" ? "compat-breaks-new" : "compat-breaks-old";
            p.severity = "warning";
            p.migration = m.id();
            p.direction = direction;
            p.message = c.change.describe() + ": " + c.effect + (c.reverse ? " (reverse hazard)" : "") + ": " + c.reason;
            p.file = direction == "up" ? m.up.path : (m.down ? m.down->path : m.up.path);
            p.line = direction == "up" ? m.up.first_line : (m.down ? m.down->first_line : 1);
            p.col = 1;
            if (!c.klass.empty() && direction == "up") p.classes = {c.klass};
            problem(p);
        }
    }

    void matrix_chain(const std::string& trial) {
        say("applying " + std::to_string(m_req.pending.size()) + " pending migration(s)");
        auto s = connect_scratch(*m_scratch, trial);
        m_trial = s.get();
        std::unique_ptr<StatementProbe> probe;
        bool contracts = !m_rep.contracts.empty();
        if (contracts) probe = connect_probe(m_scratch->dsn(trial));
        add_state("before", "before", "before", "", true, catalog(*s));
        if (contracts) probe_state(*probe);
        if (m_req.layers.diff) m_hazards = hazard_keys(*s);
        bool all_up = true;
        std::size_t final_state = 0;
        for (const auto* m : m_req.pending) {
            interrupt::check();
            auto o = apply_script(*s, m->up);
            if (!o.ok) {
                problem(apply_failure(*m, o, "up"));
                all_up = false;
                add_state(m->id(), "after " + m->id(), "up", m->id(), false);
                continue;
            }
            if (!all_up) {
                add_state(m->id(), "after " + m->id(), "up", m->id(), false);
                continue;
            }
            m_rep.classes[m->id()];  // applied cleanly: listed even with nothing found
            const Catalog& prev = m_rep.states.back().catalog;
            Catalog now = catalog(*s);
            auto changes = classify_diff(prev, now, m->id());
            if (m_req.layers.diff) {
                implicit_drops(prev, now, *m);
                hazards_at(*s, m->id(), m->up, "up");
            }
            diff_problems(changes, *m, "up");
            m_rep.changes.insert(m_rep.changes.end(), changes.begin(), changes.end());
            add_state(m->id(), "after " + m->id(), "up", m->id(), true, std::move(now));
            final_state = m_rep.states.size() - 1;
            if (contracts) probe_state(*probe);
        }
        // Blue runs through every state of the deploy and after a rollback; green from the end.
        for (auto& run : m_rep.contracts) {
            for (std::size_t i = 0; i < m_rep.states.size(); ++i)
                run.required[i] = run.role == "blue" || (all_up && i == final_state);
        }
        downs(*s, probe.get(), all_up, final_state);
        m_trial = nullptr;
    }

    std::set<std::string> hazard_keys(db::Session& s) {
        std::set<std::string> keys;
        for (const auto& h : find_hidden_hazards(s, m_exclude)) {
            keys.insert(h.key);
            m_rep.notes.push_back("before: " + h.message);
        }
        return keys;
    }

    void downs(db::Session& s, StatementProbe* probe, bool all_up, std::size_t final_state) {
        std::string missing;
        for (const auto* m : m_req.pending)
            if (!m->down) missing += (missing.empty() ? "" : ", ") + m->id();
        if (!all_up || !missing.empty()) {
            add_state("after-downs", "after the downs", "downs", "", false);
            if (!missing.empty())
                m_rep.notes.push_back("no down script for " + missing + ": the state after the downs is not tried");
            finish_required();
            return;
        }
        std::unique_ptr<SampleRows> rows;
        if (m_req.with_data) {
            const ContractRun* green = nullptr;
            for (const auto& run : m_rep.contracts)
                if (run.role == "green" && run.found) green = &run;
            if (!green) {
                m_rep.notes.push_back("--with-data: no contract of the new release to write rows with");
            } else {
                say("writing sample rows through " + green->release + "'s INSERTs");
                rows = std::make_unique<SampleRows>(insert_sample_rows(s, *green, final_state, m_rep.states.front().catalog));
                for (const auto& n : rows->notes) m_rep.notes.push_back("--with-data: " + n);
                m_rep.notes.push_back("--with-data: " + std::to_string(rows->inserted) + " sample row(s) written; " +
                                      std::to_string(rows->tables.size()) + " table(s) the old release reads are followed");
            }
        }
        say("running the downs");
        DownAttribution blame;
        const ContractRun* blue = nullptr;
        for (const auto& run : m_rep.contracts)
            if (run.role == "blue" && run.found) blue = &run;
        bool all_down = true;
        Catalog prev = m_rep.states[final_state].catalog;
        for (auto it = m_req.pending.rbegin(); it != m_req.pending.rend(); ++it) {
            interrupt::check();
            const Migration& m = **it;
            auto o = apply_script(s, *m.down);
            if (!o.ok) {
                problem(apply_failure(m, o, "down"));
                all_down = false;
                break;
            }
            Catalog now = catalog(s);
            if (m_req.layers.diff) {
                hazards_at(s, m.id(), *m.down, "down");
                // What a down does, seen by the new release (the app written for the schema before
                // the down): a rollback that removes what it uses breaks it.
                for (auto& c : classify_diff(prev, now, m.id() + " (down)")) {
                    if (c.effect == "breaks-old") {
                        c.effect = "breaks-new";
                        c.reason = "during a rollback: " + for_the_new_release(c.reason);
                    }
                    c.klass.clear();
                    m_rep.changes.push_back(std::move(c));
                }
            }
            prev = std::move(now);
            if (rows) {
                for (auto* t : check_sample_rows(s, *rows, m.id())) {
                    Problem p;
                    p.layer = "roundtrip";
                    p.rule = "compat-data-loss";
                    p.severity = "warning";
                    p.migration = m.id();
                    p.direction = "down";
                    p.message = m.id() + " (down) loses rows the new release wrote to " + t->name + ": " + t->lost_how;
                    p.file = m.down->path;
                    p.line = m.down->first_line;
                    p.col = 1;
                    p.classes = {"data-loss-on-down"};
                    m_rep.classes[m.id()].insert("data-loss-on-down");
                    problem(p);
                }
            }
            if (blue && probe) {
                for (const auto& st : blue->statements) {
                    if (blame.first_break.count(st.index)) continue;
                    if (probe_statement(*probe, st).status == "breaks") blame.first_break[st.index] = m.id();
                }
            }
        }
        if (!all_down) {
            add_state("after-downs", "after the downs", "downs", "", false);
            finish_required();
            return;
        }
        for (const auto& c : diff_catalogs(m_rep.states.front().catalog, prev)) m_rep.downs_differences.push_back(c.describe());
        add_state("after-downs", "after the downs", "downs", "", true, std::move(prev));
        if (probe) probe_state(*probe);
        m_down_blame = blame.first_break;
        finish_required();
    }

    void finish_required() {
        for (auto& run : m_rep.contracts) run.required.back() = run.role == "blue" && m_rep.states.back().reached;
    }

    // Column order per relation: a down that re-adds a column puts it last, and SELECT * sees it.
    std::map<std::string, std::string> column_order(db::Session& s) {
        std::map<std::string, std::string> out;
        std::string filter;
        for (const auto& x : m_exclude) filter += " AND n.nspname <> " + text::quote_literal(x);
        auto r = s.exec(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), string_agg(quote_ident(a.attname), ', ' "
            "ORDER BY a.attnum) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
            "'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%'" + filter + " GROUP BY 1");
        for (std::size_t i = 0; i < r.size(); ++i) out[r.get(i, 0)] = r.get(i, 1);
        return out;
    }

    void roundtrip_chain(const std::string& trial) {
        say("round-trip: each up, its down, and the up again");
        auto s = connect_scratch(*m_scratch, trial);
        // The state after one migration's second up is the state before the next one's up.
        Catalog c0 = catalog(*s);
        auto order0 = column_order(*s);
        for (const auto* m : m_req.pending) {
            interrupt::check();
            RoundTrip rt;
            rt.migration = m->id();
            auto o = apply_script(*s, m->up);
            if (!o.ok) {
                rt.error = "up fails: " + o.error;
                m_rep.roundtrips.push_back(rt);
                break;  // reported by the matrix chain already
            }
            auto c1 = catalog(*s);
            if (!m->down) {
                rt.error = "no down script";
                m_rep.roundtrips.push_back(rt);
                c0 = std::move(c1);
                order0 = column_order(*s);
                continue;
            }
            o = apply_script(*s, *m->down);
            if (!o.ok) {
                rt.error = "down fails: " + o.error + (o.sqlstate.empty() ? "" : " (" + o.sqlstate + ")");
                roundtrip_problem(*m, rt, "the down fails after the up: " + o.error, o.file, o.line, o.col);
                m_rep.roundtrips.push_back(rt);
                break;
            }
            rt.ran = true;
            auto c2 = catalog(*s);
            for (const auto& c : diff_catalogs(c0, c2)) rt.after_down.push_back(c.describe());
            auto order2 = column_order(*s);
            for (const auto& [rel, cols] : order0) {
                auto it = order2.find(rel);
                if (it == order2.end() || it->second == cols) continue;
                auto sorted = [](const std::string& list) {
                    auto v = text::split(list, ',');
                    for (auto& x : v) x = std::string(text::trim(x));
                    std::sort(v.begin(), v.end());
                    return v;
                };
                if (sorted(it->second) == sorted(cols))
                    rt.notes.push_back("column order of " + rel + " changed: (" + cols + ") -> (" + it->second +
                                       "): SELECT * and INSERT without a column list see it");
            }
            if (!rt.after_down.empty())
                roundtrip_problem(*m, rt,
                                  "the down does not undo the up: " + text::join(rt.after_down, "; "),
                                  m->down->path, m->down->first_line, 1);
            for (const auto& n : rt.notes) {
                Problem p;
                p.layer = "roundtrip";
                p.rule = "compat-roundtrip-order";
                p.severity = "warning";
                p.migration = m->id();
                p.direction = "down";
                p.message = m->id() + " (down): " + n;
                p.file = m->down->path;
                p.line = m->down->first_line;
                p.col = 1;
                problem(p);
            }
            o = apply_script(*s, m->up);
            if (!o.ok) {
                rt.error = "second up fails: " + o.error;
                roundtrip_problem(*m, rt, "the up fails when run again after its down: " + o.error, o.file, o.line, o.col);
                m_rep.roundtrips.push_back(rt);
                break;
            }
            auto c3 = catalog(*s);
            for (const auto& c : diff_catalogs(c1, c3)) rt.after_reup.push_back(c.describe());
            if (!rt.after_reup.empty())
                roundtrip_problem(*m, rt, "the up run again after its down gives another schema: " +
                                              text::join(rt.after_reup, "; "),
                                  m->up.path, m->up.first_line, 1);
            m_rep.roundtrips.push_back(rt);
            c0 = std::move(c3);
            order0 = column_order(*s);
        }
    }

    void roundtrip_problem(const Migration& m, const RoundTrip&, const std::string& message, const std::string& file,
                           int line, int col) {
        Problem p;
        p.layer = "roundtrip";
        p.rule = "compat-roundtrip";
        p.severity = "error";
        p.migration = m.id();
        p.direction = "down";
        p.message = m.id() + ": " + message;
        p.file = file;
        p.line = line;
        p.col = col;
        problem(p);
    }

    // Breaks become problems: blue at any state of the deploy or after the downs, green at the
    // end; each with the statement, PostgreSQL's text and the migration responsible.
    void contract_problems() {
        for (auto& run : m_rep.contracts) {
            if (!run.found) continue;
            std::size_t baseline = 0;
            if (run.role == "green") {
                for (std::size_t i = 0; i < m_rep.states.size(); ++i)
                    if (run.required[i]) baseline = i;
            }
            for (const auto& st : run.statements) {
                auto& row = run.cells[static_cast<std::size_t>(st.index)];
                shape_checks(run, st, row, baseline);
                attribute(run, st, row);
                report_statement(run, st, row, baseline);
            }
        }
    }

    static std::string shape(const std::vector<ResultColumn>& cols) {
        std::vector<std::string> parts;
        for (const auto& c : cols) parts.push_back(c.name + " " + c.type);
        return "(" + text::join(parts, ", ") + ")";
    }

    // The result of a statement must keep the shape the release was written for.
    void shape_checks(const ContractRun& run, const ContractStatement& st, std::vector<Cell>& row, std::size_t baseline) {
        const Cell& base = row[baseline];
        if (base.status != "works" && base.status != "warns") return;
        for (std::size_t i = 0; i < row.size(); ++i) {
            Cell& c = row[i];
            if (i == baseline || c.status != "works" || !run.required[i]) continue;
            bool same = c.columns.size() == base.columns.size();
            for (std::size_t k = 0; same && k < c.columns.size(); ++k)
                same = c.columns[k].name == base.columns[k].name && c.columns[k].type_oid == base.columns[k].type_oid;
            if (same) continue;
            bool grew = c.columns.size() > base.columns.size();
            for (std::size_t k = 0; grew && k < base.columns.size(); ++k)
                grew = c.columns[k].name == base.columns[k].name && c.columns[k].type_oid == base.columns[k].type_oid;
            c.status = grew ? "warns" : "breaks";
            c.message = std::string(grew ? "result has new columns" : "result shape changed") + ": " +
                        shape(base.columns) + " -> " + shape(c.columns) +
                        (st.star ? " (SELECT * follows the table)" : "");
        }
    }

    // Names the migration responsible for each break: the one whose up (or down) led to the
    // first state of a run of breaks.
    void attribute(const ContractRun& run, const ContractStatement& st, std::vector<Cell>& row) {
        for (std::size_t i = 1; i < row.size(); ++i) {
            Cell& c = row[i];
            if (c.status != "breaks" && c.status != "warns") continue;
            const auto& state = m_rep.states[i];
            if (state.kind == "up") {
                const Cell& prev = row[i - 1];
                if (prev.status == c.status && prev.message == c.message)
                    c.migration = prev.migration;  // the same break as before: same cause, or none
                else if (prev.status == "works" || prev.status == "warns" || prev.status == "breaks")
                    c.migration = state.migration;
            } else if (state.kind == "downs" && run.role == "blue") {
                auto it = m_down_blame.find(st.index);
                if (it != m_down_blame.end()) c.migration = it->second + " (down)";
            }
        }
    }

    void report_statement(const ContractRun& run, const ContractStatement& st, const std::vector<Cell>& row,
                          std::size_t baseline) {
        std::string where = st.file + ":" + std::to_string(st.line);
        std::string release = run.release + " (" + run.role + ")";
        const Cell& base = row[baseline];
        if (row.empty()) return;
        bool unresolved_everywhere = true;
        for (std::size_t i = 0; i < row.size(); ++i)
            if (m_rep.states[i].reached && row[i].status != "unresolved") unresolved_everywhere = false;
        if (unresolved_everywhere && base.status == "unresolved") {
            Problem p;
            p.layer = "contracts";
            p.rule = "compat-contract-unresolved";
            p.severity = "warning";
            p.message = release + " " + where + ": " + base.message + "; add a cast to the contract (e.g. $1::bigint)";
            p.file = st.file;
            p.line = st.line;
            p.col = st.col;
            problem(p);
            return;
        }
        if (run.role == "blue" && base.status == "breaks") {
            Problem p;
            p.layer = "contracts";
            p.rule = "compat-contract-stale";
            p.severity = "warning";
            p.message = release + " " + where + " fails even before the migrations (" + base.message +
                        "): the contract does not match the schema " + run.release + " runs on";
            p.file = st.file;
            p.line = st.line;
            p.col = st.col;
            problem(p);
            return;
        }
        std::set<std::string> reported;
        for (std::size_t i = 0; i < row.size(); ++i) {
            const Cell& c = row[i];
            if (!run.required[i] || (c.status != "breaks" && c.status != "warns")) continue;
            std::string key = c.status + "|" + c.migration + "|" + c.message;
            if (!reported.insert(key).second) continue;
            Problem p;
            p.layer = "contracts";
            p.rule = c.status == "breaks" ? "compat-contract-break" : "compat-contract-warning";
            p.severity = c.status == "breaks" ? "error" : "warning";
            auto slash = c.migration.find(" (down)");
            p.migration = slash == std::string::npos ? c.migration : c.migration.substr(0, slash);
            p.direction = slash == std::string::npos ? "up" : "down";
            p.message = release + " " + (c.status == "breaks" ? "breaks" : "warns") + " " +
                        m_rep.states[i].label + ": " + where + ": " + st.text.substr(0, 160) + ": PostgreSQL: " +
                        c.message + (c.sqlstate.empty() ? "" : " (" + c.sqlstate + ")") +
                        (c.migration.empty() ? "" : "; responsible: " + c.migration);
            p.file = st.file;
            p.line = st.line;
            p.col = st.col;
            if (c.status == "breaks" && run.role == "blue" && p.direction == "up" && !p.migration.empty()) {
                p.classes = {"contract"};
                m_rep.classes[p.migration].insert("contract");
            }
            problem(p);
        }
    }

    const Request& m_req;
    Report& m_rep;
    std::unique_ptr<Scratch> m_scratch;
    std::set<std::string> m_exclude;
    std::string m_before_db;
    std::set<std::string> m_hazards;
    std::map<int, std::string> m_down_blame;
    db::Session* m_trial = nullptr;  // the matrix chain's session, while it runs
    Clock::time_point m_started = Clock::now();
};

}  // namespace

std::string Layers::text() const {
    std::vector<std::string> out;
    if (rules) out.push_back("rules");
    if (diff) out.push_back("diff");
    if (contracts) out.push_back("contracts");
    if (roundtrip) out.push_back("roundtrip");
    return rollsafe::text::join(out, ",");
}

Layers parse_layers(const std::string& list) {
    Layers l;
    l.rules = l.diff = l.contracts = l.roundtrip = false;
    for (const auto& raw : text::split(list, ',')) {
        auto name = text::to_lower(text::trim(raw));
        if (name == "rules") l.rules = true;
        else if (name == "diff") l.diff = true;
        else if (name == "contracts" || name == "contract") l.contracts = true;
        else if (name == "roundtrip" || name == "round-trip") l.roundtrip = true;
        else if (name == "all") l.rules = l.diff = l.contracts = l.roundtrip = true;
        else if (!name.empty())
            throw usage_error("unknown layer \"" + name + "\"", "layers are rules, diff, contracts and roundtrip (or all)");
    }
    if (!l.rules && !l.dynamic()) throw usage_error("no layer given", "layers are rules, diff, contracts and roundtrip");
    return l;
}

int Report::errors() const {
    int n = 0;
    for (const auto& p : problems) n += p.severity == "error";
    return n;
}

int Report::warnings() const {
    int n = 0;
    for (const auto& p : problems) n += p.severity == "warning";
    return n;
}

std::optional<std::string> scratch_unavailable(const Request& request) {
    if (!request.dev_url.empty()) return std::nullopt;
    try {
        find_pg_server_bindir(request.server_bindir);
    } catch (const Error& e) {
        return std::string(e.what()) + "; install the PostgreSQL server (Debian: postgresql) or pass --dev-url";
    }
    return std::nullopt;
}

Report run(const Request& request) {
    Report report;
    report.layers = request.layers;
    report.with_data = request.with_data;
    report.blue = request.blue;
    report.green = request.green;
    Runner(request, report).run();
    return report;
}

}  // namespace rollsafe::compat
