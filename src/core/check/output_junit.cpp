#include <map>

#include "core/check/output.h"
#include "core/check/rules.h"

namespace rollsafe::check {
namespace {

// Escapes text for XML 1.0 (characters XML cannot carry become '?').
void xml_into(std::string& out, std::string_view s, bool attribute) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += attribute ? "&quot;" : "\"";
                break;
            case '\n':
                out += attribute ? "&#10;" : "\n";
                break;
            case '\r':
                out += attribute ? "&#13;" : "\r";
                break;
            case '\t':
                out += attribute ? "&#9;" : "\t";
                break;
            default:
                out += u < 0x20 ? '?' : c;
        }
    }
}

std::string xml(std::string_view s, bool attribute = true) {
    std::string out;
    xml_into(out, s, attribute);
    return out;
}

std::string where(const Finding& f) {
    return f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col);
}

}  // namespace

std::string render_junit(const Report& report, const RenderOptions& options) {
    const auto& catalogue = rules();
    std::string suites;
    int tests = 0, failures = 0, skipped = 0;
    for (const auto& v : report.migrations) {
        std::map<std::string, std::vector<const Finding*>> by_rule;
        for (const auto& f : v.findings)
            by_rule[f.rule_id].push_back(&f);
        int s_tests = 0, s_failures = 0, s_skipped = 0;
        std::string cases;
        for (const auto& r : catalogue) {
            ++s_tests;
            cases += "    <testcase classname=\"rollsafe.check." + xml(v.migration) + "\" name=\"" +
                     xml(r.id) + "\"";
            auto it = by_rule.find(r.id);
            if (it == by_rule.end()) {
                cases += " time=\"0\"/>\n";
                continue;
            }
            const auto& found = it->second;
            cases += " file=\"" + xml(found.front()->file) + "\" line=\"" +
                     std::to_string(found.front()->line) + "\" time=\"0\">\n";
            std::vector<const Finding*> errors, warnings, suppressed;
            for (const auto* f : found) {
                if (f->suppressed)
                    suppressed.push_back(f);
                else if (f->severity == Severity::error)
                    errors.push_back(f);
                else
                    warnings.push_back(f);
            }
            if (!errors.empty()) {
                ++s_failures;
                std::string body;
                for (const auto* f : errors)
                    body += where(*f) + ": " + f->message + "\n";
                body += "\nwhy: " + r.why + "\nfix: " + r.fix + "\ndocs: " + options.docs_base +
                        r.id + ".md\n";
                cases += "      <failure type=\"" + xml(r.id) + "\" message=\"" +
                         xml(errors.front()->message) + "\">";
                xml_into(cases, body, false);
                cases += "</failure>\n";
            } else if (warnings.empty()) {
                ++s_skipped;
                cases += "      <skipped message=\"" +
                         xml("suppressed: " + suppressed.front()->suppression_reason) + "\"/>\n";
            }
            if (!warnings.empty() || !suppressed.empty()) {
                std::string body;
                for (const auto* f : warnings)
                    body += "warning: " + where(*f) + ": " + f->message + "\n";
                for (const auto* f : suppressed)
                    body += "suppressed: " + where(*f) + ": " + f->message +
                            " (reason: " + f->suppression_reason + ")\n";
                cases += "      <system-out>";
                xml_into(cases, body, false);
                cases += "</system-out>\n";
            }
            cases += "    </testcase>\n";
        }
        tests += s_tests;
        failures += s_failures;
        skipped += s_skipped;
        suites += "  <testsuite name=\"" + xml(v.migration) + "\" tests=\"" +
                  std::to_string(s_tests) + "\" failures=\"" + std::to_string(s_failures) +
                  "\" errors=\"0\" skipped=\"" + std::to_string(s_skipped) + "\" time=\"0\">\n";
        suites +=
            "    <properties>\n      <property name=\"class\" value=\"" + xml(v.class_string()) +
            "\"/>\n      <property name=\"compatible_with_previous_release\" value=\"" +
            (v.compatible_with_previous_release() ? "true" : "false") + "\"/>\n    </properties>\n";
        suites += cases + "  </testsuite>\n";
    }
    int parse_errors = static_cast<int>(report.parse_errors.size());
    if (parse_errors) {
        suites += "  <testsuite name=\"parse\" tests=\"" + std::to_string(parse_errors) +
                  "\" failures=\"0\" errors=\"" + std::to_string(parse_errors) +
                  "\" skipped=\"0\" time=\"0\">\n";
        for (const auto& d : report.parse_errors) {
            suites += "    <testcase classname=\"rollsafe.check.parse\" name=\"" + xml(d.file) +
                      "\" time=\"0\">\n";
            suites += "      <error type=\"syntax\" message=\"" + xml(d.message) + "\">";
            xml_into(suites, d.location_and_message() + "\n" + d.hint + "\n", false);
            suites += "</error>\n    </testcase>\n";
        }
        suites += "  </testsuite>\n";
        tests += parse_errors;
    }
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<testsuites name=\"rollsafe check\" tests=\"" + std::to_string(tests) +
           "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
           std::to_string(parse_errors) + "\" skipped=\"" + std::to_string(skipped) +
           "\" time=\"0\">\n";
    out += suites;
    out += "</testsuites>\n";
    return out;
}

}  // namespace rollsafe::check
