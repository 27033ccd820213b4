#include "core/check/check.h"

#include <algorithm>
#include <vector>

#include "core/base/parallel.h"
#include "core/base/text.h"
#include "core/check/analyzer.h"
#include "core/check/rules.h"
#include "core/check/sql_source.h"

namespace rollsafe::check {

const char* severity_text(Severity severity) {
    switch (severity) {
        case Severity::info:
            return "info";
        case Severity::warning:
            return "warning";
        case Severity::error:
            return "error";
    }
    return "warning";
}

std::vector<std::string> ordered_classes(const std::set<std::string>& classes) {
    static const char* const order[] = {"expand", "contract", "unsafe-lock", "data-loss-on-down",
                                        "unknown"};
    std::vector<std::string> out;
    for (const char* c : order)
        if (classes.count(c))
            out.emplace_back(c);
    for (const auto& c : classes)
        if (std::find(out.begin(), out.end(), c) == out.end())
            out.push_back(c);
    return out;
}

bool MigrationVerdict::blocking() const {
    return std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
        return !f.suppressed && f.severity == Severity::error;
    });
}

std::string MigrationVerdict::class_string() const {
    if (classes.empty())
        return "expand";
    return text::join(ordered_classes(classes), ",");
}

bool MigrationVerdict::compatible_with_previous_release() const {
    return classes.count("contract") == 0 && classes.count("unknown") == 0;
}

int Report::errors() const {
    int n = 0;
    for (const auto& m : migrations)
        for (const auto& f : m.findings)
            n += !f.suppressed && f.severity == Severity::error;
    return n;
}

int Report::warnings() const {
    int n = 0;
    for (const auto& m : migrations)
        for (const auto& f : m.findings)
            n += !f.suppressed && f.severity == Severity::warning;
    return n;
}

int Report::suppressed() const {
    int n = 0;
    for (const auto& m : migrations)
        for (const auto& f : m.findings)
            n += f.suppressed;
    return n;
}

int Report::exit_code() const {
    if (!parse_errors.empty())
        return static_cast<int>(ExitCode::usage);
    if (errors() > 0)
        return static_cast<int>(ExitCode::check_failed);
    return 0;
}

namespace {

// An allow directive and whether it suppressed anything.
struct Allow {
    const Directive* directive;
    bool file_level;
    bool used = false;
};

bool allow_matches(const std::string& pattern, const std::string& rule) {
    if (pattern == "*" || pattern == rule)
        return true;
    return pattern.size() > 1 && pattern.back() == '*' &&
           text::starts_with(rule, pattern.substr(0, pattern.size() - 1));
}

// Turns one script's hits into findings: catalogue facts, file positions, suppressions.
class ScriptFindings {
  public:
    ScriptFindings(const Options& options, const Migration& m, const Script& script,
                   const SqlSource& sql, const LineIndex& lines, bool down)
        : m_options(options),
          m_migration(m),
          m_script(script),
          m_sql(sql),
          m_lines(lines),
          m_down(down) {
        int first_statement_line = sql.statements.empty() ? lines.last_line() + 1
                                                          : lines.at(sql.statements[0].offset).line;
        for (const auto& d : script.directives)
            if (d.key == "allow")
                m_allows.push_back({&d, d.line < first_statement_line});
    }

