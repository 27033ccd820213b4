// Snapshots through the real binary against a real PostgreSQL: taken before every up/down
// batch, touched tables found from the parse tree (checked against the locks PostgreSQL itself
// takes, on migrations-example), verification of damaged archives, killed and failing dumps,
// an older pg_dump, list and prune.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include "core/base/fs.h"
#include "core/base/sha256.h"
#include "core/base/text.h"
#include "core/migrations/reader.h"
#include "core/sql/parser.h"
#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

std::string snapshot_dir(const Project& p) {
    return p.dir() / ".rollsafe/snapshots";
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..")
                out.push_back(n);
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

nlohmann::json manifest(const Project& p, const std::string& id) {
    return nlohmann::json::parse(test::read(snapshot_dir(p) + "/" + id + ".json"));
}

std::set<std::string> manifest_tables(const nlohmann::json& m) {
    std::set<std::string> out;
    for (const auto& t : m["tables"])
        out.insert(t["schema"].get<std::string>() + "." + t["name"].get<std::string>());
    return out;
}

// The id of the only snapshot in the folder (fails the test when there is not exactly one).
std::string only_snapshot(const Project& p) {
    std::vector<std::string> ids;
    for (const auto& f : files_in(snapshot_dir(p)))
        if (text::ends_with(f, ".json"))
            ids.push_back(f.substr(0, f.size() - 5));
    EXPECT_EQ(ids.size(), 1u) << text::join(files_in(snapshot_dir(p)), " ");
    return ids.empty() ? "" : ids[0];
}

int mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return -1;
    return static_cast<int>(st.st_mode & 0777);
}

void seed_shop(const Project& p) {
    auto s = p.db().connect();
    s->exec(
        "CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text "
        "NOT NULL);"
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers "
        "(id), note text);"
        "CREATE TABLE order_lines (id bigserial PRIMARY KEY, order_id bigint REFERENCES orders "
        "(id) ON DELETE CASCADE);"
        "CREATE TABLE untouched (id int PRIMARY KEY, payload text);"
        "INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, "
        "5) g;"
        "INSERT INTO orders (customer_id, note) SELECT 1 + g % 5, 'n' || g FROM generate_series(1, "
        "40) g;"
        "INSERT INTO order_lines (order_id) SELECT 1 + g % 40 FROM generate_series(1, 90) g;"
        "INSERT INTO untouched SELECT g, repeat('x', 100) FROM generate_series(1, 10) g;");
}

}  // namespace

