// Renderings of the dynamic layers' report, the findings and classes they add to check's report,
// and the verdict (src/core/compat/output.cpp).
#include <gtest/gtest.h>

#include "core/check/output.h"
#include "core/base/error.h"
#include "core/compat/output.h"

using namespace rollsafe;
using namespace rollsafe::compat;

namespace {

// blue works before and breaks after 0002; green works only after 0002; downs not reached.
Report sample() {
    Report r;
    r.layers = parse_layers("rules,diff,contracts,roundtrip");
    r.scratch = "embedded PostgreSQL 15 (PgSandbox)";
    r.before_source = "1 migration(s) replayed (up to 0001_users)";
    r.blue = "v1";
    r.green = "v2";
    r.pending = {"0002_rename_email"};
    for (const auto& [id, label, kind, reached] :
         std::vector<std::tuple<std::string, std::string, std::string, bool>>{
             {"before", "before", "before", true}, {"0002_rename_email", "after 0002_rename_email", "up", true},
             {"after-downs", "after the downs", "downs", false}}) {
        SchemaState s;
        s.id = id;
        s.label = label;
        s.kind = kind;
        s.reached = reached;
        r.states.push_back(s);
    }
    ContractRun blue;
    blue.release = "v1";
    blue.role = "blue";
    blue.path = "contracts/v1.sql";
    blue.found = true;
    ContractStatement st;
    st.text = "SELECT email FROM users WHERE id = $1";
    st.file = "contracts/v1.sql";
    st.line = 3;
    blue.statements = {st};
    Cell ok;
    ok.status = "works";
    Cell broken;
    broken.status = "breaks";
    broken.message = "column \"email\" does not exist";
    broken.sqlstate = "42703";
    broken.migration = "0002_rename_email";
    blue.cells = {{ok, broken, Cell{}}};
    blue.required = {true, true, false};
    r.contracts.push_back(blue);
    ClassifiedChange c;
    c.change = {"removed", "column:public.users.email", "", "", ""};
    c.migration = "0002_rename_email";
    c.effect = "breaks-old";
    c.reason = "the old app may still read or write this column";
    c.klass = "contract";
    r.changes.push_back(c);
    RoundTrip rt;
    rt.migration = "0002_rename_email";
    rt.ran = true;
    rt.after_down = {"index public.users_x_idx: added"};
    r.roundtrips.push_back(rt);
    Problem p;
    p.layer = "contracts";
    p.rule = "compat-contract-break";
    p.severity = "error";
    p.migration = "0002_rename_email";
    p.message = "v1 (blue) breaks after 0002_rename_email: column \"email\" does not exist";
    p.file = "contracts/v1.sql";
    p.line = 3;
    p.classes = {"contract"};
    r.problems.push_back(p);
    Problem w = p;
    w.layer = "diff";
    w.rule = "compat-breaks-old";
    w.severity = "warning";
    w.migration = "";
    w.classes.clear();
    r.problems.push_back(w);
    r.classes["0002_rename_email"] = {"contract"};
    return r;
}

check::Report static_report() {
    check::Report rep;
    check::MigrationVerdict v;
    v.migration = "0002_rename_email";
    v.version = "0002";
    v.classes = {"unknown"};
    rep.migrations.push_back(v);
    return rep;
}

}  // namespace

TEST(CompatOutput, TextShowsTheMatrixBreaksAndResponsibleMigration) {
    auto text = render_text(sample());
    EXPECT_NE(text.find("schema state"), std::string::npos) << text;
    EXPECT_NE(text.find("v1 (blue)"), std::string::npos) << text;
    EXPECT_NE(text.find("0/1 (1 break)"), std::string::npos) << text;
    EXPECT_NE(text.find("PostgreSQL: column \"email\" does not exist (42703)"), std::string::npos) << text;
    EXPECT_NE(text.find("responsible: 0002_rename_email"), std::string::npos) << text;
    EXPECT_NE(text.find("after the down: index public.users_x_idx: added"), std::string::npos) << text;
    EXPECT_NE(text.find("1 error(s), 1 warning(s)"), std::string::npos) << text;
}

