#include "core/check/analyzer.h"

#include <algorithm>
#include <cctype>

#include "core/base/duration.h"
#include "core/base/text.h"

namespace rollsafe::check::detail {

const char* lock_name(LockLevel level) {
    switch (level) {
        case LockLevel::none:
            return "";
        case LockLevel::access_share:
            return "ACCESS SHARE";
        case LockLevel::row_share:
            return "ROW SHARE";
        case LockLevel::row_exclusive:
            return "ROW EXCLUSIVE";
        case LockLevel::share_update_exclusive:
            return "SHARE UPDATE EXCLUSIVE";
        case LockLevel::share:
            return "SHARE";
        case LockLevel::share_row_exclusive:
            return "SHARE ROW EXCLUSIVE";
        case LockLevel::exclusive:
            return "EXCLUSIVE";
        case LockLevel::access_exclusive:
            return "ACCESS EXCLUSIVE";
    }
    return "";
}

std::string ident(std::string_view name) {
    bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
        plain = plain && (std::islower(static_cast<unsigned char>(c)) ||
                          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '$');
    if (plain)
        return std::string(name);
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string display_name(const tree::Node& range_var) {
    auto schema = range_var["schemaname"].str();
    auto name = range_var["relname"].str();
    if (schema.empty() || schema == "public")
        return ident(name);
    return ident(schema) + "." + ident(name);
}

std::string range_key(const tree::Node& range_var) {
    return relation_key(range_var["schemaname"].str(), range_var["relname"].str());
}

Analyzer::Analyzer(const Options& options, SchemaModel& model)
    : m_options(options), m_model(&model) {}

std::vector<Hit> Analyzer::analyze(const Script& script, const SqlSource& sql,
                                   const LineIndex& lines, int scope, bool down, bool learn_only) {
    m_script = &script;
    m_sql = &sql;
    m_lines = &lines;
    m_scope = scope;
    m_down = down;
    m_learn_only = learn_only;
    m_wrapped = !script.no_transaction();
    m_in_tx = m_wrapped;
    // rollsafe drops a BEGIN ... COMMIT pair around the whole script (executable_statements).
    auto tx_kind = [](const SqlStatement& st) {
        return st.kind == "TransactionStmt" ? (*st.node)["kind"].str() : std::string();
    };
    m_unwrapped = sql.statements.size() >= 2 &&
                  (tx_kind(sql.statements.front()) == "TRANS_STMT_BEGIN" ||
                   tx_kind(sql.statements.front()) == "TRANS_STMT_START") &&
                  tx_kind(sql.statements.back()) == "TRANS_STMT_COMMIT";
    m_hits.clear();
    m_renames.clear();
    m_views_created.clear();
    m_tx_not_valid.clear();
    if (const auto* d = script.directive("lock-timeout")) {
        auto ms = parse_duration(d->value);
        m_lock_timeout = ms ? static_cast<long long>(ms->count()) : m_options.lock_timeout_ms;
        m_timeout_origin =
            "-- rollsafe:lock-timeout=" + d->value + " at line " + std::to_string(d->line);
    } else {
        m_lock_timeout = m_options.lock_timeout_ms;
        m_timeout_origin = "timeouts.lock is 0";
    }
    m_timeout_before_tx = m_lock_timeout;
    for (std::size_t i = 0; i < sql.statements.size(); ++i) {
        m_index = static_cast<int>(i);
        m_stmt = &sql.statements[i];
        m_effect = LockLevel::none;
        m_effect_table.clear();
        statement(*m_stmt);
        finish_statement();
    }
    finish_script();
    m_stmt = nullptr;
    if (learn_only)
        return {};
    return std::move(m_hits);
}

void Analyzer::hit(const std::string& rule, std::string message, std::size_t offset,
                   std::optional<Severity> severity,
                   std::optional<std::vector<std::string>> classes, std::string lock) {
    Hit h;
    h.rule = rule;
    h.message = std::move(message);
    h.offset = offset;
    h.statement = m_stmt ? m_index : -1;
    h.severity = severity;
    h.classes = std::move(classes);
    h.lock = std::move(lock);
    m_hits.push_back(std::move(h));
}

std::size_t Analyzer::where(const tree::Node& n) const {
    if (!m_stmt)
        return 0;
    const auto& direct = n["location"];
    const auto& loc = direct.is_null() ? n.inner()["location"] : direct;
    if (loc.type() == tree::Node::Type::integer && loc.integer() > 0) {
        std::size_t off = m_stmt->base + static_cast<std::size_t>(loc.integer());
        if (off >= m_stmt->offset && off <= m_stmt->end)
            return off;
    }
    return m_stmt->offset;
}

bool Analyzer::relation_is_new(const std::string& key) const {
    const auto* r = m_model->relation(key);
    if (r && r->scope == m_scope)
        return true;
    auto dot = key.find('.');
    return dot != std::string::npos && object_is_new("schema:" + key.substr(0, dot));
}

bool Analyzer::column_is_new(const std::string& table, const std::string& column) const {
    if (relation_is_new(table))
        return true;
    const auto* r = m_model->relation(table);
    if (!r)
        return false;
    auto it = r->columns.find(column);
    return it != r->columns.end() && it->second.scope == m_scope;
}

bool Analyzer::object_is_new(const std::string& key) const {
    auto scope = m_model->object_scope(key);
    if (scope && *scope == m_scope)
        return true;
    // "type:sales.money" is new when the schema "sales" is.
    auto colon = key.find(':');
    auto dot = key.find('.', colon == std::string::npos ? 0 : colon + 1);
    if (colon != std::string::npos && dot != std::string::npos &&
        key.compare(0, colon, "schema") != 0) {
        auto schema_scope =
            m_model->object_scope("schema:" + key.substr(colon + 1, dot - colon - 1));
        return schema_scope && *schema_scope == m_scope;
    }
    return false;
}

void Analyzer::take_lock(LockLevel level, const std::string& table) {
    if (table.empty() || relation_is_new(table))
        return;
    if (level > m_effect) {
        m_effect = level;
        m_effect_table = table;
    }
}

void Analyzer::check_type(const TypeRef& t, const std::string& column, std::size_t offset) {
    if (t.name.empty() || m_down)
        return;
    if (t.name == "json")
        hit("json-column", "column " + column + " is json; jsonb is faster and comparable", offset);
    if (t.name == "int4" || t.name == "int2")
        hit("prefer-bigint", "column " + column + " is " + t.sql() + "; bigint does not run out",
            offset);
    if (t.serial)
        hit("prefer-identity",
            "column " + column + " is " + t.sql() + "; prefer an identity column", offset);
    if ((t.name == "varchar" && !t.mods.empty()) || t.name == "bpchar")
        hit("prefer-text",
            "column " + column + " is " + t.sql() + "; prefer text with a CHECK on its length",
            offset);
    if (t.name == "timestamp")
        hit("prefer-timestamptz",
            "column " + column + " is timestamp without time zone; prefer timestamptz", offset);
}

namespace {

bool ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           (static_cast<unsigned char>(c) & 0x80);
}

// PostgreSQL's parser has already cut identifiers to 63 bytes, so a name of exactly 63 bytes may
// be a longer one: find it in the statement's text. Returns the name as written, or "".
std::string written_longer(std::string_view text, std::string_view name) {
    std::size_t pos = 0;
    while (true) {
        std::size_t found = std::string::npos;
        for (std::size_t i = pos; i + name.size() <= text.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(text[i])) !=
                std::tolower(static_cast<unsigned char>(name[0])))
                continue;
            bool same = true;
            for (std::size_t k = 1; k < name.size() && same; ++k)
                same = std::tolower(static_cast<unsigned char>(text[i + k])) ==
                       std::tolower(static_cast<unsigned char>(name[k]));
            if (same && (i == 0 || !ident_char(text[i - 1]))) {
                found = i;
                break;
            }
        }
        if (found == std::string::npos)
            return {};
        std::size_t end = found + name.size();
        if (end < text.size() && ident_char(text[end])) {
            while (end < text.size() && ident_char(text[end]))
                ++end;
            return std::string(text.substr(found, end - found));
        }
        pos = found + 1;
    }
}

}  // namespace

