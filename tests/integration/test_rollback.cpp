// Rollback coordination, each test a whole incident: releases, gate, rollback --to-release from an
// older image, the freeze mirrored into the lockfile, and the incident report.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "core/base/fs.h"
#include "core/base/process_identity.h"
#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

// v1 ships 0001-0002; v2 adds 0003 (expand) and, for the contract case, 0004.
void add_v1(Project& p) {
    p.add("0001_users",
          "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT "
          "NULL, phone text);\n",
          "DROP TABLE users;\n");
    p.add("0002_orders",
          "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint "
          "NOT NULL REFERENCES users (id), "
          "total_cents bigint NOT NULL);\n",
          "DROP TABLE orders;\n");
}

void add_v2_expand(Project& p) {
    p.add(
        "0003_orders_note", "ALTER TABLE orders ADD COLUMN note text;\n",
        "-- rollsafe:allow=drop-column reason=\"note is new in v2; the snapshot keeps its data\"\n"
        "ALTER TABLE orders DROP COLUMN note;\n");
}

void add_v2_contract(Project& p) {
    add_v2_expand(p);
    p.add("0004_drop_phone",
          "-- rollsafe:allow=drop-column reason=\"v2 no longer reads phone; contract step of the "
          "phone removal\"\n"
          "ALTER TABLE users DROP COLUMN phone;\n",
          "ALTER TABLE users ADD COLUMN phone text;\n");
}

void write_releases(const Project& p, const std::string& v2_version) {
    p.dir().write("releases.toml",
                  "[releases]\n\"v1\" = \"0002\"\n\"v2\" = \"" + v2_version + "\"\n");
}

// A copy of the project as the v1 image has it: migrations up to 0002 only.
std::string v1_image(const Project& p, const test::TempDir& into) {
    for (const char* f :
         {"0001_users.up.sql", "0001_users.down.sql", "0002_orders.up.sql", "0002_orders.down.sql"})
        into.write(std::string("migrations/") + f, test::read(p.migrations() + "/" + f));
    into.write("releases.toml", "[releases]\n\"v1\" = \"0002\"\n");
    return into.path();
}

test::CliResult run_in(const std::string& dir, const Project& p,
                       const std::vector<std::string>& args) {
    test::CliOptions o;
    o.env = p.env();
    o.cwd = dir;
    return test::run_cli(args, o);
}

}  // namespace

TEST(Rollback, ExpandOnlyReleaseNeedsNoSchemaRollback) {
    Project p;
    add_v1(p);
    add_v2_expand(p);
    write_releases(p, "0003");
    ASSERT_EQ(p.run({"up", "--to", "0002", "--release", "v1"}).code, 0);
    auto v2 = p.run({"up", "--release", "v2"});
    ASSERT_EQ(v2.code, 0) << v2.all();
    EXPECT_EQ(
        p.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0003' AND op = 'up'"),
        "expand,data-loss-on-down");

    auto gate = p.run({"gate", "--release", "v1"});
    EXPECT_EQ(gate.code, 0) << gate.all();
    auto before = p.db().scalar("SELECT count(*) FROM rollsafe.history");
    test::TempDir v1;
    auto rb = run_in(v1_image(p, v1), p, {"rollback", "--to-release", "v1", "-o", "json"});
    ASSERT_EQ(rb.code, 0) << rb.all();
    auto j = nlohmann::json::parse(rb.out);
    EXPECT_TRUE(j["nothing_to_do"].get<bool>());
    EXPECT_NE(j["decision"].get<std::string>().find("expand-only"), std::string::npos);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history"), before);  // nothing changed
}

TEST(Rollback, ContractReleaseIsRolledBackFromTheOlderImageAndVerified) {
    Project p;
    add_v1(p);
    add_v2_contract(p);
    write_releases(p, "0004");
    ASSERT_EQ(p.run({"up", "--to", "0002", "--release", "v1"}).code, 0);
    p.db().connect()->exec("INSERT INTO users (email, phone) VALUES ('a@example.com', '+1')");
    auto v2 = p.run({"up", "--release", "v2"});
    ASSERT_EQ(v2.code, 0) << v2.all();
    EXPECT_EQ(
        p.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0004' AND op = 'up'"),
        "contract");

    auto gate = p.run({"gate", "--release", "v1", "-o", "json"});
    EXPECT_EQ(gate.code, 12) << gate.all();
    EXPECT_NE(
        nlohmann::json::parse(gate.out)["hint"].get<std::string>().find("rollback --to-release v1"),
        std::string::npos);

    test::TempDir v1;
    auto dir = v1_image(p, v1);
    auto dry = run_in(dir, p, {"rollback", "--to-release", "v1", "--dry-run"});
    ASSERT_EQ(dry.code, 0) << dry.all();
    EXPECT_NE(dry.out.find("0004_drop_phone"), std::string::npos) << dry.out;
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'users' AND column_name = 'phone'"),
              "0");

    auto rb = run_in(dir, p, {"rollback", "--to-release", "v1", "--yes", "-o", "json"});
    ASSERT_EQ(rb.code, 0) << rb.all();
    auto j = nlohmann::json::parse(rb.out);
    EXPECT_EQ(j["verification"], "matched") << rb.out;
    EXPECT_FALSE(j["snapshot_id"].get<std::string>().empty()) << rb.out;  // a snapshot came first
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'users' AND column_name = 'phone'"),
              "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "0");
    EXPECT_EQ(p.db().scalar("SELECT string_agg(version || ':' || (details->>'source'), ',' ORDER "
                            "BY id) FROM rollsafe.history WHERE op = 'down'"),
              "0004:stored,0003:stored");
    EXPECT_EQ(p.db().scalar("SELECT count(DISTINCT snapshot_id) FROM rollsafe.history WHERE op = "
                            "'down' AND snapshot_id IS NOT NULL"),
              "1");

    auto gate_after = run_in(dir, p, {"gate", "--release", "v1"});
    EXPECT_EQ(gate_after.code, 0) << gate_after.all();
}

