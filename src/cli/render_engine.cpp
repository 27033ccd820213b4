#include "cli/render_engine.h"

#include "cli/context.h"
#include "core/base/error.h"
#include "core/base/text.h"
#include "core/check/json_writer.h"

namespace rollsafe::cli {
namespace {

std::string one_line(const std::string& sql, std::size_t max = 96) {
    std::string out;
    bool space = false;
    for (char c : sql) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += c;
    }
    if (out.size() > max)
        out = out.substr(0, max - 3) + "...";
    return out;
}

const char* severity_name(check::Severity s) {
    switch (s) {
        case check::Severity::info:
            return "info";
        case check::Severity::warning:
            return "warning";
        case check::Severity::error:
            return "error";
    }
    return "warning";
}

}  // namespace

nlohmann::json plan_json(const Plan& plan) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : plan.steps) {
        nlohmann::json statements = nlohmann::json::array();
        for (const auto& st : s.statements)
            statements.push_back({{"index", st.index},
                                  {"position", st.position},
                                  {"kind", st.kind},
                                  {"sql", st.text}});
        steps.push_back(
            {{"version", s.version},
             {"name", s.name},
             {"direction", s.direction},
             {"transaction", plan.atomic ? "atomic" : (s.transactional ? "per-migration" : "none")},
             {"source", s.source},
             {"lock_timeout_ms", s.lock_timeout.count()},
             {"statement_timeout_ms", s.statement_timeout.count()},
             {"class", s.compat_class},
             {"statements", statements}});
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : plan.findings) {
        findings.push_back(
            {{"rule", f.rule_id},
             {"severity", severity_name(f.severity)},
             {"migration", f.migration},
             {"position", f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col)},
             {"message", f.message},
             {"suppressed", f.suppressed},
             {"suppression_reason", f.suppression_reason}});
    }
    return {{"direction", plan.direction}, {"atomic", plan.atomic},     {"steps", steps},
            {"notes", plan.notes},         {"warnings", plan.warnings}, {"findings", findings}};
}

std::string plan_text(const Plan& plan) {
    std::string out;
    if (plan.steps.empty())
        return "plan: nothing to do\n";
    out += "plan: " + plan.direction + " " + std::to_string(plan.steps.size()) + " migration(s)" +
           (plan.atomic ? ", all in one transaction" : "") + "\n";
    for (const auto& n : plan.notes)
        out += "  note: " + n + "\n";
    for (const auto& w : plan.warnings)
        out += "  warning: " + w + "\n";
    for (const auto& s : plan.steps) {
        out += "\n  " + s.version + "_" + s.name + "  [" +
               (plan.atomic       ? std::string("atomic transaction")
                : s.transactional ? "transaction"
                                  : "no transaction: statement by statement") +
               ", lock_timeout " + format_duration(s.lock_timeout) + ", statement_timeout " +
               format_duration(s.statement_timeout) +
               (s.compat_class.empty() ? "" : ", class " + s.compat_class) +
               (s.source == "stored" ? ", down text stored in history" : "") + "]\n";
        if (s.statements.empty())
            out += "      (no statements)\n";
        for (const auto& st : s.statements)
            out += "      " + st.position + "  " + one_line(st.text) + "\n";
    }
    for (const auto& f : plan.findings) {
        out += "  " + std::string(f.suppressed ? "allowed" : severity_name(f.severity)) + ": " +
               f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col) + ": " +
               f.rule_id + ": " + f.message +
               (f.suppressed ? " (reason: " + f.suppression_reason + ")" : "") + "\n";
    }
    return out;
}

nlohmann::json run_json(const RunResult& run, bool dry_run) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : run.steps) {
        nlohmann::json j = {{"version", s.version},         {"name", s.name},
                            {"direction", s.direction},     {"outcome", s.outcome},
                            {"duration_ms", s.duration_ms}, {"attempts", s.attempts},
                            {"class", s.compat_class}};
        if (!s.error.empty())
            j["error"] = s.error;
        if (!s.position.empty())
            j["position"] = s.position;
        steps.push_back(j);
    }
    nlohmann::json doc = {{"exit_code", static_cast<int>(run.code)},
                          {"exit_name", std::string(exit_code_name(run.code))},
                          {"message", run.message},
                          {"dry_run", dry_run},
                          {"nothing_to_do", run.nothing_to_do},
                          {"run_id", run.run_id},
                          {"snapshot_id", run.snapshot_id},
                          {"steps", steps},
                          {"plan", plan_json(run.plan)}};
    if (!run.hint.empty())
        doc["hint"] = run.hint;
    return doc;
}

