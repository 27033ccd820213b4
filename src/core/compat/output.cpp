#include "core/compat/output.h"

#include <algorithm>
#include <map>
#include <regex>

#include "core/base/text.h"

namespace rollsafe::compat {
namespace {

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.resize(width, ' ');
    return s;
}

std::string shorten(const std::string& s, std::size_t width) {
    if (s.size() <= width) return s;
    return s.substr(0, width - 3) + "...";
}

// "7/7", "5/7 (2 breaks)", "-" when not reached; "*" marks a state the release need not work in.
std::string cell_summary(const ContractRun& run, std::size_t state, bool reached) {
    if (!run.found) return "no contract";
    if (!reached) return "-";
    int checked = 0, works = 0, breaks = 0, warns = 0, unresolved = 0;
    for (const auto& row : run.cells) {
        const auto& c = row[state];
        if (c.status == "skipped") continue;
        ++checked;
        if (c.status == "works") ++works;
        else if (c.status == "breaks") ++breaks;
        else if (c.status == "warns") ++warns, ++works;
        else if (c.status == "unresolved") ++unresolved;
    }
    std::string out = std::to_string(works) + "/" + std::to_string(checked);
    std::vector<std::string> extra;
    if (breaks) extra.push_back(std::to_string(breaks) + (breaks == 1 ? " break" : " breaks"));
    if (warns) extra.push_back(std::to_string(warns) + (warns == 1 ? " warning" : " warnings"));
    if (unresolved) extra.push_back(std::to_string(unresolved) + " unresolved");
    if (!extra.empty()) out += " (" + text::join(extra, ", ") + ")";
    if (!run.required[state]) out += " *";
    return out;
}

std::string column_header(const ContractRun& run) { return run.release + " (" + run.role + ")"; }

nlohmann::json problem_json(const Problem& p) {
    return {{"layer", p.layer},       {"rule", p.rule}, {"severity", p.severity}, {"migration", p.migration},
            {"direction", p.direction}, {"message", p.message}, {"file", p.file}, {"line", p.line},
            {"column", p.col},        {"classes", p.classes}};
}

std::string xml(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') out += ' ';
                else out += c;
        }
    }
    return out;
}

std::string md(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

}  // namespace

