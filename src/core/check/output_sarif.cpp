#include <map>

#include "core/base/sha256.h"
#include "core/base/text.h"
#include "core/check/json_writer.h"
#include "core/check/output.h"
#include "core/check/rules.h"

namespace rollsafe::check {
namespace {

// Percent-encodes a path into a URI reference; absolute paths become file:// URIs.
std::string path_uri(std::string path) {
    while (text::starts_with(path, "./"))
        path.erase(0, 2);
    std::string out = path.empty() || path[0] != '/' ? "" : "file://";
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned char c : path) {
        bool keep = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' ||
                    c == ':' || c == '@' || c == '!' || c == '$' || c == '&' || c == '\'' ||
                    c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' ||
                    c == '=';
        if (keep) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

// "drop-column" -> "DropColumn" (SARIF's reportingDescriptor.name).
std::string pascal(const std::string& id) {
    std::string out;
    bool up = true;
    for (char c : id) {
        if (c == '-') {
            up = true;
            continue;
        }
        out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        up = false;
    }
    return out;
}

const char* sarif_level(Severity s) {
    switch (s) {
        case Severity::error:
            return "error";
        case Severity::warning:
            return "warning";
        case Severity::info:
            return "note";
    }
    return "warning";
}

void region(JsonWriter& w, int line, int col, int end_line, int end_col) {
    w.key("region");
    w.begin_object();
    w.key("startLine");
    w.value(std::max(line, 1));
    w.key("startColumn");
    w.value(std::max(col, 1));
    if (end_line >= line && end_line > 0) {
        w.key("endLine");
        w.value(end_line);
        int ec = end_line == line ? std::max(end_col, std::max(col, 1)) : std::max(end_col, 1);
        w.key("endColumn");
        w.value(ec);
    }
    w.end_object();
}

}  // namespace

std::string render_sarif(const Report& report, const RenderOptions& options) {
    const auto& catalogue = rules();
    std::map<std::string, int> index;
    for (std::size_t i = 0; i < catalogue.size(); ++i)
        index[catalogue[i].id] = static_cast<int>(i);

    std::string out;
    std::size_t count = 0;
    for (const auto& v : report.migrations)
        count += v.findings.size();
    out.reserve(64 * 1024 + count * 900);
    JsonWriter w(out);
    w.begin_object();
    w.member("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    w.member("version", "2.1.0");
    w.key("runs");
    w.begin_array();
    w.begin_object();

    w.key("tool");
    w.begin_object();
    w.key("driver");
    w.begin_object();
    w.member("name", "rollsafe");
    w.member("semanticVersion", options.tool_version.empty() ? "0.0.0" : options.tool_version);
    w.key("rules");
    w.begin_array();
    for (const auto& r : catalogue) {
        w.begin_object();
        w.member("id", r.id);
        w.member("name", pascal(r.id));
        w.key("shortDescription");
        w.begin_object();
        w.member("text", r.title);
        w.end_object();
        w.key("fullDescription");
        w.begin_object();
        w.member("text", r.detects);
        w.end_object();
        w.key("help");
        w.begin_object();
        w.member("text", r.why + "\n\nSafe recipe: " + r.fix);
        w.member("markdown", "**Why:** " + r.why + "\n\n**Safe recipe:** " + r.fix + "\n\nSee `" +
                                 options.docs_base + r.id + ".md`.");
        w.end_object();
        w.key("defaultConfiguration");
        w.begin_object();
        w.member("level", sarif_level(r.severity));
        w.end_object();
        w.key("properties");
        w.begin_object();
        std::vector<std::string> tags = {"rollsafe", r.category};
        for (const auto& b : r.breaks)
            tags.push_back("breaks:" + b);
        w.member("tags", tags);
        if (!r.lock.empty())
            w.member("lock", r.lock);
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.end_object();  // driver
    w.end_object();  // tool

    w.key("invocations");
    w.begin_array();
    w.begin_object();
    w.key("executionSuccessful");
    w.value(report.parse_errors.empty());
    w.key("toolExecutionNotifications");
    w.begin_array();
    for (const auto& d : report.parse_errors) {
        w.begin_object();
        w.member("level", "error");
        w.key("message");
        w.begin_object();
        w.member("text", d.message + (d.hint.empty() ? std::string() : " (" + d.hint + ")"));
        w.end_object();
        w.key("locations");
        w.begin_array();
        w.begin_object();
        w.key("physicalLocation");
        w.begin_object();
        w.key("artifactLocation");
        w.begin_object();
        w.member("uri", path_uri(d.file));
        w.end_object();
        region(w, d.line, d.col, 0, 0);
        w.end_object();
        w.end_object();
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.end_array();

    w.member("columnKind", "unicodeCodePoints");
    w.key("properties");
    w.begin_object();
    w.key("pgVersion");
    w.value(report.pg_version);
    w.end_object();

    w.key("results");
    w.begin_array();
    for (const auto& v : report.migrations) {
        for (const auto& f : v.findings) {
            w.begin_object();
            w.member("ruleId", f.rule_id);
            auto it = index.find(f.rule_id);
            if (it != index.end()) {
                w.key("ruleIndex");
                w.value(it->second);
            }
            w.member("level", sarif_level(f.severity));
            w.key("message");
            w.begin_object();
            w.member("text", f.message + (f.direction == "down" ? " (down script)" : ""));
            w.end_object();
            w.key("locations");
            w.begin_array();
            w.begin_object();
            w.key("physicalLocation");
            w.begin_object();
            w.key("artifactLocation");
            w.begin_object();
            w.member("uri", path_uri(f.file));
            w.end_object();
            region(w, f.line, f.col, f.end_line, f.end_col);
            w.end_object();
            w.end_object();
            w.end_array();
            w.key("partialFingerprints");
            w.begin_object();
            w.member("rollsafe/v1", sha256_hex(f.rule_id + "|" + f.file + "|" + f.direction + "|" +
                                               std::string(text::trim(f.source_line))));
            w.end_object();
            if (f.suppressed) {
                w.key("suppressions");
                w.begin_array();
                w.begin_object();
                w.member("kind", "inSource");
                w.member("status", "accepted");
                w.member("justification", f.suppression_reason);
                w.end_object();
                w.end_array();
            }
            w.key("properties");
            w.begin_object();
            w.member("migration", f.migration);
            w.member("direction", f.direction);
            w.member("breaks", f.breaks);
            w.member("classes", f.classes);
            if (!f.lock.empty())
                w.member("lock", f.lock);
            w.end_object();
            w.end_object();
        }
    }
    w.end_array();
    w.end_object();  // run
    w.end_array();
    w.end_object();
    out += '\n';
    return out;
}

}  // namespace rollsafe::check