TEST(Snapshot, UpTakesASnapshotFirstAndHistoryRowsCarryItsId) {
    Project p;
    seed_shop(p);
    p.add("0001_drop_note",
          "-- rollsafe:allow=drop-column reason=\"the app stopped using it\"\nALTER TABLE orders "
          "DROP COLUMN note;\n",
          "ALTER TABLE orders ADD COLUMN note text;\n");
    p.add("0002_clean_lines", "DELETE FROM order_lines WHERE order_id > 30;\n",
          "INSERT INTO order_lines (order_id) SELECT 31 FROM generate_series(1, 3);\n");
    auto r = p.run({"up", "--release", "v2"});
    ASSERT_EQ(r.code, 0) << r.all();
    std::string id = only_snapshot(p);
    ASSERT_FALSE(id.empty());
    // Every history row of the batch carries the id.
    EXPECT_EQ(
        p.db().scalar(
            "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = 'applied' AND "
            "snapshot_id = '" +
            id + "'"),
        "2");
    // 0600 file in a 0700 folder.
    std::string archive = snapshot_dir(p) + "/" + id + ".dump";
    EXPECT_EQ(mode_of(archive), 0600);
    EXPECT_EQ(mode_of(snapshot_dir(p) + "/" + id + ".json"), 0600);
    EXPECT_EQ(mode_of(snapshot_dir(p)), 0700);
    // The manifest describes the dump and the batch it guards.
    auto m = manifest(p, id);
    EXPECT_EQ(m["mode"], "touched");
    EXPECT_EQ(m["sha256"], sha256_file(archive));
    struct stat st {};
    ASSERT_EQ(::stat(archive.c_str(), &st), 0);
    EXPECT_EQ(m["bytes"].get<long long>(), static_cast<long long>(st.st_size));
    EXPECT_EQ(m["batch"]["direction"], "up");
    EXPECT_EQ(m["batch"]["migrations"], nlohmann::json({"0001_drop_note", "0002_clean_lines"}));
    EXPECT_EQ(m["dbname"], p.db().name());
    EXPECT_EQ(m["pg_dump_major"], 15);
    EXPECT_EQ(m["server_version_num"].get<int>() / 10000, 15);
    EXPECT_EQ(manifest_tables(m), (std::set<std::string>{"public.orders", "public.order_lines"}));
    for (const auto& t : m["tables"]) {
        if (t["name"] == "orders") {
            EXPECT_EQ(t["rows"], 40);
        } else {
            EXPECT_EQ(t["rows"], 90);  // order_lines, before the DELETE ran
        }
        EXPECT_GT(t["bytes"].get<long long>(), 0);
    }
    // Taken before the batch: the archive still has the dropped column and the deleted rows.
    auto script = test::cluster().run_tool("pg_restore", {"-f", "-", "-t", "orders", archive});
    ASSERT_TRUE(script.ok()) << script.err;
    EXPECT_NE(script.out.find("note text"), std::string::npos);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM order_lines WHERE order_id > 30"), "0");
    // The second up has nothing to do and takes no snapshot.
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_EQ(only_snapshot(p), id);

    // A down batch is guarded too: it may drop data the new app wrote.
    auto d = p.run({"down", "--steps", "1", "--yes"});
    ASSERT_EQ(d.code, 0) << d.all();
    auto down_id = p.db().scalar("SELECT snapshot_id FROM rollsafe.history WHERE op = 'down'");
    ASSERT_FALSE(down_id.empty());
    EXPECT_NE(down_id, id);
    EXPECT_EQ(manifest(p, down_id)["batch"]["direction"], "down");
    EXPECT_EQ(manifest(p, down_id)["schema_version_before"], "0002");
}

namespace {

// The tables scripts change, as PostgreSQL's own locks show them: the statements run in a
// transaction that is rolled back, and every pre-existing table the transaction holds a
// writer's lock on (ROW EXCLUSIVE or stronger, SHARE ROW EXCLUSIVE except on the referenced
// side of a new foreign key) counts, plus the tables that reference those by foreign key. A
// no-transaction script runs as its transactional equivalent (CONCURRENTLY dropped), which
// locks the same tables.
std::set<std::string> tables_locked_by(const test::TestDb& db,
                                       const std::vector<const Script*>& scripts) {
    auto s = db.connect();
    auto oid_set = [&](const std::string& sql) {
        std::set<std::string> out;
        auto r = s->exec(sql);
        for (std::size_t i = 0; i < r.size(); ++i)
            out.insert(r.get(i, 0));
        return out;
    };
    auto tables_before = oid_set(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "c.relkind IN ('r', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rollsafe') AND n.nspname NOT "
        "LIKE 'pg_toast%'");
    auto constraints_before = oid_set("SELECT oid FROM pg_constraint");
    std::set<std::string> changed;
    s->exec("BEGIN");
    for (const auto* script : scripts) {
        for (const auto& st : script->statements)
            s->exec(std::regex_replace(st.text, std::regex("\\bCONCURRENTLY\\b", std::regex::icase),
                                       ""));
    }
    auto locks = s->exec(
        "SELECT l.relation::oid::text, l.mode, EXISTS (SELECT 1 FROM pg_constraint k WHERE "
        "k.contype = 'f' AND "
        "k.confrelid = l.relation) FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = "
        "'relation'");
    std::set<std::string> new_fk_targets;
    auto cons = s->exec("SELECT oid::text, confrelid::text FROM pg_constraint WHERE contype = 'f'");
    for (std::size_t i = 0; i < cons.size(); ++i)
        if (!constraints_before.count(cons.get(i, 0)))
            new_fk_targets.insert(cons.get(i, 1));
    std::map<std::string, std::set<std::string>> modes;
    for (std::size_t i = 0; i < locks.size(); ++i)
        modes[locks.get(i, 0)].insert(locks.get(i, 1));
    static const std::set<std::string> writer = {"RowExclusiveLock", "ShareUpdateExclusiveLock",
                                                 "ShareLock", "ExclusiveLock",
                                                 "AccessExclusiveLock"};
    for (const auto& [oid, ms] : modes) {
        if (!tables_before.count(oid))
            continue;
        bool writes = std::any_of(ms.begin(), ms.end(),
                                  [](const std::string& m) { return writer.count(m) > 0; });
        if (!writes && ms.count("ShareRowExclusiveLock") && !new_fk_targets.count(oid))
            writes = true;
        if (writes)
            changed.insert(oid);
    }
    s->exec("ROLLBACK");
    // Plus every table that references one of them by foreign key, transitively.
    std::vector<std::string> queue(changed.begin(), changed.end());
    for (std::size_t i = 0; i < queue.size(); ++i) {
        auto refs = s->exec(
            "SELECT DISTINCT conrelid::text FROM pg_constraint WHERE contype = 'f' AND confrelid "
            "= " +
            queue[i] + " AND conrelid <> confrelid");
        for (std::size_t k = 0; k < refs.size(); ++k)
            if (changed.insert(refs.get(k, 0)).second)
                queue.push_back(refs.get(k, 0));
    }
    std::set<std::string> names;
    for (const auto& oid : changed)
        names.insert(s->exec("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN "
                             "pg_namespace n ON n.oid = "
                             "c.relnamespace WHERE c.oid = " +
                             oid)
                         .get(0, 0));
    return names;
}

}  // namespace