    void add(const detail::Hit& h, std::vector<Finding>& out) {
        if (m_options.disabled_rules.count(h.rule)) {
            mark_used(h.rule, h.statement);
            return;
        }
        const RuleInfo* rule = find_rule(h.rule);
        Finding f;
        f.rule_id = h.rule;
        f.severity = h.severity ? *h.severity : rule ? rule->severity : Severity::warning;
        f.migration = m_migration.id();
        f.file = m_script.path;
        auto lc = m_lines.at(h.offset);
        f.line = lc.line;
        f.col = lc.col;
        if (h.statement >= 0) {
            auto end = m_lines.at(m_sql.statements[static_cast<std::size_t>(h.statement)].end);
            f.end_line = end.line;
            f.end_col = end.col;
        } else {
            f.end_line = f.line;
            f.end_col = f.col;
        }
        f.direction = m_down ? "down" : "up";
        f.message = h.message;
        if (rule) {
            f.why = rule->why;
            f.fix = rule->fix;
        }
        f.breaks = h.breaks ? *h.breaks : rule ? rule->breaks : std::vector<std::string>{};
        f.lock = !h.lock.empty() ? h.lock : rule ? rule->lock : std::string();
        f.classes = h.classes ? *h.classes : rule ? rule->classes : std::vector<std::string>{};
        if (m_down) {
            // A down script runs only on rollback: what matters for the migration's class is
            // whether it destroys data green wrote. Failures of the down itself stay errors.
            bool loss = std::find(f.breaks.begin(), f.breaks.end(), "loss") != f.breaks.end();
            f.classes =
                loss ? std::vector<std::string>{"data-loss-on-down"} : std::vector<std::string>{};
            if (rule && rule->category != "transaction" && f.severity == Severity::error)
                f.severity = Severity::warning;
            if (loss) {
                f.breaks = {"loss"};
                f.why =
                    "Rolling back runs this down script after green has written data: dropping "
                    "what the up "
                    "added (or emptying a table) destroys the rows and values green wrote, and a "
                    "later up "
                    "cannot bring them back.";
                f.fix =
                    "Prefer a lossless down (leave the column or table in place; the old app "
                    "ignores it) and "
                    "drop it in a later contract migration. If the loss is accepted, rely on the "
                    "snapshot "
                    "rollsafe takes before `down`, and say so: -- rollsafe:allow=" +
                    f.rule_id + " reason=\"...\".";
            }
        }
        f.source_line = std::string(m_lines.line_text(f.line));
        if (const Allow* a = covering_allow(h.rule, h.statement)) {
            f.suppressed = true;
            f.suppression_reason = a->directive->reason;
            f.suppression_line = a->directive->line;
        }
        out.push_back(std::move(f));
    }

    // Reports allow directives that name no rule or suppressed nothing.
    void report_unused(std::vector<Finding>& out) {
        if (m_options.disabled_rules.count("unused-allow"))
            return;
        const RuleInfo* rule = find_rule("unused-allow");
        for (const auto& a : m_allows) {
            if (a.used)
                continue;
            const auto& d = *a.directive;
            bool known = d.value == "*" || d.value.back() == '*' || find_rule(d.value) != nullptr;
            Finding f;
            f.rule_id = "unused-allow";
            f.severity = Severity::warning;
            f.migration = m_migration.id();
            f.file = m_script.path;
            f.line = f.end_line = d.line;
            f.col = f.end_col = d.col;
            f.direction = m_down ? "down" : "up";
            f.message =
                known ? "allow=" + d.value + " suppresses nothing " +
                            (a.file_level ? std::string("in this script")
                                          : std::string("in the statement below it"))
                      : "allow=" + d.value + " names no rollsafe rule (see docs/rules/README.md)";
            f.why = rule->why;
            f.fix = rule->fix;
            f.source_line = std::string(m_lines.line_text(d.line));
            out.push_back(std::move(f));
        }
    }

  private:
    const Options& m_options;
    const Migration& m_migration;
    const Script& m_script;
    const SqlSource& m_sql;
    const LineIndex& m_lines;
    bool m_down;
    std::vector<Allow> m_allows;

    // True when `line` holds only a comment (or nothing but blanks inside a comment block).
    bool comment_line(int line) const {
        auto t = text::trim(m_lines.line_text(line));
        return text::starts_with(t, "--");
    }

    // The first line of the comment block directly above a statement (the statement's line when
    // none).
    int comment_block_start(int statement) const {
        int line = m_lines.at(m_sql.statements[static_cast<std::size_t>(statement)].offset).line;
        int top = line;
        while (top - 1 >= m_lines.first_line() && comment_line(top - 1))
            --top;
        return top;
    }

    Allow* covering_allow(const std::string& rule, int statement) {
        int top = 0, line = 0;
        if (statement >= 0) {
            line = m_lines.at(m_sql.statements[static_cast<std::size_t>(statement)].offset).line;
            top = comment_block_start(statement);
        }
        Allow* found = nullptr;
        for (auto& a : m_allows) {
            if (!allow_matches(a.directive->value, rule))
                continue;
            bool here = statement >= 0 && a.directive->line >= top && a.directive->line < line;
            if (here || a.file_level) {
                a.used = true;
                if (!found || here)
                    found = &a;
            }
        }
        return found;
    }

