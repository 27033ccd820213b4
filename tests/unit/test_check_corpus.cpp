// The hazard corpus (tests/data/corpus, a copy of the shared corpus): its README table says, per
// file, which classes the migration must get and which hazards must be reported.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/base/text.h"
#include "core/check/check.h"

using namespace rollsafe;

namespace {

struct Case {
    std::string file;
    bool has_down = false;
    bool any_class = false;
    std::set<std::string> up_classes, down_classes;
    std::set<std::string> up_hazards, down_hazards;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> split_trimmed(const std::string& s, char sep) {
    std::vector<std::string> out;
    for (auto& part : text::split(s, sep)) {
        auto t = std::string(text::trim(part));
        if (!t.empty())
            out.push_back(t);
    }
    return out;
}

std::vector<Case> read_table(const std::string& readme) {
    std::vector<Case> out;
    std::istringstream in(readme);
    std::string line;
    while (std::getline(in, line)) {
        if (!text::starts_with(line, "| ") || line.find(".sql") == std::string::npos)
            continue;
        auto cells = split_trimmed(line, '|');
        if (cells.size() < 3)
            continue;
        Case c;
        c.file = cells[0].substr(0, cells[0].find(".sql") + 4);
        c.has_down = cells[0].find(".down.sql") != std::string::npos;
        for (const auto& part : split_trimmed(cells[1], ';')) {
            bool down = text::starts_with(part, "down:");
            auto list = down ? part.substr(5) : part;
            for (const auto& cls : split_trimmed(list, ',')) {
                if (cls == "(any)")
                    c.any_class = true;
                else
                    (down ? c.down_classes : c.up_classes).insert(cls);
            }
        }
        for (const auto& part : split_trimmed(cells[2], ';')) {
            bool down = text::starts_with(part, "down:");
            auto list = down ? part.substr(5) : part;
            for (const auto& h : split_trimmed(list, ','))
                if (h != "(none)")
                    (down ? c.down_hazards : c.up_hazards).insert(h);
        }
        out.push_back(c);
    }
    return out;
}

Migration load(const std::string& dir, const Case& c, int version) {
    std::vector<Diagnostic> problems;
    Migration m;
    m.version = *Version::parse(std::to_string(version));
    m.name = c.file.substr(0, c.file.size() - 4);
    m.up = make_script(dir + "/" + c.file, slurp(dir + "/" + c.file), 1, problems);
    if (c.has_down) {
        std::string down = dir + "/" + m.name + ".down.sql";
        m.down = make_script(down, slurp(down), 1, problems);
    }
    EXPECT_TRUE(problems.empty()) << c.file << ": " << problems.front().location_and_message();
    return m;
}

const std::string kDir = ROLLSAFE_CORPUS_DIR;

}  // namespace

TEST(CheckCorpus, TableCoversEveryFile) {
    auto cases = read_table(slurp(kDir + "/README.md"));
    ASSERT_GE(cases.size(), 40u);
    std::set<std::string> listed;
    for (const auto& c : cases) {
        listed.insert(c.file);
        if (c.has_down)
            listed.insert(c.file.substr(0, c.file.size() - 4) + ".down.sql");
    }
    DIR* d = opendir(kDir.c_str());
    ASSERT_NE(d, nullptr);
    while (auto* e = readdir(d)) {
        std::string name = e->d_name;
        if (!text::ends_with(name, ".sql") || name == "base-schema.sql")
            continue;
        EXPECT_TRUE(listed.count(name)) << name << " is not in the corpus README table";
    }
    closedir(d);
}

TEST(CheckCorpus, EveryCaseGetsItsClassesAndHazards) {
    auto cases = read_table(slurp(kDir + "/README.md"));
    int version = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.file);
        auto m = load(kDir, c, ++version);
        auto report = check::check_migrations({&m}, {});
        ASSERT_TRUE(report.parse_errors.empty());
        ASSERT_EQ(report.migrations.size(), 1u);
        const auto& v = report.migrations[0];
        if (!c.any_class) {
            std::set<std::string> expected = c.up_classes;
            expected.insert(c.down_classes.begin(), c.down_classes.end());
            EXPECT_EQ(v.classes, expected) << "got " << v.class_string();
        }
        std::set<std::string> up, down;
        for (const auto& f : v.findings)
            (f.direction == "down" ? down : up).insert(f.rule_id);
        for (const auto& h : c.up_hazards)
            EXPECT_TRUE(up.count(h)) << "missing hazard " << h;
        for (const auto& h : c.down_hazards)
            EXPECT_TRUE(down.count(h)) << "missing down hazard " << h;
        bool safe = c.up_classes == std::set<std::string>{"expand"};
        if (safe) {
            for (const auto& f : v.findings)
                EXPECT_NE(f.severity, check::Severity::error)
                    << "error-level " << f.rule_id << " on an expand case";
        }
        if (safe && c.up_hazards.empty()) {
            for (const auto& f : v.findings)
                if (f.direction == "up")
                    ADD_FAILURE() << "reported " << f.rule_id << " on a safe case: " << f.message;
        }
    }
}

TEST(CheckCorpus, VerdictsHoldWhenTheBaseSchemaIsKnown) {
    // With base-schema.sql read first (as --schema does), column types are known: narrowing
    // varchar(100) to varchar(20) and int to bigint are still found, varchar to text still is not.
    auto cases = read_table(slurp(kDir + "/README.md"));
    std::vector<Diagnostic> problems;
    Migration base;
    base.version = *Version::parse("0");
    base.name = "base";
    base.up = make_script(kDir + "/base-schema.sql", slurp(kDir + "/base-schema.sql"), 1, problems);
    ASSERT_TRUE(problems.empty());
    int version = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.file);
        auto m = load(kDir, c, ++version);
        check::Options o;
        o.applied = {&base};
        auto report = check::check_migrations({&m}, o);
        ASSERT_EQ(report.migrations.size(), 1u);
        const auto& v = report.migrations[0];
        if (!c.any_class) {
            std::set<std::string> expected = c.up_classes;
            expected.insert(c.down_classes.begin(), c.down_classes.end());
            EXPECT_EQ(v.classes, expected) << "got " << v.class_string();
        }
        std::set<std::string> found;
        for (const auto& f : v.findings) found.insert(f.rule_id);
        for (const auto& h : c.up_hazards) EXPECT_TRUE(found.count(h)) << "missing hazard " << h;
        for (const auto& h : c.down_hazards) EXPECT_TRUE(found.count(h)) << "missing down hazard " << h;
    }
}

TEST(CheckCorpus, TheWholeCorpusInOneRunKeepsPerMigrationVerdicts) {
    // Checked together (as `rollsafe check` on a folder does), each case is still its own
    // migration.
    auto cases = read_table(slurp(kDir + "/README.md"));
    std::vector<Migration> ms;
    ms.reserve(cases.size());
    int version = 0;
    for (const auto& c : cases)
        ms.push_back(load(kDir, c, ++version));
    std::vector<const Migration*> ptrs;
    for (const auto& m : ms)
        ptrs.push_back(&m);
    auto report = check::check_migrations(ptrs, {});
    ASSERT_EQ(report.migrations.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        if (cases[i].any_class)
            continue;
        std::set<std::string> expected = cases[i].up_classes;
        expected.insert(cases[i].down_classes.begin(), cases[i].down_classes.end());
        EXPECT_EQ(report.migrations[i].classes, expected) << cases[i].file;
    }
}
