// docs/rules/<id>.md: one page per rule, each with bad examples the rule must report and good
// examples it must not.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/base/text.h"
#include "core/check/check.h"
#include "core/check/rules.h"

using namespace rollsafe;

namespace {

const std::string kDocs = std::string(ROLLSAFE_SOURCE_DIR) + "/docs/rules";

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Page {
    std::vector<std::string> bad, good;
    int pg_version = 15;
};

// Collects the ```sql blocks under the "## Bad" and "## Good" headings.
Page read_page(const std::string& markdown) {
    Page p;
    std::istringstream in(markdown);
    std::string line, section, block;
    bool in_sql = false;
    std::smatch m;
    static const std::regex pg(R"(<!-- pg-version: (\d+) -->)");
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, pg))
            p.pg_version = std::stoi(m[1]);
        if (in_sql) {
            if (text::starts_with(line, "```")) {
                in_sql = false;
                if (section == "Bad")
                    p.bad.push_back(block);
                if (section == "Good")
                    p.good.push_back(block);
            } else {
                block += line + "\n";
            }
            continue;
        }
        if (text::starts_with(line, "## "))
            section = std::string(text::trim(line.substr(3)));
        if (line == "```sql") {
            in_sql = true;
            block.clear();
        }
    }
    return p;
}

std::vector<const check::Finding*> run_example(const std::string& sql, int pg_version,
                                               std::vector<Migration>& keep,
                                               check::Report& report) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse("1");
    m.name = "example";
    m.up = make_script("example.sql", sql, 1, problems);
    EXPECT_TRUE(problems.empty()) << problems.front().location_and_message() << "\n" << sql;
    keep.push_back(std::move(m));
    check::Options o;
    o.pg_version = pg_version;
    report = check::check_migrations({&keep.back()}, o);
    EXPECT_TRUE(report.parse_errors.empty()) << sql;
    std::vector<const check::Finding*> out;
    for (const auto& v : report.migrations)
        for (const auto& f : v.findings)
            out.push_back(&f);
    return out;
}

}  // namespace

TEST(CheckDocs, EveryRuleHasAPageAndEveryPageARule) {
    std::set<std::string> pages;
    DIR* d = opendir(kDocs.c_str());
    ASSERT_NE(d, nullptr) << kDocs;
    while (auto* e = readdir(d)) {
        std::string name = e->d_name;
        if (text::ends_with(name, ".md") && name != "README.md")
            pages.insert(name.substr(0, name.size() - 3));
    }
    closedir(d);
    std::set<std::string> ids;
    for (const auto& r : check::rules())
        ids.insert(r.id);
    EXPECT_EQ(pages, ids);
    auto readme = slurp(kDocs + "/README.md");
    for (const auto& id : ids)
        EXPECT_NE(readme.find("(" + id + ".md)"), std::string::npos) << id << " not in README";
    EXPECT_NE(readme.find("squawk"), std::string::npos);
}

TEST(CheckDocs, BadExamplesReportTheRuleAndGoodOnesDoNot) {
    for (const auto& r : check::rules()) {
        SCOPED_TRACE(r.id);
        auto md = slurp(kDocs + "/" + r.id + ".md");
        ASSERT_FALSE(md.empty());
        EXPECT_NE(md.find(r.title), std::string::npos)
            << "the page does not carry the rule's title";
        auto page = read_page(md);
        ASSERT_FALSE(page.bad.empty());
        ASSERT_FALSE(page.good.empty());
        std::vector<Migration> keep;
        keep.reserve(page.bad.size() + page.good.size());
        for (const auto& sql : page.bad) {
            check::Report report;
            auto found = run_example(sql, page.pg_version, keep, report);
            bool reported = false;
            for (const auto* f : found)
                reported |= f->rule_id == r.id && !f->suppressed;
            EXPECT_TRUE(reported) << "bad example not reported:\n" << sql;
        }
        for (const auto& sql : page.good) {
            check::Report report;
            auto found = run_example(sql, page.pg_version, keep, report);
            for (const auto* f : found)
                EXPECT_NE(f->rule_id, r.id) << "good example reported: " << f->message << "\n"
                                            << sql;
        }
    }
}
