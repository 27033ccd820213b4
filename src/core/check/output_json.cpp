#include "core/check/json_writer.h"
#include "core/check/output.h"

namespace rollsafe::check {

std::string render_json(const Report& report, const RenderOptions& options) {
    std::string out;
    std::size_t count = 0;
    for (const auto& v : report.migrations)
        count += v.findings.size();
    out.reserve(4096 + count * 1200);
    JsonWriter w(out);
    w.begin_object();
    w.member("tool", "rollsafe");
    w.member("version", options.tool_version);
    w.key("pg_version");
    w.value(report.pg_version);
    w.key("summary");
    w.begin_object();
    w.key("migrations");
    w.value(static_cast<long long>(report.migrations.size()));
    w.key("errors");
    w.value(report.errors());
    w.key("warnings");
    w.value(report.warnings());
    w.key("suppressed");
    w.value(report.suppressed());
    w.key("unparsable");
    w.value(static_cast<long long>(report.parse_errors.size()));
    w.key("exit_code");
    w.value(report.exit_code());
    w.end_object();
    w.key("migrations");
    w.begin_array();
    for (const auto& v : report.migrations) {
        w.begin_object();
        w.member("migration", v.migration);
        w.member("version", v.version);
        w.member("class", v.class_string());
        w.member("classes", ordered_classes(v.classes));
        w.key("blocking");
        w.value(v.blocking());
        w.key("compatible_with_previous_release");
        w.value(v.compatible_with_previous_release());
        w.key("findings");
        w.begin_array();
        for (const auto& f : v.findings) {
            w.begin_object();
            w.member("rule", f.rule_id);
            w.member("severity", severity_text(f.severity));
            w.member("direction", f.direction);
            w.member("file", f.file);
            w.key("line");
            w.value(f.line);
            w.key("column");
            w.value(f.col);
            w.key("end_line");
            w.value(f.end_line);
            w.key("end_column");
            w.value(f.end_col);
            w.member("message", f.message);
            w.member("breaks", f.breaks);
            w.member("lock", f.lock);
            w.member("classes", f.classes);
            w.member("why", f.why);
            w.member("fix", f.fix);
            w.member("docs", options.docs_base + f.rule_id + ".md");
            w.key("suppressed");
            w.value(f.suppressed);
            w.key("suppression");
            if (f.suppressed) {
                w.begin_object();
                w.member("reason", f.suppression_reason);
                w.key("line");
                w.value(f.suppression_line);
                w.end_object();
            } else {
                w.null();
            }
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("parse_errors");
    w.begin_array();
    for (const auto& d : report.parse_errors) {
        w.begin_object();
        w.member("file", d.file);
        w.key("line");
        w.value(d.line);
        w.key("column");
        w.value(d.col);
        w.member("message", d.message);
        w.member("hint", d.hint);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    out += '\n';
    return out;
}

}  // namespace rollsafe::check
