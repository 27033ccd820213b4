#include "core/snapshot/manifest.h"

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/snapshot/touched.h"

namespace rollsafe::snapshot {

using json = nlohmann::json;

std::string TableEntry::qualified() const {
    return Relation{schema, name, kind, 0}.qualified();
}

json Manifest::to_json() const {
    json tables_json = json::array();
    for (const auto& t : tables) {
        tables_json.push_back({{"schema", t.schema},
                               {"name", t.name},
                               {"kind", std::string(1, t.kind)},
                               {"rows", t.rows},
                               {"row_estimate", t.row_estimate},
                               {"bytes", t.bytes},
                               {"total_bytes", t.total_bytes},
                               {"why", t.why}});
    }
    json doc = {{"format", format},
                {"id", id},
                {"created_at", created_at},
                {"created_unix", created_unix},
                {"created_ms", created_ms},
                {"database", database},
                {"dbname", dbname},
                {"schema_version_before", schema_version_before},
                {"mode", mode},
                {"mode_reasons", mode_reasons},
                {"tables", tables_json},
                {"bytes", bytes},
                {"sha256", sha256},
                {"pg_dump_version", pg_dump_version},
                {"pg_dump_major", pg_dump_major},
                {"server_version", server_version},
                {"server_version_num", server_version_num},
                {"archive", archive},
                {"duration_ms", duration_ms}};
    doc["batch"] = batch ? json{{"direction", batch->direction},
                                {"run_id", batch->run_id},
                                {"migrations", batch->migrations}}
                         : json(nullptr);
    if (verification) {
        doc["verification"] = {{"at", verification->at},
                               {"ok", verification->ok},
                               {"sha256", verification->sha256},
                               {"error", verification->error},
                               {"rows", verification->rows}};
    } else {
        doc["verification"] = nullptr;
    }
    return doc;
}

Manifest Manifest::from_json(const json& doc) {
    Manifest m;
    m.format = doc.value("format", 1);
    m.id = doc.at("id").get<std::string>();
    m.created_at = doc.value("created_at", "");
    m.created_unix = doc.value("created_unix", 0LL);
    m.created_ms = doc.value("created_ms", m.created_unix * 1000);
    m.database = doc.value("database", "");
    m.dbname = doc.value("dbname", "");
    m.schema_version_before = doc.value("schema_version_before", "");
    m.mode = doc.value("mode", "");
    m.mode_reasons = doc.value("mode_reasons", std::vector<std::string>{});
    for (const auto& t : doc.value("tables", json::array())) {
        TableEntry e;
        e.schema = t.value("schema", "");
        e.name = t.value("name", "");
        auto kind = t.value("kind", "r");
        e.kind = kind.empty() ? 'r' : kind[0];
        e.rows = t.value("rows", -1LL);
        e.row_estimate = t.value("row_estimate", -1LL);
        e.bytes = t.value("bytes", 0LL);
        e.total_bytes = t.value("total_bytes", 0LL);
        e.why = t.value("why", "");
        m.tables.push_back(e);
    }
    m.bytes = doc.value("bytes", 0LL);
    m.sha256 = doc.value("sha256", "");
    m.pg_dump_version = doc.value("pg_dump_version", "");
    m.pg_dump_major = doc.value("pg_dump_major", 0);
    m.server_version = doc.value("server_version", "");
    m.server_version_num = doc.value("server_version_num", 0);
    m.archive = doc.value("archive", m.id + ".dump");
    m.duration_ms = doc.value("duration_ms", 0LL);
    if (doc.contains("batch") && doc["batch"].is_object()) {
        BatchInfo b;
        b.direction = doc["batch"].value("direction", "");
        b.run_id = doc["batch"].value("run_id", "");
        b.migrations = doc["batch"].value("migrations", std::vector<std::string>{});
        m.batch = b;
    }
    if (doc.contains("verification") && doc["verification"].is_object()) {
        const auto& v = doc["verification"];
        Verification ver;
        ver.at = v.value("at", "");
        ver.ok = v.value("ok", false);
        ver.sha256 = v.value("sha256", "");
        ver.error = v.value("error", "");
        ver.rows = v.value("rows", std::map<std::string, long long>{});
        m.verification = ver;
    }
    return m;
}

std::optional<TableEntry> Manifest::find_table(const std::string& name) const {
    // "schema.table" (each part possibly quoted), or a bare table name.
    std::string schema, table;
    {
        std::vector<std::string> parts;
        std::string cur;
        bool quoted = false, was_quoted = false;
        for (std::size_t i = 0; i < name.size(); ++i) {
            char c = name[i];
            if (c == '"') {
                if (quoted && i + 1 < name.size() && name[i + 1] == '"') {
                    cur += '"';
                    ++i;
                } else {
                    quoted = !quoted;
                    was_quoted = true;
                }
            } else if (c == '.' && !quoted) {
                parts.push_back(was_quoted ? cur : text::to_lower(cur));
                cur.clear();
                was_quoted = false;
            } else {
                cur += c;
            }
        }
        parts.push_back(was_quoted ? cur : text::to_lower(cur));
        if (parts.size() == 1)
            table = parts[0];
        else if (parts.size() == 2) {
            schema = parts[0];
            table = parts[1];
        } else {
            throw usage_error("\"" + name + "\" is not a table name", "use table or schema.table");
        }
    }
    std::vector<TableEntry> matches;
    for (const auto& t : tables) {
        // A name written without quotes may still match a mixed-case table exactly as written.
        bool same = t.name == table || (schema.empty() && t.name == name);
        if (same && (schema.empty() || t.schema == schema))
            matches.push_back(t);
    }
    if (matches.empty())
        return std::nullopt;
    if (matches.size() > 1) {
        std::vector<std::string> names;
        for (const auto& m : matches)
            names.push_back(m.qualified());
        throw usage_error(
            "\"" + name + "\" matches several tables in the snapshot: " + text::join(names, ", "),
            "name the schema: --table schema.table");
    }
    return matches.front();
}

}  // namespace rollsafe::snapshot