TEST(Rollback, RollbackVerificationNamesDifferences) {
    Project p;
    add_v1(p);
    add_v2_contract(p);
    write_releases(p, "0004");
    ASSERT_EQ(p.run({"up", "--to", "0002", "--release", "v1"}).code, 0);
    ASSERT_EQ(p.run({"up", "--release", "v2"}).code, 0);
    // Someone changes the schema by hand; the rollback cannot restore v1's exact schema.
    p.db().connect()->exec("CREATE INDEX users_email_idx ON users (email)");
    test::TempDir v1;
    auto rb = run_in(v1_image(p, v1), p, {"rollback", "--to-release", "v1", "--yes"});
    EXPECT_EQ(rb.code, 8) << rb.all();
    EXPECT_NE(rb.err.find("index public.users_email_idx: added"), std::string::npos) << rb.err;
}

TEST(Rollback, DirtyFailureFreezesUntilUnfrozenAndTheReportShowsIt) {
    Project p;
    add_v1(p);
    write_releases(p, "0003");
    p.add("0003_bad_index",
          "-- rollsafe:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_idx ON orders "
          "(user_id);\n"
          "CREATE INDEX CONCURRENTLY orders_bad_idx ON orders (no_such_column);\n",
          "-- rollsafe:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS orders_user_idx;\n");
    auto lockfile = p.dir() / ".rollsafe/rollsafe.lock";
    auto up = p.run({"up", "--release", "v2"});
    ASSERT_EQ(up.code, 7) << up.all();
    auto lf = nlohmann::json::parse(test::read(lockfile));
    EXPECT_EQ(lf["state"], "frozen");
    EXPECT_NE(lf["reason"].get<std::string>().find("0003_bad_index"), std::string::npos);
    EXPECT_EQ(lf["exit_code"], 7);
    struct stat st {};
    ASSERT_EQ(::stat(lockfile.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    EXPECT_EQ(p.run({"up"}).code, 4);
    EXPECT_EQ(p.run({"gate", "--release", "v1"}).code, 4);
    EXPECT_EQ(p.run({"gate", "--release", "v2", "--wait", "1s"}).code,
              4);  // fails fast, no waiting
    ASSERT_EQ(p.run({"repair", "--mark-rolled-back", "--version", "0003", "--reason",
                     "index dropped by hand"})
                  .code,
              0);
    p.db().connect()->exec("DROP INDEX IF EXISTS orders_user_idx");
    auto unfreeze = p.run({"unfreeze", "--reason", "INC-7 resolved"});
    ASSERT_EQ(unfreeze.code, 0) << unfreeze.all();
    EXPECT_FALSE(fs::exists(lockfile));
    EXPECT_EQ(p.run({"gate", "--release", "v1"}).code, 0);

    auto rep = p.run({"report", "--last", "1h", "--format", "json"});
    ASSERT_EQ(rep.code, 0) << rep.all();
    auto r = nlohmann::json::parse(rep.out);
    EXPECT_EQ(r["summary"]["freezes"], 1);
    EXPECT_EQ(r["summary"]["unfreezes"], 1);
    EXPECT_GE(r["summary"]["failures"].get<int>(), 1);
    EXPECT_FALSE(r["summary"]["time_to_recovery_seconds"].is_null()) << rep.out;
    bool saw_unfreeze = false;
    for (const auto& e : r["timeline"])
        saw_unfreeze |= e["op"] == "unfreeze" && e["reason"] == "INC-7 resolved";
    EXPECT_TRUE(saw_unfreeze) << rep.out;
    auto md = p.run({"report", "--last", "1h", "--format", "markdown"});
    EXPECT_NE(md.out.find("| unfreeze |"), std::string::npos) << md.out;
}

TEST(Rollback, GatesWaitForTheMigrationJobOrRunOutOfTime) {
    Project p;
    add_v1(p);
    p.add("0003_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n", "DROP TABLE slow;\n");
    write_releases(p, "0003");
    ASSERT_EQ(p.run({"up", "--to", "0002"}).code, 0);
    auto short_wait = p.run({"gate", "--release", "v2", "--wait", "300ms", "-o", "json"});
    EXPECT_EQ(short_wait.code, 11) << short_wait.all();
    EXPECT_EQ(nlohmann::json::parse(short_wait.out)["missing"][0], "0003_slow");

    test::CliResult up, g1, g2;
    std::thread tu([&] { up = p.run({"up", "--release", "v2"}); });
    std::thread t1([&] { g1 = p.run({"gate", "--release", "v2", "--wait", "60s"}); });
    std::thread t2([&] { g2 = p.run({"gate", "--release", "v2", "--wait", "60s"}); });
    tu.join();
    t1.join();
    t2.join();
    EXPECT_EQ(up.code, 0) << up.all();
    EXPECT_EQ(g1.code, 0) << g1.all();
    EXPECT_EQ(g2.code, 0) << g2.all();
    EXPECT_EQ(p.run({"gate", "--release", "v2", "--wait", "300ms"}).code, 0);
}

TEST(Rollback, GateOnAnUnreachableDatabaseIsUnavailable) {
    Project p;
    add_v1(p);
    test::CliOptions o;
    o.env = {{"DATABASE_URL", "postgresql://app@127.0.0.1:1/x?connect_timeout=1"}};
    o.cwd = p.dir().path();
    auto r = test::run_cli({"gate", "--wait", "1s"}, o);
    EXPECT_EQ(r.code, 10) << r.all();
}

TEST(Rollback, StaleLockfileIsReportedAndTakenOverButALiveOneIsRespected) {
    Project p;
    add_v1(p);
    auto lockfile = p.dir() / ".rollsafe/rollsafe.lock";
    fs::make_dirs(p.dir() / ".rollsafe", 0700);
    // A `running` file from a process that is gone (a pid that exists, with another start time).
    auto me = ProcessIdentity::current();
    nlohmann::json stale = {{"state", "running"}, {"pid", static_cast<int>(me.pid)},
                            {"host", me.host},    {"process_start_time", me.start_time + 12345},
                            {"command", "up"},    {"started_at", "2026-01-01T00:00:00Z"}};
    fs::write_file_atomic(lockfile, stale.dump(), 0600);
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["lockfile"]["state"], "stale") << st.dump();
    auto up = p.run({"up"});
    EXPECT_EQ(up.code, 0) << up.all();
    EXPECT_NE(up.err.find("stale lockfile"), std::string::npos) << up.err;
    EXPECT_FALSE(fs::exists(lockfile));  // removed after the successful run

    // A live holder: another rollsafe waiting on the lock (it holds the lockfile while it waits).
    p.add("0003_more", "CREATE TABLE more (id int);\n", "DROP TABLE more;\n");
    p.db().connect()->exec(
        "INSERT INTO rollsafe.lock VALUES (1, 'x', 'h', 1, '', 'up', now(), now(), now() + "
        "interval '1 hour')");
    test::CliResult holder;
    std::thread t([&] { holder = p.run({"up", "--lock-wait", "3s"}); });
    ASSERT_TRUE(test::wait_until([&] { return fs::exists(lockfile); }));
    auto live = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(live["lockfile"]["state"], "running") << live.dump();
    auto second = p.run({"up", "--lock-wait", "200ms"});
    EXPECT_EQ(second.code, 3) << second.all();
    EXPECT_NE(second.err.find("lockfile"), std::string::npos) << second.err;
    t.join();
    EXPECT_EQ(holder.code, 3) << holder.all();
}

TEST(Rollback, MetricsFileIsWrittenForNodeExporter) {
    Project p;
    add_v1(p);
    auto metrics = p.dir() / "rollsafe.prom";
    ASSERT_EQ(p.run({"up", "--metrics-file", metrics}).code, 0);
    auto text = test::read(metrics);
    EXPECT_NE(text.find("rollsafe_last_run_exit_code{command=\"up\"} 0"), std::string::npos)
        << text;
    EXPECT_NE(text.find("rollsafe_schema_version 2"), std::string::npos) << text;
    EXPECT_NE(text.find("rollsafe_pending_migrations 0"), std::string::npos) << text;
    EXPECT_NE(text.find("rollsafe_frozen 0"), std::string::npos) << text;
    ASSERT_EQ(p.run({"freeze", "--reason", "x"}).code, 0);
    EXPECT_EQ(p.run({"up", "--metrics-file", metrics}).code, 4);
    text = test::read(metrics);
    EXPECT_NE(text.find("rollsafe_last_run_exit_code{command=\"up\"} 4"), std::string::npos)
        << text;
    EXPECT_NE(text.find("rollsafe_frozen 1"), std::string::npos) << text;
}