    void mark_used(const std::string& rule, int statement) { covering_allow(rule, statement); }
};

Diagnostic parse_diagnostic(const Script& script, const SqlSource& sql, const LineIndex& lines) {
    auto lc = lines.at(sql.error->offset);
    return {script.path, lc.line, lc.col, sql.error->message,
            "PostgreSQL's parser rejected this statement; fix the SQL"};
}

// Checks one script; returns false (and records a parse error) when it does not parse.
bool check_script(const Options& options, const Migration& m, const Script& script,
                  const SqlSource& sql, detail::Analyzer& analyzer, int scope, bool down,
                  MigrationVerdict& verdict, Report& report) {
    LineIndex lines(script.text, script.first_line);
    if (sql.error) {
        report.parse_errors.push_back(parse_diagnostic(script, sql, lines));
        return false;
    }
    auto hits = analyzer.analyze(script, sql, lines, scope, down);
    ScriptFindings findings(options, m, script, sql, lines, down);
    verdict.findings.reserve(verdict.findings.size() + hits.size());
    for (const auto& h : hits)
        findings.add(h, verdict.findings);
    findings.report_unused(verdict.findings);
    return true;
}

// Hands out the scripts' parse results in order, parsing the next batch on a few threads when
// one is used up: batches keep the memory of a long project bounded (all trees at once doubled
// `up`'s peak at 5,000 migrations). A result stays valid until the next call.
class ParsedAhead {
  public:
    explicit ParsedAhead(const std::vector<const Script*>& scripts) : m_scripts(scripts) {}

    const SqlSource& next() {
        if (m_next - m_base == m_batch.size()) {
            m_base = m_next;
            std::size_t n = std::min(kBatch, m_scripts.size() - m_base);
            m_batch.clear();
            m_batch.resize(n);
            parallel_for(
                n,
                [this](std::size_t i) {
                    const Script& s = *m_scripts[m_base + i];
                    m_batch[i] = parse_sql(s.text, s.parse_tree);
                },
                16);
        }
        return m_batch.at(m_next++ - m_base);
    }

  private:
    static constexpr std::size_t kBatch = 256;
    const std::vector<const Script*>& m_scripts;
    std::vector<SqlSource> m_batch;
    std::size_t m_base = 0;
    std::size_t m_next = 0;
};

void classify(MigrationVerdict& v) {
    for (const auto& f : v.findings) {
        for (const auto& c : f.classes) {
            // An allow directive lifts the block, and vouches for a lock or an unanalysable
            // statement; it cannot make the old app read a dropped column: contract and
            // data-loss-on-down stay, so gate and rollback decide on the truth.
            if (f.suppressed && c != "contract" && c != "data-loss-on-down")
                continue;
            v.classes.insert(c);
        }
    }
    bool up_hazard =
        v.classes.count("contract") || v.classes.count("unsafe-lock") || v.classes.count("unknown");
    if (!up_hazard)
        v.classes.insert("expand");
}

}  // namespace

Report check_migrations(const std::vector<const Migration*>& migrations, const Options& options) {
    Report report;
    report.pg_version = options.pg_version;
    // Parse trees are built ahead, a batch at a time on a few threads (they do not depend on one
    // another); the analysis takes them in order on this thread, as the schema model needs.
    std::vector<const Script*> scripts;
    for (const Migration* m : options.applied)
        scripts.push_back(&m->up);
    for (const Migration* m : migrations) {
        scripts.push_back(&m->up);
        if (m->down)
            scripts.push_back(&*m->down);
    }
    ParsedAhead parsed(scripts);

    SchemaModel model;
    detail::Analyzer analyzer(options, model);
    int next_scope = 1;
    for (const Migration* m : options.applied) {
        const auto& sql = parsed.next();
        if (sql.error)
            continue;
        LineIndex lines(m->up.text, m->up.first_line);
        analyzer.analyze(m->up, sql, lines, next_scope++, false, true);
    }
    const int release_scope = next_scope++;
    for (const Migration* m : migrations) {
        MigrationVerdict v;
        v.migration = m->id();
        v.version = m->version.text();
        int scope = options.release_scope ? release_scope : next_scope++;
        bool up_ok =
            check_script(options, *m, m->up, parsed.next(), analyzer, scope, false, v, report);
        if (m->down) {
            // The down runs against the schema after the up; check it on a copy-on-write layer so
            // that the next migration still sees the up's result.
            SchemaModel after_up(&model);
            detail::Analyzer down_analyzer(options, after_up);
            check_script(options, *m, *m->down, parsed.next(), down_analyzer, next_scope++, true, v,
                         report);
        }
        classify(v);
        if (!up_ok) {
            v.classes.erase("expand");
            v.classes.insert("unknown");
        }
        report.migrations.push_back(std::move(v));
    }
    return report;
}

}  // namespace rollsafe::check