TEST(CompatOutput, SkippedSaysWhy) {
    Report r;
    r.layers = parse_layers("rules,diff");
    r.skipped = true;
    r.skipped_reason = "no PostgreSQL server binaries";
    EXPECT_NE(render_text(r).find("skipped: no PostgreSQL server binaries"), std::string::npos);
    EXPECT_TRUE(render_json(r)["skipped"].get<bool>());
    auto v = verdict(check::Report{}, &r, r.layers);
    EXPECT_TRUE(v.compatible);
    EXPECT_NE(v.text.find("skipped"), std::string::npos) << v.text;
}

TEST(CompatOutput, JsonHasCellsWithSqlstateAndMigration) {
    auto j = render_json(sample());
    const auto& cell = j["contracts"][0]["statements"][0]["cells"][1];
    EXPECT_EQ(cell["status"], "breaks");
    EXPECT_EQ(cell["sqlstate"], "42703");
    EXPECT_EQ(cell["migration"], "0002_rename_email");
    EXPECT_EQ(j["errors"], 1);
    EXPECT_EQ(j["states"].size(), 3u);
    EXPECT_EQ(j["changes"][0]["effect"], "breaks-old");
    EXPECT_EQ(j["roundtrip"][0]["ok"], false);
    EXPECT_EQ(j["classes"]["0002_rename_email"][0], "contract");
}

TEST(CompatOutput, MarkdownHasATable) {
    auto md = render_markdown(sample());
    EXPECT_NE(md.find("| schema state | v1 (blue) |"), std::string::npos) << md;
    EXPECT_NE(md.find("❌ 0/1 (1 break)"), std::string::npos) << md;
}

TEST(CompatOutput, JunitSuiteIsSplicedWithTotals) {
    auto rep = static_report();
    check::RenderOptions o;
    auto xml = splice_junit(check::render_junit(rep, o), sample());
    EXPECT_NE(xml.find("<testsuite name=\"compatibility\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("classname=\"rollsafe.compat.contracts\" name=\"0002_rename_email\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
    EXPECT_LT(xml.find("<testsuite name=\"compatibility\""), xml.find("</testsuites>"));
}

TEST(CompatOutput, FindingsAndClassesReachTheStaticReport) {
    auto rep = static_report();
    auto dyn = sample();
    add_findings(rep, dyn);
    ASSERT_EQ(rep.migrations[0].findings.size(), 2u);  // one with no migration goes to the last one
    EXPECT_EQ(rep.migrations[0].findings[0].rule_id, "compat-contract-break");
    EXPECT_EQ(rep.errors(), 1);
    EXPECT_EQ(rep.exit_code(), 5);
    refine_classes(rep, dyn);
    EXPECT_EQ(rep.migrations[0].classes, (std::set<std::string>{"contract"}));  // unknown resolved
    auto sarif = check::render_sarif(rep, {});
    EXPECT_NE(sarif.find("compat-contract-break"), std::string::npos);
}

TEST(CompatOutput, AMigrationTheDatabaseFoundHarmlessBecomesExpand) {
    auto rep = static_report();
    Report dyn;
    dyn.classes["0002_rename_email"];  // applied and diffed, nothing found
    refine_classes(rep, dyn);
    EXPECT_EQ(rep.migrations[0].class_string(), "expand");
}

TEST(CompatOutput, Verdict) {
    auto dyn = sample();
    auto v = verdict(static_report(), &dyn, dyn.layers);
    EXPECT_FALSE(v.compatible);
    EXPECT_EQ(v.exit_code, 5);
    EXPECT_NE(v.text.find("INCOMPATIBLE"), std::string::npos);
    EXPECT_NE(v.text.find("contracts: 1 break(s)"), std::string::npos) << v.text;
    dyn.problems.clear();
    v = verdict(static_report(), &dyn, dyn.layers);
    EXPECT_TRUE(v.compatible);
    EXPECT_EQ(v.exit_code, 0);
}

TEST(CompatOutput, Layers) {
    auto l = parse_layers("diff, contracts");
    EXPECT_FALSE(l.rules);
    EXPECT_TRUE(l.diff && l.contracts && !l.roundtrip);
    EXPECT_EQ(l.text(), "diff,contracts");
    EXPECT_EQ(parse_layers("all").text(), "rules,diff,contracts,roundtrip");
    EXPECT_FALSE(parse_layers("rules").dynamic());
    EXPECT_THROW(parse_layers("rules,magic"), Error);
    EXPECT_THROW(parse_layers(""), Error);
}
