// Reading migration folders: the native, dbmate and Flyway layouts of the same content give
// the same migrations, and every file problem is collected with its place.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/base/error.h"
#include "core/migrations/reader.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

struct Content {
    const char* version;
    const char* name;
    const char* up;
    const char* down;  // nullptr: none (irreversible)
};

// Three migrations with a directive, a dollar-quoted body and an irreversible one.
const Content kContent[] = {
    {"0001", "create_users",
     "CREATE TABLE users (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
     "  email text NOT NULL UNIQUE\n);\n",
     "DROP TABLE users;\n"},
    {"0002", "touch_trigger",
     "-- rollsafe:lock-timeout=2s\n"
     "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
     "BEGIN NEW.email := lower(NEW.email); RETURN NEW; END;\n$$;\n"
     "CREATE TRIGGER users_touch BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION touch();\n",
     "DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch();\n"},
    {"0003", "drop_legacy",
     "-- rollsafe:irreversible reason=\"the legacy table was empty\"\nDROP TABLE IF EXISTS "
     "legacy;\n",
     nullptr},
};

void write_native(const test::TempDir& dir) {
    for (const auto& c : kContent) {
        dir.write(std::string("m/") + c.version + "_" + c.name + ".up.sql", c.up);
        if (c.down)
            dir.write(std::string("m/") + c.version + "_" + c.name + ".down.sql", c.down);
    }
}

void write_dbmate(const test::TempDir& dir) {
    for (const auto& c : kContent) {
        std::string file = std::string("-- migrate:up\n") + c.up + "\n";
        if (c.down)
            file += std::string("-- migrate:down\n") + c.down;
        dir.write(std::string("m/") + c.version + "_" + c.name + ".sql", file);
    }
}

void write_flyway(const test::TempDir& dir) {
    for (const auto& c : kContent) {
        std::string v = std::to_string(std::stoi(c.version));
        dir.write("m/V" + v + "__" + c.name + ".sql", c.up);
        if (c.down)
            dir.write("m/U" + v + "__" + c.name + ".sql", c.down);
    }
}

// What must be the same whatever the layout: versions, names, statements, directives.
struct Summary {
    std::string version_key, name;
    std::vector<std::string> up, down;
    std::vector<std::string> up_directives, down_directives;
    bool has_down = false;
    bool operator==(const Summary& o) const {
        return version_key == o.version_key && name == o.name && up == o.up && down == o.down &&
               up_directives == o.up_directives && down_directives == o.down_directives &&
               has_down == o.has_down;
    }
};

std::ostream& operator<<(std::ostream& os, const Summary& s) {
    return os << s.version_key << "_" << s.name << " up=" << s.up.size()
              << " down=" << s.down.size();
}

std::vector<Summary> summarize(const MigrationSet& set) {
    std::vector<Summary> out;
    for (const auto& m : set.migrations) {
        Summary s;
        s.version_key = m.version.key();
        s.name = m.name;
        for (const auto& st : m.up.statements)
            s.up.push_back(st.text);
        for (const auto& d : m.up.directives)
            s.up_directives.push_back(d.key + "=" + d.value + "|" + d.reason);
        if (m.down) {
            s.has_down = true;
            for (const auto& st : m.down->statements)
                s.down.push_back(st.text);
            for (const auto& d : m.down->directives)
                s.down_directives.push_back(d.key + "=" + d.value);
        }
        out.push_back(s);
    }
    return out;
}

// Reads dir/m and returns the problems ("file:line:col: message" each).
std::vector<std::string> problems_of(const test::TempDir& dir, const std::string& layout = "auto") {
    std::vector<Diagnostic> problems;
    read_migrations(dir / "m", layout, problems);
    std::vector<std::string> out;
    for (const auto& p : problems) {
        auto file = p.file.substr(p.file.rfind('/') + 1);
        out.push_back(file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": " +
                      p.message);
    }
    return out;
}

}  // namespace

TEST(Reader, ThreeLayoutsOfTheSameContentGiveTheSameMigrations) {
    test::TempDir native, dbmate, flyway;
    write_native(native);
    write_dbmate(dbmate);
    write_flyway(flyway);
    auto n = read_migrations(native / "m");
    auto d = read_migrations(dbmate / "m");
    auto f = read_migrations(flyway / "m");
    EXPECT_EQ(n.layout, "native");
    EXPECT_EQ(d.layout, "dbmate");
    EXPECT_EQ(f.layout, "flyway");
    ASSERT_EQ(n.migrations.size(), 3u);
    EXPECT_EQ(summarize(n), summarize(d));
    EXPECT_EQ(summarize(n), summarize(f));
    // The content really went through: statements, directives, the irreversible marker.
    EXPECT_EQ(n.migrations[1].up.statements.size(), 2u);
    EXPECT_EQ(n.migrations[1].up.directive("lock-timeout")->value, "2s");
    EXPECT_TRUE(n.migrations[2].irreversible());
    EXPECT_FALSE(n.migrations[2].down);
    // Positions are those of each file: dbmate sections start below their marker line.
    EXPECT_EQ(n.migrations[0].up.statements[0].line, 1);
    EXPECT_EQ(d.migrations[0].up.statements[0].line, 2);
    EXPECT_EQ(d.migrations[0].down->statements[0].line, 8);
}