std::string run_text(const RunResult& run) {
    std::string out;
    if (!run.message.empty())
        out += (run.code == ExitCode::ok ? "" : "rollsafe: ") + run.message + "\n";
    if (!run.hint.empty())
        out += "hint: " + run.hint + "\n";
    if (run.code != ExitCode::ok)
        out += "exit " + std::to_string(static_cast<int>(run.code)) + " " +
               std::string(exit_code_name(run.code)) + "\n";
    return out;
}

int finish_run(Context& ctx, const RunResult& run, bool dry_run) {
    if (ctx.json()) {
        ctx.print_json(run_json(run, dry_run));
    } else if (dry_run) {
        ctx.print(plan_text(run.plan) + "(dry run: nothing was changed)");
    } else {
        auto text = run_text(run);
        if (run.code == ExitCode::ok)
            ctx.print(text);
        else
            std::fputs(text.c_str(), stderr);
    }
    return static_cast<int>(run.code);
}

nlohmann::json lock_holder_json(const std::optional<LockHolder>& h) {
    if (!h)
        return nullptr;
    return {{"holder", h->holder},
            {"host", h->host},
            {"pid", h->pid},
            {"pod", h->pod},
            {"command", h->command},
            {"acquired_at", h->acquired_at},
            {"heartbeat_at", h->heartbeat_at},
            {"expires_at", h->expires_at},
            {"expired", h->expired}};
}

nlohmann::json freeze_json(const std::optional<History::Freeze>& f) {
    if (!f)
        return nullptr;
    return {{"reason", f->reason}, {"set_at", f->set_at},   {"set_by", f->set_by},
            {"run_id", f->run_id}, {"version", f->version}, {"exit_code", f->exit_code}};
}

nlohmann::json lockfile_json(const LockfileStatus& l) {
    nlohmann::json j = {{"state", LockfileStatus::name(l.kind)}};
    if (!l.detail.empty())
        j["detail"] = l.detail;
    if (l.body) {
        j["pid"] = l.body->holder.pid;
        j["host"] = l.body->holder.host;
        j["command"] = l.body->command;
        j["started_at"] = l.body->started_at;
        if (!l.body->release.empty())
            j["release"] = l.body->release;
        if (!l.body->reason.empty())
            j["reason"] = l.body->reason;
        if (l.body->exit_code)
            j["exit_code"] = l.body->exit_code;
    }
    return j;
}

namespace {

// Writes a (small) nlohmann value through the streaming writer, keys in nlohmann's order.
void write_json(check::JsonWriter& w, const nlohmann::json& v) {
    switch (v.type()) {
        case nlohmann::json::value_t::object:
            w.begin_object();
            for (const auto& [k, item] : v.items()) {
                w.key(k);
                write_json(w, item);
            }
            w.end_object();
            break;
        case nlohmann::json::value_t::array:
            w.begin_array();
            for (const auto& item : v)
                write_json(w, item);
            w.end_array();
            break;
        case nlohmann::json::value_t::string:
            w.value(v.get_ref<const std::string&>());
            break;
        case nlohmann::json::value_t::boolean:
            w.value(v.get<bool>());
            break;
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
            w.value(v.get<long long>());
            break;
        case nlohmann::json::value_t::null:
            w.null();
            break;
        default:
            w.raw(v.dump());
            break;
    }
}

}  // namespace

