#pragma once

// Renderings of the dynamic layers' report (text, JSON, markdown, a JUnit testsuite), the
// findings they add to `check`'s report, and the one verdict `check` prints.

#include <nlohmann/json.hpp>

#include <string>

#include "core/check/check.h"
#include "core/compat/compat.h"

namespace rollsafe::compat {

// Returns the report for people: catalog diff per migration, the contract matrix (states x
// releases), round-trip results, problems and notes.
std::string render_text(const Report& report);

// Returns the report as a JSON value (documented in docs/compatibility.md).
nlohmann::json render_json(const Report& report);

// Returns a markdown section for a pull-request comment.
std::string render_markdown(const Report& report);

// Returns one JUnit <testsuite> (one testcase per layer and migration) and adds its counts.
std::string render_junit_suite(const Report& report, int& tests, int& failures);

// Adds a JUnit testsuite to the XML `check` rendered, keeping the totals of <testsuites> right.
std::string splice_junit(const std::string& junit_xml, const Report& report);

// Adds every problem to the static report as a finding of its migration (problems of no
// migration go to the last one), so SARIF, GitHub annotations and exit codes see them.
void add_findings(check::Report& report, const Report& dynamic);

// Refines each migration's classes with what the dynamic layers found: their classes join the
// static ones, and "unknown" (a statement the rules could not analyse) goes when the migration
// was applied and diffed on the scratch database.
void refine_classes(check::Report& report, const Report& dynamic);

// The one verdict of `check`: compatible or not, and why, from both kinds of report.
struct Verdict {
    bool compatible = true;
    int exit_code = 0;  // 0, 2 (unparsable input) or 5 (blocking findings)
    std::string text;   // "verdict: compatible (...)" / "verdict: INCOMPATIBLE (...)"
};
Verdict verdict(const check::Report& rules, const Report* dynamic, const Layers& layers);

}  // namespace rollsafe::compat