TEST(Snapshot,
     TouchedCoversExactlyTheTouchedTablesAndTheirForeignKeyNeighboursOnMigrationsExample) {
    Project p;
    std::string example = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example/migrations";
    auto set = read_migrations(example, "native");
    ASSERT_GE(set.migrations.size(), 6u);
    for (const auto& m : set.migrations) {
        p.dir().write("migrations/" + m.id() + ".up.sql", m.up.text);
        if (m.down)
            p.dir().write("migrations/" + m.id() + ".down.sql", m.down->text);
    }
    int non_empty = 0;
    for (const auto& m : set.migrations) {
        auto expected = tables_locked_by(p.db(), {&m.up});
        auto r = p.run({"up", "--to", m.version.text()});
        ASSERT_EQ(r.code, 0) << m.id() << "\n" << r.all();
        std::string id = p.db().scalar(
            "SELECT coalesce(snapshot_id, '') FROM rollsafe.history WHERE op = 'up' AND "
            "version = '" +
            m.version.text() + "'");
        if (expected.empty()) {
            EXPECT_EQ(id, "") << m.id() << " touches no existing table, yet a snapshot was taken";
            EXPECT_NE(r.err.find("snapshot skipped"), std::string::npos) << r.err;
            continue;
        }
        ++non_empty;
        ASSERT_FALSE(id.empty()) << m.id() << ": no snapshot, expected "
                                 << text::join({expected.begin(), expected.end()}, ",");
        auto man = manifest(p, id);
        EXPECT_EQ(man["mode"], "touched") << m.id();
        EXPECT_EQ(manifest_tables(man), expected) << m.id();
    }
    EXPECT_GE(non_empty, 3);  // the example alters existing tables in several migrations
}

TEST(Snapshot, TheWholeV110BatchOfMigrationsExampleDumpsOnlyWhatItTouches) {
    Project p;
    std::string example = std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example/migrations";
    auto set = read_migrations(example, "native");
    std::set<std::string> expected;
    for (const auto& m : set.migrations) {
        p.dir().write("migrations/" + m.id() + ".up.sql", m.up.text);
        if (m.down)
            p.dir().write("migrations/" + m.id() + ".down.sql", m.down->text);
    }
    ASSERT_EQ(p.run({"up", "--to", "0005"}).code, 0);
    std::vector<const Script*> pending;
    for (const auto& m : set.migrations)
        if (Version::parse("0005").value() < m.version)
            pending.push_back(&m.up);
    ASSERT_FALSE(pending.empty());
    expected = tables_locked_by(p.db(), pending);
    ASSERT_FALSE(expected.empty());
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    auto id = p.db().scalar(
        "SELECT DISTINCT snapshot_id FROM rollsafe.history WHERE op = 'up' AND version = '0006'");
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(manifest_tables(manifest(p, id)), expected);
    EXPECT_EQ(p.db().scalar("SELECT count(DISTINCT snapshot_id) FROM rollsafe.history WHERE op = "
                            "'up' AND version > '0005'"),
              "1");
}