std::string status_json(const StatusReport& s) {
    // Streamed rather than built as a tree: on 1,000 migrations the tree and its dump were a
    // sixth of `status -o json`. Keys are in alphabetical order, as nlohmann writes them.
    std::string out;
    out.reserve(256 + s.entries.size() * 160);
    check::JsonWriter w(out);
    w.begin_object();
    w.key("counts");
    w.begin_object();
    w.member("applied", s.applied);
    w.member("dirty", s.dirty);
    w.member("drifted", s.drifted);
    w.member("missing_files", s.missing);
    w.member("out_of_order", s.out_of_order);
    w.member("pending", s.pending);
    w.end_object();
    w.key("current_version");
    if (s.current_version.empty())
        w.null();
    else
        w.value(s.current_version);
    w.member("database", s.database);
    w.key("freeze");
    write_json(w, freeze_json(s.freeze));
    w.member("initialized", s.initialized);
    w.key("lock");
    write_json(w, lock_holder_json(s.lock));
    w.key("lockfile");
    write_json(w, lockfile_json(s.lockfile));
    w.key("migrations");
    w.begin_array();
    auto optional = [&](const char* key, const std::string& v) {
        if (!v.empty())
            w.member(key, v);
    };
    for (const auto& e : s.entries) {
        w.begin_object();
        optional("applied_at", e.applied_at);
        optional("class", e.compat_class);
        optional("down_drift", e.down_drift);
        optional("drift", e.drift);
        w.member("has_file", e.has_file);
        w.member("name", e.name);
        optional("release", e.release);
        w.member("state", e.state);
        w.member("version", e.version);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return out;
}

std::string status_text(const StatusReport& s) {
    std::string out = "database: " + s.database + "\n";
    out += "schema version: " +
           (s.current_version.empty() ? std::string("(none applied)") : s.current_version) + "\n";
    if (s.freeze)
        out += "FROZEN since " + s.freeze->set_at + ": " + s.freeze->reason + "\n";
    if (s.lock)
        out += "migration lock: held by " + s.lock->command + " (pid " +
               std::to_string(s.lock->pid) + " on " + s.lock->host + ")" +
               (s.lock->expired ? ", lease expired" : ", until " + s.lock->expires_at) + "\n";
    if (s.lockfile.kind != LockfileStatus::Kind::absent) {
        out += std::string("lockfile: ") + LockfileStatus::name(s.lockfile.kind);
        if (s.lockfile.body)
            out += " (" + s.lockfile.body->command + ", pid " +
                   std::to_string(s.lockfile.body->holder.pid) + " on " +
                   s.lockfile.body->holder.host + ")";
        if (!s.lockfile.detail.empty())
            out += ": " + s.lockfile.detail;
        out += "\n";
    }
    out += std::to_string(s.applied) + " applied, " + std::to_string(s.pending) + " pending";
    if (s.dirty)
        out += ", " + std::to_string(s.dirty) + " DIRTY";
    if (s.drifted)
        out += ", " + std::to_string(s.drifted) + " changed on disk";
    if (s.missing)
        out += ", " + std::to_string(s.missing) + " without a file";
    if (s.out_of_order)
        out += ", " + std::to_string(s.out_of_order) + " out of order";
    out += "\n\n";
    for (const auto& e : s.entries) {
        std::string line = "  " + e.state;
        line.resize(16, ' ');
        line += e.version + "_" + e.name;
        if (!e.applied_at.empty())
            line += "  " + e.applied_at;
        if (!e.compat_class.empty())
            line += "  [" + e.compat_class + "]";
        if (e.drift == "changed")
            line += "  CHANGED ON DISK";
        if (e.drift == "cosmetic")
            line += "  (whitespace/comments changed)";
        if (e.down_drift == "changed")
            line += "  (down differs from stored)";
        out += line + "\n";
    }
    return out;
}

nlohmann::json history_row_json(const HistoryRow& r) {
    nlohmann::json j = {{"id", r.id},
                        {"run_id", r.run_id},
                        {"op", r.op},
                        {"version", r.version},
                        {"name", r.name},
                        {"outcome", r.outcome},
                        {"started_at", r.started_at},
                        {"finished_at", r.finished_at},
                        {"duration_ms", r.duration_ms},
                        {"db_user", r.db_user},
                        {"os_user", r.os_user},
                        {"host", r.host},
                        {"pod", r.pod},
                        {"pid", r.pid},
                        {"up_sha256", r.up_sha256},
                        {"down_sha256", r.down_sha256},
                        {"no_transaction", r.no_transaction},
                        {"release", r.release},
                        {"snapshot_id", r.snapshot_id},
                        {"class", r.compat_class},
                        {"error", r.error},
                        {"error_position", r.error_position},
                        {"reason", r.reason},
                        {"details", r.details}};
    if (r.error_statement >= 0)
        j["error_statement"] = r.error_statement;
    return j;
}

std::string history_text(const std::vector<HistoryRow>& rows) {
    if (rows.empty())
        return "no history yet\n";
    std::string out;
    for (const auto& r : rows) {
        std::string line = r.finished_at + "  " + r.op;
        line.resize(36, ' ');
        line += r.outcome;
        line.resize(56, ' ');
        if (!r.version.empty())
            line += r.version + (r.name.empty() ? "" : "_" + r.name) + "  ";
        line += std::to_string(r.duration_ms) + "ms  " + r.os_user + "@" + r.host;
        if (!r.release.empty())
            line += "  release " + r.release;
        if (!r.snapshot_id.empty())
            line += "  snapshot " + r.snapshot_id;
        if (!r.reason.empty())
            line += "  reason: " + r.reason;
        if (!r.error.empty())
            line += "\n      error" + (r.error_position.empty() ? "" : " at " + r.error_position) +
                    ": " + r.error;
        out += line + "\n";
    }
    return out;
}

}  // namespace rollsafe::cli