std::string render_text(const Report& r) {
    std::string out;
    if (r.skipped) {
        out += "dynamic layers (" + r.layers.text() + ") skipped: " + r.skipped_reason + "\n";
        return out;
    }
    Layers shown = r.layers;
    shown.rules = false;
    out += "dynamic layers (" + shown.text() + ") on " + r.scratch + "\n";
    out += "  before: " + r.before_source + "\n";
    out += "  pending: " + (r.pending.empty() ? std::string("none") : text::join(r.pending, ", ")) + "\n";

    if (r.layers.diff) {
        out += "\ncatalog diff\n";
        std::string current;
        if (r.changes.empty()) out += "  no changes\n";
        for (const auto& c : r.changes) {
            if (c.migration != current) {
                current = c.migration;
                out += "  " + current + "\n";
            }
            std::string effect = c.effect + (c.reverse ? "*" : "");
            out += "    " + pad(effect, 12) + c.change.describe() + "\n";
            if (c.effect != "expand") out += "                " + c.reason + "\n";
        }
        bool any_reverse = std::any_of(r.changes.begin(), r.changes.end(), [](const ClassifiedChange& c) { return c.reverse; });
        if (any_reverse) out += "  * reverse hazard: harmless now, breaks the old app once the new one writes\n";
    }

    if (!r.contracts.empty()) {
        out += "\ncontracts: statements that prepare and pass at each schema state (* = not required there)\n";
        std::size_t w0 = 14;
        for (const auto& s : r.states) w0 = std::max(w0, s.label.size());
        w0 = std::min<std::size_t>(w0, 52) + 2;
        std::vector<std::size_t> widths;
        std::string header = "  " + pad("schema state", w0);
        for (const auto& run : r.contracts) {
            std::size_t w = column_header(run).size();
            for (std::size_t i = 0; i < r.states.size(); ++i) w = std::max(w, cell_summary(run, i, r.states[i].reached).size());
            widths.push_back(w + 2);
            header += pad(column_header(run), w + 2);
        }
        out += header + "\n";
        for (std::size_t i = 0; i < r.states.size(); ++i) {
            std::string line = "  " + pad(shorten(r.states[i].label, w0 - 2), w0);
            for (std::size_t k = 0; k < r.contracts.size(); ++k)
                line += pad(cell_summary(r.contracts[k], i, r.states[i].reached), widths[k]);
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out += line + "\n";
        }
        // Each break once per statement and cause, where it is required.
        std::vector<std::string> breaks;
        for (const auto& run : r.contracts) {
            for (const auto& st : run.statements) {
                std::set<std::string> seen;
                const auto& row = run.cells[static_cast<std::size_t>(st.index)];
                for (std::size_t i = 0; i < row.size(); ++i) {
                    const auto& c = row[i];
                    if (!run.required[i] || (c.status != "breaks" && c.status != "warns")) continue;
                    if (!seen.insert(c.status + c.message + c.migration).second) continue;
                    std::string b = "  " + column_header(run) + " " + c.status + " " + r.states[i].label + "\n";
                    b += "    " + st.file + ":" + std::to_string(st.line) + ": " + shorten(st.text, 120) + "\n";
                    b += "    PostgreSQL: " + c.message + (c.sqlstate.empty() ? "" : " (" + c.sqlstate + ")") + "\n";
                    b += "    responsible: " + (c.migration.empty() ? std::string("none (the contract does not fit)") : c.migration) + "\n";
                    breaks.push_back(b);
                }
            }
        }
        if (!breaks.empty()) {
            out += "\n";
            for (const auto& b : breaks) out += b;
        }
    }

    if (r.layers.roundtrip) {
        out += "\nround-trip (up, down, up again)\n";
        if (r.roundtrips.empty()) out += "  nothing ran\n";
        for (const auto& rt : r.roundtrips) {
            std::string status = !rt.error.empty() ? rt.error
                                 : rt.after_down.empty() && rt.after_reup.empty() ? "ok"
                                                                                   : "differs";
            out += "  " + pad(rt.migration, 40) + status + "\n";
            for (const auto& d : rt.after_down) out += "    after the down: " + d + "\n";
            for (const auto& d : rt.after_reup) out += "    after the second up: " + d + "\n";
            for (const auto& n : rt.notes) out += "    note: " + n + "\n";
        }
        if (!r.downs_differences.empty()) {
            out += "  all downs together leave:\n";
            for (const auto& d : r.downs_differences) out += "    " + d + "\n";
        }
    }

    out += "\n" + std::to_string(r.errors()) + " error(s), " + std::to_string(r.warnings()) +
           " warning(s) from the dynamic layers\n";
    for (const auto& p : r.problems)
        out += "  " + pad(p.severity, 8) + pad(p.rule, 28) + p.message + "\n";
    if (!r.notes.empty()) {
        out += "notes\n";
        for (const auto& n : r.notes) out += "  " + n + "\n";
    }
    out += "(" + std::to_string(r.total_ms) + " ms, scratch database ready in " + std::to_string(r.startup_ms) + " ms)\n";
    return out;
}

