#pragma once

// Renderings of a check report. Each is one pass over the findings (linear in the size of the
// input): text for people, JSON for scripts, SARIF 2.1.0 for code scanning, JUnit XML for CI
// test tabs, GitHub workflow commands for annotations, and markdown for PR comments.

#include <string>

#include "core/check/check.h"

namespace rollsafe::check {

// Settings shared by the renderers.
struct RenderOptions {
    bool color = false;                     // ANSI colours in text output
    std::string tool_version;               // rollsafe's version, for JSON and SARIF
    std::string docs_base = "docs/rules/";  // where rule pages live, for links
};

// Returns the report as text: each finding with file:line:col, the source line with a caret,
// what breaks, the lock, why and the fix (once per rule and migration), then a summary.
std::string render_text(const Report& report, const RenderOptions& options);

// Returns the report as a JSON document (format documented in docs/check.md).
std::string render_json(const Report& report, const RenderOptions& options);

// Returns the report as a SARIF 2.1.0 log with one run; suppressed findings carry an in-source
// suppression with its reason.
std::string render_sarif(const Report& report, const RenderOptions& options);

// Returns the report as JUnit XML: one testsuite per migration with one testcase per rule of the
// catalogue (failure: unsuppressed errors; skipped: only suppressed findings).
std::string render_junit(const Report& report, const RenderOptions& options);

// Returns GitHub Actions workflow commands (::error / ::warning / ::notice), one per finding.
std::string render_github(const Report& report, const RenderOptions& options);

// Returns a markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY.
std::string render_markdown(const Report& report, const RenderOptions& options);

}  // namespace rollsafe::check