void Analyzer::check_identifier(std::string_view name, const char* what, std::size_t offset) {
    if (name.size() < 63 || m_down || !m_stmt || !m_script)
        return;
    std::string_view stmt(m_script->text.data() + m_stmt->offset, m_stmt->end - m_stmt->offset);
    std::string full = name.size() > 63 ? std::string(name) : written_longer(stmt, name);
    if (full.empty())
        return;
    hit("identifier-too-long",
        std::string(what) + " name \"" + full + "\" is " + std::to_string(full.size()) +
            " bytes; PostgreSQL silently truncates it to 63 (\"" + std::string(name.substr(0, 63)) +
            "\")",
        offset);
}

void Analyzer::robust(bool idempotent, const std::string& what) {
    if (idempotent || m_wrapped || m_in_tx || !m_sql)
        return;
    if (static_cast<std::size_t>(m_index) + 1 >= m_sql->statements.size())
        return;
    hit("prefer-robust-statements",
        what +
            " is not safe to run twice: later statements of this no-transaction migration can fail "
            "after it "
            "committed",
        m_stmt->offset);
}

void Analyzer::not_in_transaction(const std::string& what) {
    if (!m_in_tx)
        return;
    hit("statement-fails-in-transaction",
        what + " cannot run inside a transaction block" +
            (m_wrapped
                 ? std::string(
                       ": rollsafe runs this migration in one; mark it -- rollsafe:no-transaction")
                 : std::string(" (this one is inside BEGIN ... COMMIT)")),
        m_stmt->offset);
}

void Analyzer::finish_statement() {
    if (m_effect < LockLevel::share || m_lock_timeout > 0)
        return;
    hit("missing-lock-timeout",
        std::string(lock_name(m_effect)) + " lock on " + m_effect_table +
            " with no lock_timeout in force (" + m_timeout_origin + "): every query on " +
            m_effect_table + " queues behind this statement while it waits",
        m_stmt->offset, std::nullopt, std::nullopt, lock_name(m_effect));
}

void Analyzer::finish_script() {
    // ALTER TABLE a RENAME TO b followed by CREATE VIEW a AS SELECT ... FROM b keeps the old name
    // working for the old app: that rename is the expand step, not a contract change.
    std::vector<std::size_t> drop;
    for (const auto& r : m_renames)
        if (m_views_created.count(r.old_key))
            drop.push_back(r.hit);
    if (!drop.empty()) {
        std::sort(drop.begin(), drop.end());
        for (auto it = drop.rbegin(); it != drop.rend(); ++it)
            m_hits.erase(m_hits.begin() + static_cast<long>(*it));
    }
    if (!m_wrapped && m_in_tx && m_sql && !m_sql->statements.empty()) {
        m_stmt = &m_sql->statements.back();
        m_index = static_cast<int>(m_sql->statements.size()) - 1;
        hit("uncommitted-transaction",
            "the transaction opened with BEGIN is never committed: its changes are rolled back "
            "when the session ends",
            m_stmt->offset);
    }
}

}  // namespace rollsafe::check::detail