TEST(Reader, ExplicitLayoutAndSortOrder) {
    test::TempDir dir;
    dir.write("m/10_c.up.sql", "SELECT 10;");
    dir.write("m/10_c.down.sql", "SELECT -10;");
    dir.write("m/9_b.up.sql", "SELECT 9;");
    dir.write("m/9_b.down.sql", "SELECT -9;");
    dir.write("m/README.md", "not a migration");
    auto set = read_migrations(dir / "m", "native");
    ASSERT_EQ(set.migrations.size(), 2u);
    EXPECT_EQ(set.migrations[0].id(), "9_b");
    EXPECT_EQ(set.migrations[1].id(), "10_c");
    EXPECT_EQ(set.migrations[1].down->statements[0].text, "SELECT -10");
}

TEST(Reader, DbmateTransactionFalseBecomesNoTransaction) {
    test::TempDir dir;
    dir.write("m/20240101000000_idx.sql",
              "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (c);\n"
              "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n");
    auto set = read_migrations(dir / "m");
    ASSERT_EQ(set.migrations.size(), 1u);
    EXPECT_TRUE(set.migrations[0].up.no_transaction());
    EXPECT_TRUE(set.migrations[0].down->no_transaction());
    EXPECT_EQ(set.migrations[0].version.text(), "20240101000000");
}

TEST(Reader, DuplicateVersions) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELECT 1;");
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    dir.write("m/1_b.up.sql", "SELECT 1;");
    dir.write("m/1_b.down.sql", "SELECT 1;");
    auto p = problems_of(dir);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_NE(p[0].find("1_b.down.sql:1:1: duplicate version 1: also "), std::string::npos) << p[0];
    EXPECT_NE(p[1].find("1_b.up.sql:1:1: duplicate version 1: also "), std::string::npos) << p[1];
}

TEST(Reader, UpWithoutDownUnlessIrreversible) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELECT 1;");
    dir.write("m/0002_b.up.sql", "-- rollsafe:irreversible reason=\"data fix\"\nSELECT 2;");
    EXPECT_EQ(problems_of(dir),
              std::vector<std::string>{"0001_a.up.sql:1:1: up script without a down script"});
}

TEST(Reader, DownWithoutUp) {
    test::TempDir dir;
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    EXPECT_EQ(problems_of(dir),
              std::vector<std::string>{"0001_a.down.sql:1:1: down script without an up script"});
}

TEST(Reader, UnparsableSqlHasPostgresMessageAndPosition) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELECT 1;\n\nALTER TABEL t ADD COLUMN x int;\n");
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    EXPECT_EQ(problems_of(dir),
              std::vector<std::string>{"0001_a.up.sql:3:7: syntax error at or near \"TABEL\""});
}

TEST(Reader, UnreadableFiles) {
    test::TempDir dir;
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    ASSERT_EQ(::mkdir((dir / "m/0001_a.up.sql").c_str(), 0755), 0);
    dir.write("m/0002_b.down.sql", "SELECT 1;");
    ASSERT_EQ(::symlink("0002_b.up.sql", (dir / "m/0002_b.up.sql").c_str()), 0);
    EXPECT_EQ(problems_of(dir),
              (std::vector<std::string>{
                  "0001_a.up.sql:1:1: cannot read: Is a directory",
                  "0002_b.up.sql:1:1: cannot read: Too many levels of symbolic links",
              }));
}

TEST(Reader, NotUtf8) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELECT 1;\nSELECT 'caf\xe9';\n");  // Latin-1 é
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    EXPECT_EQ(problems_of(dir), std::vector<std::string>{"0001_a.up.sql:2:12: not valid UTF-8"});
}

TEST(Reader, CommentOnlyUpScriptHasNoStatements) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "-- TODO\n");
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    EXPECT_EQ(problems_of(dir),
              std::vector<std::string>{"0001_a.up.sql:1:1: the up script has no SQL statements"});
}

TEST(Reader, BadFileNamesAndMixedLayouts) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELECT 1;");
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    dir.write("m/add_users.sql", "SELECT 1;");
    EXPECT_EQ(
        problems_of(dir),
        std::vector<std::string>{"add_users.sql:1:1: file name does not follow the native layout"});
    dir.write("m/V2__b.sql", "SELECT 1;");
    auto p = problems_of(dir);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_NE(p[0].find("mixed file layouts: flyway (1 files), native (2 files)"),
              std::string::npos)
        << p[0];
}

TEST(Reader, EveryProblemIsCollectedAndThrownTogether) {
    test::TempDir dir;
    dir.write("m/0001_a.up.sql", "SELEC 1;");
    dir.write("m/0001_a.down.sql", "SELECT 1;");
    dir.write("m/0002_b.up.sql", "SELECT 2;");
    dir.write("m/0003_c.down.sql", "SELECT 3;");
    dir.write("m/0004_d.up.sql", "-- rollsafe:lock-timeout=eventually\nSELECT 4;");
    dir.write("m/0004_d.down.sql", "SELECT 4;");
    try {
        read_migrations(dir / "m");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_EQ(e.diagnostics().size(), 4u);
        EXPECT_EQ(std::string(e.what()).rfind("4 problems in ", 0), 0u) << e.what();
    }
}

TEST(Reader, MissingFolder) {
    test::TempDir dir;
    auto p = problems_of(dir);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_NE(p[0].find("migrations folder cannot be read: No such file or directory"),
              std::string::npos);
}