nlohmann::json render_json(const Report& r) {
    nlohmann::json j;
    Layers shown = r.layers;
    j["layers"] = text::split(shown.text(), ',');
    j["skipped"] = r.skipped;
    if (r.skipped) j["skipped_reason"] = r.skipped_reason;
    j["scratch"] = r.scratch;
    j["before"] = r.before_source;
    j["blue"] = r.blue;
    j["green"] = r.green;
    j["with_data"] = r.with_data;
    j["pending"] = r.pending;
    j["states"] = nlohmann::json::array();
    for (const auto& s : r.states)
        j["states"].push_back({{"id", s.id}, {"label", s.label}, {"kind", s.kind}, {"migration", s.migration},
                               {"reached", s.reached}, {"fingerprint", s.fingerprint}});
    j["changes"] = nlohmann::json::array();
    for (const auto& c : r.changes)
        j["changes"].push_back({{"migration", c.migration},
                                {"object", c.change.object},
                                {"change", c.change.kind},
                                {"attribute", c.change.attribute},
                                {"before", c.change.before},
                                {"after", c.change.after},
                                {"description", c.change.describe()},
                                {"effect", c.effect},
                                {"reverse_hazard", c.reverse},
                                {"reason", c.reason},
                                {"class", c.klass}});
    j["contracts"] = nlohmann::json::array();
    for (const auto& run : r.contracts) {
        nlohmann::json cj = {{"release", run.release}, {"role", run.role}, {"path", run.path}, {"found", run.found},
                             {"required", run.required}};
        cj["statements"] = nlohmann::json::array();
        for (const auto& st : run.statements) {
            nlohmann::json sj = {{"index", st.index}, {"file", st.file},   {"line", st.line},
                                 {"text", st.text},   {"kind", st.kind},   {"select_star", st.star},
                                 {"fingerprint", st.fingerprint}};
            sj["cells"] = nlohmann::json::array();
            for (const auto& c : run.cells[static_cast<std::size_t>(st.index)]) {
                nlohmann::json cell = {{"status", c.status}};
                if (!c.message.empty()) cell["message"] = c.message;
                if (!c.sqlstate.empty()) cell["sqlstate"] = c.sqlstate;
                if (!c.migration.empty()) cell["migration"] = c.migration;
                if (!c.parameter_types.empty()) cell["parameter_types"] = c.parameter_types;
                if (!c.columns.empty()) {
                    nlohmann::json cols = nlohmann::json::array();
                    for (const auto& col : c.columns) cols.push_back({{"name", col.name}, {"type", col.type}});
                    cell["columns"] = cols;
                }
                sj["cells"].push_back(cell);
            }
            cj["statements"].push_back(sj);
        }
        j["contracts"].push_back(cj);
    }
    j["roundtrip"] = nlohmann::json::array();
    for (const auto& rt : r.roundtrips)
        j["roundtrip"].push_back({{"migration", rt.migration}, {"ran", rt.ran}, {"error", rt.error},
                                  {"after_down", rt.after_down}, {"after_reup", rt.after_reup}, {"notes", rt.notes},
                                  {"ok", rt.error.empty() && rt.after_down.empty() && rt.after_reup.empty()}});
    j["downs_differences"] = r.downs_differences;
    j["problems"] = nlohmann::json::array();
    for (const auto& p : r.problems) j["problems"].push_back(problem_json(p));
    j["errors"] = r.errors();
    j["warnings"] = r.warnings();
    j["notes"] = r.notes;
    nlohmann::json classes = nlohmann::json::object();
    for (const auto& [m, cs] : r.classes) classes[m] = check::ordered_classes(cs);
    j["classes"] = classes;
    j["timings"] = {{"scratch_ready_ms", r.startup_ms}, {"total_ms", r.total_ms}};
    return j;
}

std::string render_markdown(const Report& r) {
    std::string out = "### Blue/green compatibility on a real database\n\n";
    if (r.skipped) return out + "Dynamic layers skipped: " + md(r.skipped_reason) + "\n";
    out += "Scratch: " + md(r.scratch) + ". Before: " + md(r.before_source) + ". Pending: " +
           (r.pending.empty() ? std::string("none") : "`" + text::join(r.pending, "`, `") + "`") + ".\n\n";
    if (!r.contracts.empty()) {
        out += "| schema state |";
        for (const auto& run : r.contracts) out += " " + md(column_header(run)) + " |";
        out += "\n|---|";
        for (std::size_t k = 0; k < r.contracts.size(); ++k) out += "---|";
        out += "\n";
        for (std::size_t i = 0; i < r.states.size(); ++i) {
            out += "| " + md(r.states[i].label) + " |";
            for (const auto& run : r.contracts) {
                auto s = cell_summary(run, i, r.states[i].reached);
                bool bad = run.found && r.states[i].reached && run.required[i] && s.find("break") != std::string::npos;
                out += " " + std::string(bad ? "❌ " : "") + md(s) + " |";
            }
            out += "\n";
        }
        out += "\n`*` not required in that state (the new release runs once its migrations are applied).\n\n";
    }
    std::vector<const ClassifiedChange*> risky;
    for (const auto& c : r.changes)
        if (c.effect != "expand") risky.push_back(&c);
    if (r.layers.diff) {
        out += "<details><summary>Catalog diff: " + std::to_string(r.changes.size()) + " change(s), " +
               std::to_string(risky.size()) + " not expand-only</summary>\n\n| migration | change | effect | why |\n|---|---|---|---|\n";
        for (const auto& c : r.changes)
            out += "| `" + md(c.migration) + "` | " + md(c.change.describe()) + " | " + c.effect + (c.reverse ? " (reverse)" : "") +
                   " | " + md(c.reason) + " |\n";
        out += "\n</details>\n\n";
    }
    if (r.layers.roundtrip) {
        out += "| round-trip | result |\n|---|---|\n";
        for (const auto& rt : r.roundtrips) {
            std::string res = !rt.error.empty() ? rt.error
                              : rt.after_down.empty() && rt.after_reup.empty()
                                  ? "ok"
                                  : text::join(rt.after_down, "; ") + (rt.after_reup.empty() ? "" : "; again: " + text::join(rt.after_reup, "; "));
            out += "| `" + md(rt.migration) + "` | " + md(res) + " |\n";
        }
        out += "\n";
    }
    if (!r.problems.empty()) {
        out += "**" + std::to_string(r.errors()) + " error(s), " + std::to_string(r.warnings()) + " warning(s)**\n\n";
        for (const auto& p : r.problems)
            out += "- " + std::string(p.severity == "error" ? "❌" : "⚠️") + " `" + p.rule + "` " + md(p.message) + "\n";
        out += "\n";
    }
    return out;
}