TEST(Snapshot, ADoBlockForcesAFullSnapshotAndTheReasonIsLogged) {
    Project p;
    seed_shop(p);
    p.add("0001_backfill",
          "ALTER TABLE orders ADD COLUMN total int;\nDO $$ BEGIN UPDATE orders SET total = 1; END "
          "$$;\n",
          "ALTER TABLE orders DROP COLUMN total;\n");
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(
        r.err.find("snapshot: full dump because migrations/0001_backfill.up.sql:2:1: DO block"),
        std::string::npos)
        << r.err;
    auto m = manifest(p, only_snapshot(p));
    EXPECT_EQ(m["mode"], "full");
    ASSERT_EQ(m["mode_reasons"].size(), 1u);
    EXPECT_NE(m["mode_reasons"][0].get<std::string>().find("DO block"), std::string::npos);
    EXPECT_EQ(manifest_tables(m).count("public.untouched"), 1u);
    EXPECT_EQ(manifest_tables(m).count("rollsafe.history"), 1u);
}

TEST(Snapshot, MigrationDirectivesOverrideTheConfiguredMode) {
    Project p;
    seed_shop(p);
    p.add("0001_none", "-- rollsafe:snapshot=none\nALTER TABLE orders ADD COLUMN a int;\n",
          "ALTER TABLE orders DROP COLUMN a;\n");
    auto r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(files_in(snapshot_dir(p)).empty());
    EXPECT_NE(r.err.find("snapshot skipped: every migration of the batch says snapshot=none"),
              std::string::npos)
        << r.err;
    p.add("0002_full", "-- rollsafe:snapshot=full\nALTER TABLE orders ADD COLUMN b int;\n",
          "ALTER TABLE orders DROP COLUMN b;\n");
    r = p.run({"up"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(manifest(p, only_snapshot(p))["mode"], "full");
    // snapshot.mode = none turns snapshots off.
    p.add("0003_off", "ALTER TABLE orders ADD COLUMN c int;\n",
          "ALTER TABLE orders DROP COLUMN c;\n");
    r = p.run({"up", "--snapshot-mode", "none"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.db().scalar(
                  "SELECT coalesce(snapshot_id, '') FROM rollsafe.history WHERE version = '0003'"),
              "");
    // ... except for a migration that asks for one itself.
    p.add("0004_asks", "-- rollsafe:snapshot=touched\nALTER TABLE orders ADD COLUMN d int;\n",
          "ALTER TABLE orders DROP COLUMN d;\n");
    r = p.run({"up", "--snapshot-mode", "none"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(p.db().scalar(
                  "SELECT coalesce(snapshot_id, '') FROM rollsafe.history WHERE version = '0004'"),
              "");
}

TEST(Snapshot, VerifyCatchesATruncatedAndAFlippedArchiveAndRestoreRefusesThem) {
    Project p;
    seed_shop(p);
    p.db().connect()->exec(
        "INSERT INTO untouched SELECT g, md5(g::text) FROM generate_series(11, 3000) g");
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto r = p.run({"snapshot", "create", "--table", "untouched", "-o", "json"});
        ASSERT_EQ(r.code, 0) << r.all();
        ids.push_back(nlohmann::json::parse(r.out)["id"]);
    }
    auto ok = p.run({"snapshot", "verify", ids[0]});
    ASSERT_EQ(ok.code, 0) << ok.all();
    EXPECT_NE(ok.out.find("row counts match"), std::string::npos);

    std::string dir = snapshot_dir(p);
    // Truncated to half: pg_restore -l still reads its table of contents ...
    std::string half = dir + "/" + ids[0] + ".dump";
    auto content = test::read(half);
    ASSERT_EQ(::truncate(half.c_str(), static_cast<off_t>(content.size() / 2)), 0);
    EXPECT_TRUE(test::cluster().run_tool("pg_restore", {"-l", half}).ok());
    // ... but verify does not pass it.
    auto v = p.run({"snapshot", "verify", ids[0]});
    EXPECT_EQ(v.code, 9) << v.all();
    EXPECT_NE(v.out.find("SHA-256"), std::string::npos) << v.out;
    // Even with the manifest's checksum made to match, the full read fails.
    auto m = manifest(p, ids[1]);
    std::string second = dir + "/" + ids[1] + ".dump";
    auto body = test::read(second);
    ASSERT_EQ(::truncate(second.c_str(), static_cast<off_t>(body.size() / 2)), 0);
    m["sha256"] = sha256_file(second);
    m["bytes"] = body.size() / 2;
    m["verification"] = nullptr;
    fs::write_file_atomic(dir + "/" + ids[1] + ".json", m.dump(2), 0600);
    v = p.run({"snapshot", "verify", ids[1]});
    EXPECT_EQ(v.code, 9) << v.all();
    EXPECT_NE(v.out.find("full read failed"), std::string::npos) << v.out;
    // One flipped byte in the middle.
    std::string third = dir + "/" + ids[2] + ".dump";
    auto bytes = test::read(third);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    {
        std::ofstream out(third, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    v = p.run({"snapshot", "verify", ids[2]});
    EXPECT_EQ(v.code, 9) << v.all();
    // Restore refuses every one of them and changes nothing.
    p.db().connect()->exec("DELETE FROM untouched WHERE id > 100");
    for (const auto& id : ids) {
        auto r = p.run({"restore", "--snapshot", id, "--table", "untouched", "--yes"});
        EXPECT_EQ(r.code, 9) << id << "\n" << r.all();
        EXPECT_NE(r.err.find("does not verify"), std::string::npos) << r.err;
        EXPECT_EQ(p.db().scalar("SELECT count(*) FROM untouched"), "100");
        EXPECT_EQ(p.db().scalar(
                      "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rollsafe_restore%'"),
                  "0");
    }
    auto all = p.run({"snapshot", "verify", "--all", "-o", "json"});
    EXPECT_EQ(all.code, 9);
}

// Restore re-checks the SHA-256 of a snapshot verified earlier on a thread while it prepares;
// an archive changed after its verification is still refused before the live table changes.
TEST(Snapshot, AnArchiveChangedAfterItsVerificationIsRefusedByRestore) {
    Project p;
    seed_shop(p);
    p.db().connect()->exec(
        "INSERT INTO untouched SELECT g, md5(g::text) FROM generate_series(11, 3000) g");
    auto c = p.run({"snapshot", "create", "--table", "untouched", "-o", "json"});
    ASSERT_EQ(c.code, 0) << c.all();
    std::string id = nlohmann::json::parse(c.out)["id"];
    ASSERT_EQ(p.run({"snapshot", "verify", id}).code, 0);
    ASSERT_TRUE(manifest(p, id)["verification"]["ok"].get<bool>());
    // The same size, one byte different: only the checksum can tell.
    std::string archive = snapshot_dir(p) + "/" + id + ".dump";
    auto bytes = test::read(archive);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    {
        std::ofstream out(archive, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    p.db().connect()->exec("DELETE FROM untouched WHERE id > 100");
    for (const char* mode : {"swap", "data", "side-by-side"}) {
        auto r =
            p.run({"restore", "--snapshot", id, "--table", "untouched", "--mode", mode, "--yes"});
        EXPECT_EQ(r.code, 9) << mode << "\n" << r.all();
        EXPECT_NE(r.err.find("does not verify"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("SHA-256"), std::string::npos) << r.err;
        EXPECT_EQ(p.db().scalar("SELECT count(*) FROM untouched"), "100");
        EXPECT_EQ(p.db().scalar(
                      "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rollsafe_restore%'"),
                  "0");
    }
    auto dry = p.run({"restore", "--snapshot", id, "--table", "untouched", "--dry-run"});
    EXPECT_EQ(dry.code, 9) << dry.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'rollsafe'") == "0"
                  ? "0"
                  : p.db().scalar("SELECT count(*) FROM rollsafe.history WHERE op = 'restore'"),
              "0");
}

TEST(Snapshot, SigkillOfRollsafeDuringPgDumpLeavesNoFinalFileAndTheNextRunCleansUp) {
    Project p;
    seed_shop(p);
    p.add("0001_alter", "ALTER TABLE orders ADD COLUMN kill_test int;\n",
          "ALTER TABLE orders DROP COLUMN kill_test;\n");
    // Hold a lock that makes pg_dump wait, so that the kill lands while it runs.
    auto blocker = p.db().connect();
    blocker->exec("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
    test::CliOptions o;
    o.env = p.env({{"ROLLSAFE_LOCK_LEASE", "2s"}});
    o.cwd = p.dir().path();
    test::CliProcess proc({"up", "--lock-timeout", "60s"}, o);
    std::string dir = snapshot_dir(p);
    auto temp_file = [&] {
        for (const auto& f : files_in(dir))
            if (f[0] == '.' && text::ends_with(f, ".dump.partial"))
                return dir + "/" + f;
        return std::string();
    };
    auto waiting = [&] {
        return p.db().scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                   "'rollsafe-snapshot-%' "
                   "AND wait_event_type = 'Lock'") == "1";
    };
    ASSERT_TRUE(test::wait_until([&] { return waiting() && !temp_file().empty(); }))
        << proc.wait(std::chrono::seconds(5)).all();
    std::string temp = temp_file();
    proc.signal(SIGKILL);
    auto killed = proc.wait(std::chrono::seconds(30));
    EXPECT_EQ(killed.code, 128 + SIGKILL);
    blocker->exec("ROLLBACK");
    // The orphaned pg_dump finishes into the temporary name; nothing gets a final name.
    ASSERT_TRUE(test::wait_until([&] { return test::processes_using(temp).empty(); }));
    for (const auto& f : files_in(dir)) {
        EXPECT_FALSE(text::ends_with(f, ".dump")) << f;
        EXPECT_FALSE(text::ends_with(f, ".json")) << f;
    }
    EXPECT_TRUE(fs::exists(temp));
    EXPECT_EQ(
        p.db().scalar(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'kill_test'"),
        "0");
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 0);
    // The next run removes the leftover and goes on.
    auto again = p.run({"up"}, {{"ROLLSAFE_LOCK_LEASE", "2s"}});
    ASSERT_EQ(again.code, 0) << again.all();
    EXPECT_FALSE(fs::exists(temp));
    EXPECT_NE(again.err.find("left behind by a snapshot that was killed"), std::string::npos)
        << again.err;
    EXPECT_FALSE(only_snapshot(p).empty());
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 1);
}

TEST(Snapshot, APgDumpKilledMidwayFailsTheRunWithExit9AndLeavesNothing) {
    Project p;
    seed_shop(p);
    p.add("0001_alter", "ALTER TABLE orders ADD COLUMN x int;\n",
          "ALTER TABLE orders DROP COLUMN x;\n");
    auto blocker = p.db().connect();
    blocker->exec("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
    test::CliOptions o;
    o.env = p.env();
    o.cwd = p.dir().path();
    test::CliProcess proc({"up", "--lock-timeout", "60s"}, o);
    std::string dir = snapshot_dir(p);
    std::vector<pid_t> dumps;
    ASSERT_TRUE(test::wait_until([&] {
        dumps.clear();
        for (pid_t pid : test::processes_using(dir))
            if (test::read("/proc/" + std::to_string(pid) + "/cmdline").find("pg_dump") !=
                std::string::npos)
                dumps.push_back(pid);
        return dumps.size() == 1;
    })) << proc.wait(std::chrono::seconds(5)).all();
    ::kill(dumps[0], SIGKILL);
    auto r = proc.wait(std::chrono::seconds(30));
    blocker->exec("ROLLBACK");
    EXPECT_EQ(r.code, 9) << r.all();
    EXPECT_NE(r.err.find("pg_dump failed: killed by signal 9"), std::string::npos) << r.err;
    EXPECT_TRUE(files_in(dir).empty()) << text::join(files_in(dir), " ");
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 0);
}

TEST(Snapshot, DiskFullDuringTheDumpGivesExit9AndAppliesNothing) {
    Project p;
    seed_shop(p);
    // About a megabyte of incompressible text, against a 64 kB file size limit on the process.
    p.db().connect()->exec(
        "INSERT INTO orders (customer_id, note) SELECT 1, md5(g::text) || md5((g * 7)::text) "
        "FROM generate_series(1, 20000) g");
    p.add("0001_alter", "ALTER TABLE orders ADD COLUMN y int;\n",
          "ALTER TABLE orders DROP COLUMN y;\n");
    test::CliOptions o;
    o.env = p.env();
    o.cwd = p.dir().path();
    test::CliProcess proc({"up"}, o, {"prlimit", "--fsize=65536", "--"});
    auto r = proc.wait(std::chrono::seconds(120));
    EXPECT_EQ(r.code, 9) << r.all();
    EXPECT_NE(r.err.find("no space left (disk full or file size limit)"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("nothing was applied"), std::string::npos) << r.err;
    EXPECT_TRUE(files_in(snapshot_dir(p)).empty()) << text::join(files_in(snapshot_dir(p)), " ");
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 0);
    EXPECT_EQ(
        p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'y'"),
        "0");
}

TEST(Snapshot, AnOlderPgDumpIsRefusedBeforeAnythingIsApplied) {
    Project p;
    seed_shop(p);
    p.add("0001_alter", "ALTER TABLE orders ADD COLUMN z int;\n",
          "ALTER TABLE orders DROP COLUMN z;\n");
    // A pg_dump 14 in its own bin folder: it answers --version and nothing else.
    std::string bin = p.dir() / "pg14/bin";
    p.dir().write("pg14/bin/pg_dump",
                  "#!/bin/sh\n[ \"$1\" = --version ] && echo 'pg_dump (PostgreSQL) 14.9' && exit "
                  "0\nexit 3\n");
    ::chmod((bin + "/pg_dump").c_str(), 0755);
    auto r = p.run({"up"}, {{"ROLLSAFE_SNAPSHOT_PG_BINDIR", bin}});
    EXPECT_EQ(r.code, 9) << r.all();
    EXPECT_NE(r.err.find("is version 14.9, older than the server"), std::string::npos) << r.err;
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 0);
    EXPECT_EQ(
        p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'z'"),
        "0");
}

TEST(Snapshot, ListAndPrune) {
    Project p;
    seed_shop(p);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto r = p.run({"snapshot", "create", "-o", "json"});
        ASSERT_EQ(r.code, 0) << r.all();
        auto m = nlohmann::json::parse(r.out);
        EXPECT_EQ(m["mode"], "full");
        ids.push_back(m["id"]);
    }
    auto list = p.run({"snapshot", "list", "-o", "json"});
    ASSERT_EQ(list.code, 0) << list.all();
    auto j = nlohmann::json::parse(list.out);
    ASSERT_EQ(j["snapshots"].size(), 3u);
    EXPECT_EQ(j["snapshots"][2]["id"], ids[2]);
    auto text = p.run({"snapshot", "list"});
    EXPECT_NE(text.out.find(ids[0]), std::string::npos);
    auto dry = p.run({"snapshot", "prune", "--keep", "1", "--dry-run"});
    ASSERT_EQ(dry.code, 0) << dry.all();
    EXPECT_NE(dry.out.find("would remove " + ids[0]), std::string::npos) << dry.out;
    EXPECT_EQ(files_in(snapshot_dir(p)).size(), 6u);
    auto pr = p.run({"snapshot", "prune", "--keep", "1"});
    ASSERT_EQ(pr.code, 0) << pr.all();
    EXPECT_EQ(files_in(snapshot_dir(p)),
              (std::vector<std::string>{ids[2] + ".dump", ids[2] + ".json"}));
    // --max-age never removes the newest one.
    EXPECT_EQ(p.run({"snapshot", "prune", "--keep", "5", "--max-age", "1s"}).code, 0);
    EXPECT_EQ(files_in(snapshot_dir(p)).size(), 2u);
    // Retention after up: snapshot.keep = 1 leaves only the newest.
    p.add("0001_a", "ALTER TABLE orders ADD COLUMN a int;\n",
          "ALTER TABLE orders DROP COLUMN a;\n");
    ASSERT_EQ(p.run({"up"}, {{"ROLLSAFE_SNAPSHOT_KEEP", "1"}}).code, 0);
    EXPECT_EQ(files_in(snapshot_dir(p)).size(), 2u);
    EXPECT_NE(p.db().scalar("SELECT snapshot_id FROM rollsafe.history WHERE version = '0001'"),
              ids[2]);
}