std::string render_junit_suite(const Report& r, int& tests, int& failures) {
    std::map<std::string, std::vector<const Problem*>> by_case;
    std::vector<std::string> order;
    auto key_of = [](const std::string& layer, const std::string& migration) { return layer + "|" + migration; };
    for (const auto& layer : {"diff", "contracts", "roundtrip"}) {
        bool on = (std::string(layer) == "diff" && r.layers.diff) || (std::string(layer) == "contracts" && r.layers.contracts) ||
                  (std::string(layer) == "roundtrip" && r.layers.roundtrip);
        if (!on) continue;
        for (const auto& m : r.pending) {
            order.push_back(key_of(layer, m));
            by_case[order.back()];
        }
    }
    for (const auto& p : r.problems) {
        auto k = key_of(p.layer, p.migration.empty() && !r.pending.empty() ? r.pending.back() : p.migration);
        if (!by_case.count(k)) order.push_back(k);
        by_case[k].push_back(&p);
    }
    std::string cases;
    int s_tests = 0, s_failures = 0;
    for (const auto& k : order) {
        auto bar = k.find('|');
        std::string layer = k.substr(0, bar), migration = k.substr(bar + 1);
        ++s_tests;
        cases += "    <testcase classname=\"rollsafe.compat." + xml(layer) + "\" name=\"" + xml(migration) + "\" time=\"0\"";
        std::string errors, warnings;
        for (const auto* p : by_case[k]) (p->severity == "error" ? errors : warnings) += p->message + "\n";
        if (errors.empty() && warnings.empty()) {
            cases += "/>\n";
            continue;
        }
        cases += ">\n";
        if (!errors.empty()) {
            ++s_failures;
            cases += "      <failure type=\"compat-" + xml(layer) + "\" message=\"" + xml(errors.substr(0, errors.find('\n'))) +
                     "\">" + xml(errors) + "</failure>\n";
        }
        if (!warnings.empty()) cases += "      <system-out>" + xml(warnings) + "</system-out>\n";
        cases += "    </testcase>\n";
    }
    tests += s_tests;
    failures += s_failures;
    return "  <testsuite name=\"compatibility\" tests=\"" + std::to_string(s_tests) + "\" failures=\"" +
           std::to_string(s_failures) + "\" errors=\"0\" skipped=\"0\" time=\"0\">\n" + cases + "  </testsuite>\n";
}

std::string splice_junit(const std::string& junit_xml, const Report& r) {
    if (r.skipped) return junit_xml;
    static const std::regex head(R"re(<testsuites([^>]*) tests="(\d+)" failures="(\d+)")re");
    std::smatch m;
    if (!std::regex_search(junit_xml, m, head)) return junit_xml;
    int tests = std::stoi(m[2].str()), failures = std::stoi(m[3].str());
    std::string suite = render_junit_suite(r, tests, failures);
    std::string out = junit_xml;
    std::string replacement = "<testsuites" + m[1].str() + " tests=\"" + std::to_string(tests) + "\" failures=\"" +
                              std::to_string(failures) + "\"";
    out.replace(static_cast<std::size_t>(m.position(0)), static_cast<std::size_t>(m.length(0)), replacement);
    auto close = out.rfind("</testsuites>");
    if (close != std::string::npos) out.insert(close, suite);
    return out;
}

void add_findings(check::Report& report, const Report& dynamic) {
    if (report.migrations.empty()) return;
    for (const auto& p : dynamic.problems) {
        check::MigrationVerdict* target = &report.migrations.back();
        for (auto& v : report.migrations)
            if (v.migration == p.migration) target = &v;
        check::Finding f;
        f.rule_id = p.rule;
        f.severity = p.severity == "error" ? check::Severity::error : check::Severity::warning;
        f.migration = target->migration;
        f.file = p.file;
        f.line = p.line;
        f.col = p.col;
        f.direction = p.direction;
        f.message = p.message;
        f.why = p.layer == "contracts" ? "the release's own statements were PREPAREd against the migrated schema"
                : p.layer == "roundtrip" ? "the down was run after the up on a scratch database and the catalogs compared"
                                         : "the migration was applied to a scratch database and the catalogs compared";
        f.fix = "see docs/compatibility.md";
        if (p.rule == "compat-data-loss") f.breaks = {"loss"};
        else if (p.rule == "compat-breaks-new") f.breaks = {"new-app"};
        else if (p.layer != "roundtrip") f.breaks = {"old-app"};
        f.classes = p.classes;
        target->findings.push_back(std::move(f));
    }
}

void refine_classes(check::Report& report, const Report& dynamic) {
    if (dynamic.skipped) return;
    for (auto& v : report.migrations) {
        auto it = dynamic.classes.find(v.migration);
        if (it == dynamic.classes.end()) continue;
        // Applied and diffed: what the database showed replaces "could not analyse".
        v.classes.erase("unknown");
        for (const auto& c : it->second) v.classes.insert(c);
        bool hazard = v.classes.count("contract") || v.classes.count("unsafe-lock") || v.classes.count("unknown");
        if (hazard) v.classes.erase("expand");
        else v.classes.insert("expand");
    }
}

Verdict verdict(const check::Report& rules, const Report* dynamic, const Layers& layers) {
    Verdict v;
    int rule_errors = layers.rules ? rules.errors() : 0;
    int dyn_errors = dynamic && !dynamic->skipped ? dynamic->errors() : 0;
    std::vector<std::string> parts;
    if (layers.rules) parts.push_back("rules: " + std::to_string(rule_errors) + " blocking");
    if (dynamic && dynamic->skipped) {
        parts.push_back("diff/contracts/roundtrip skipped");
    } else if (dynamic) {
        int contract_breaks = 0, diff_errors = 0, rt_errors = 0;
        for (const auto& p : dynamic->problems) {
            if (p.severity != "error") continue;
            if (p.layer == "contracts") ++contract_breaks;
            else if (p.layer == "roundtrip") ++rt_errors;
            else ++diff_errors;
        }
        if (layers.diff) parts.push_back("diff: " + std::to_string(diff_errors) + " blocking");
        if (layers.contracts) {
            int found = 0;
            for (const auto& c : dynamic->contracts) found += c.found;
            parts.push_back("contracts: " + (found ? std::to_string(contract_breaks) + " break(s)" : std::string("none found")));
        }
        if (layers.roundtrip) parts.push_back("round-trip: " + std::to_string(rt_errors) + " failure(s)");
    }
    if (!rules.parse_errors.empty()) {
        v.compatible = false;
        v.exit_code = 2;
        v.text = "verdict: UNCHECKED (" + std::to_string(rules.parse_errors.size()) + " unparsable script(s))";
        return v;
    }
    v.compatible = rule_errors == 0 && dyn_errors == 0;
    v.exit_code = v.compatible ? 0 : 5;
    v.text = std::string("verdict: ") + (v.compatible ? "compatible" : "INCOMPATIBLE") + " (" + text::join(parts, "; ") + ")";
    return v;
}

}  // namespace rollsafe::compat
