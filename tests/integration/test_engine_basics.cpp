// The migration engine through the real binary: apply, revert, status, history, drift,
// out-of-order, stored downs, baseline, repair, freeze, and the exit codes each produces.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

void add_shop(Project& p) {
    p.add("0001_users",
          "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT "
          "NULL);\n",
          "DROP TABLE users;\n");
    p.add("0002_orders",
          "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));\n"
          "INSERT INTO users (email) VALUES ('a@example.com');\n",
          "DROP TABLE orders;\nDELETE FROM users WHERE email = 'a@example.com';\n");
    p.add("0003_orders_note", "ALTER TABLE orders ADD COLUMN note text;\n",
          "ALTER TABLE orders DROP COLUMN note;\n");
}

}  // namespace

TEST(EngineBasics, UpAppliesEveryMigrationOnceWithHistory) {
    Project p;
    add_shop(p);
    auto r = p.run({"up", "--release", "v1.0.0"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(p.table_exists("orders"));
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "1");
    EXPECT_EQ(p.history_count("0001", "up", "applied"), 1);
    EXPECT_EQ(p.history_count("0003", "up", "applied"), 1);
    EXPECT_EQ(p.db().scalar("SELECT string_agg(DISTINCT release, ',') FROM rollsafe.history"),
              "v1.0.0");
    // The down text is stored with the up, with both checksums.
    EXPECT_EQ(p.db().scalar("SELECT down_script FROM rollsafe.history WHERE version = '0003'"),
              "ALTER TABLE orders DROP COLUMN note;\n");
    EXPECT_EQ(p.db().scalar("SELECT length(up_sha256) || ',' || length(down_sha256) FROM "
                            "rollsafe.history WHERE version = '0001'"),
              "64,64");

    auto again = p.run({"up"});
    EXPECT_EQ(again.code, 0) << again.all();
    EXPECT_NE(again.out.find("nothing to do"), std::string::npos);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history WHERE op = 'up'"), "3");
}

TEST(EngineBasics, HistoryIsAppendOnly) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto s = p.db().connect();
    EXPECT_THROW(s->exec("UPDATE rollsafe.history SET outcome = 'x'"), db::DbError);
    EXPECT_THROW(s->exec("DELETE FROM rollsafe.history"), db::DbError);
    EXPECT_THROW(s->exec("TRUNCATE rollsafe.history"), db::DbError);
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history"), "3");
}

TEST(EngineBasics, DryRunAndPlanChangeNothing) {
    Project p;
    add_shop(p);
    auto r = p.run({"up", "--dry-run"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("migrations/0002_orders.up.sql:2:1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("lock_timeout 1s"), std::string::npos);
    EXPECT_FALSE(p.table_exists("users"));
    EXPECT_FALSE(p.table_exists("rollsafe.history"));

    auto plan = p.run({"plan", "-o", "json"});
    ASSERT_EQ(plan.code, 0) << plan.all();
    auto j = nlohmann::json::parse(plan.out);
    ASSERT_EQ(j["steps"].size(), 3u);
    EXPECT_EQ(j["steps"][1]["statements"].size(), 2u);
    EXPECT_EQ(j["steps"][1]["transaction"], "per-migration");
    EXPECT_FALSE(p.table_exists("users"));
}

TEST(EngineBasics, StatusAndHistoryJson) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up", "--to", "0002"}).code, 0);
    auto r = p.run({"status", "-o", "json"});
    ASSERT_EQ(r.code, 0) << r.all();
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["current_version"], "0002");
    EXPECT_EQ(j["counts"]["applied"], 2);
    EXPECT_EQ(j["counts"]["pending"], 1);
    EXPECT_EQ(j["migrations"][2]["state"], "pending");
    EXPECT_TRUE(j["freeze"].is_null());
    EXPECT_TRUE(j["lock"].is_null());

    auto h = p.run({"history", "-o", "json"});
    ASSERT_EQ(h.code, 0) << h.all();
    auto hj = nlohmann::json::parse(h.out)["history"];
    ASSERT_EQ(hj.size(), 2u);
    EXPECT_EQ(hj[0]["version"], "0001");
    EXPECT_EQ(hj[0]["op"], "up");
    EXPECT_EQ(hj[0]["outcome"], "applied");
    EXPECT_FALSE(hj[0]["host"].get<std::string>().empty());
    EXPECT_FALSE(hj[0]["db_user"].get<std::string>().empty());
}

TEST(EngineBasics, StatusListsFilelessVersionsInVersionOrderWithTheirDrift) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up", "--release", "v1"}).code, 0);
    // 0001: a cosmetic change to the up, a real change to the down; 0002 and 0003 lose their
    // files (an older image): newer than every file left, they are "ahead".
    p.add("0001_users",
          "-- a comment\nCREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
          "email text NOT NULL);\n",
          "DROP TABLE users CASCADE;\n");
    p.remove("0002_orders");
    p.remove("0003_orders_note");
    auto names = [](const nlohmann::json& j) {
        std::string out;
        for (const auto& m : j["migrations"])
            out += m["version"].get<std::string>() + ":" + m["state"].get<std::string>() + " ";
        return out;
    };
    auto r = p.run({"status", "-o", "json"});
    ASSERT_EQ(r.code, 0) << r.all();
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(names(j), "0001:applied 0002:missing-file 0003:missing-file ");
    EXPECT_EQ(j["migrations"][0]["drift"], "cosmetic");
    EXPECT_EQ(j["migrations"][0]["down_drift"], "changed");
    EXPECT_EQ(j["migrations"][1]["name"], "orders");
    EXPECT_EQ(j["migrations"][1]["has_file"], false);
    EXPECT_EQ(j["migrations"][1]["release"], "v1");
    EXPECT_FALSE(j["migrations"][2]["applied_at"].get<std::string>().empty());
    EXPECT_EQ(j["counts"]["missing_files"], 2);
    EXPECT_EQ(j["counts"]["drifted"], 0);  // cosmetic only
    EXPECT_EQ(j["current_version"], "0003");

    // A newer file makes them "missing" (older than a file): still listed between the files.
    p.add("0004_items", "CREATE TABLE items (id bigint PRIMARY KEY);\n", "DROP TABLE items;\n");
    auto r2 = p.run({"status", "-o", "json"});
    ASSERT_EQ(r2.code, 0) << r2.all();
    auto j2 = nlohmann::json::parse(r2.out);
    EXPECT_EQ(names(j2), "0001:applied 0002:missing-file 0003:missing-file 0004:pending ");
    auto text = p.run({"status"});
    EXPECT_NE(text.out.find("(down differs from stored)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("(whitespace/comments changed)"), std::string::npos) << text.out;
}

TEST(EngineBasics, StatusOnAFreshDatabaseCreatesNothing) {
    Project p;
    add_shop(p);
    auto r = p.run({"status"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("3 pending"), std::string::npos) << r.out;
    EXPECT_FALSE(p.table_exists("rollsafe.history"));
}

TEST(EngineBasics, DownRevertsNewestFirst) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto r = p.run({"down", "--to", "0001", "--reason", "test"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_FALSE(p.table_exists("orders"));
    EXPECT_TRUE(p.table_exists("users"));
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM users"), "0");
    EXPECT_EQ(p.history_count("0003", "down", "rolled-back"), 1);
    EXPECT_EQ(
        p.db().scalar(
            "SELECT string_agg(version, ',' ORDER BY id) FROM rollsafe.history WHERE op = 'down'"),
        "0003,0002");
    // And forward again.
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_TRUE(p.table_exists("orders"));
}

TEST(EngineBasics, AtomicDownIsAllOrNothing) {
    Project p;
    add_shop(p);
    p.add("0004_bad_down", "CREATE TABLE t4 (id int);\n", "DROP TABLE t4;\nSELECT 1/0;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    auto r = p.run({"down", "--to", "0002", "--atomic"});
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_TRUE(p.table_exists("t4"));
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history WHERE op = 'down'"), "0");
}

TEST(EngineBasics, DownFromAnOlderImageUsesTheStoredDownScript) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.remove("0003_orders_note");  // the older image lacks the newer files
    auto r = p.run({"down", "--to", "0002"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("stored"), std::string::npos) << r.err;
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "0");
    EXPECT_EQ(p.db().scalar("SELECT details->>'source' FROM rollsafe.history WHERE op = 'down'"),
              "stored");
}

TEST(EngineBasics, ChangedDownFileIsDriftUnlessChosen) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0003_orders_note", "ALTER TABLE orders ADD COLUMN note text;\n",
          "ALTER TABLE orders DROP COLUMN note;\nSELECT 'changed';\n");
    auto r = p.run({"down", "--steps", "1"});
    EXPECT_EQ(r.code, 8) << r.all();
    EXPECT_NE(r.err.find("0003_orders_note.down.sql"), std::string::npos);
    auto ok = p.run({"down", "--steps", "1", "--use-stored"});
    EXPECT_EQ(ok.code, 0) << ok.all();
}

TEST(EngineBasics, ChangedUpScriptIsDriftButCosmeticChangesAreWarnings) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0001_users",
          "-- a new comment\nCREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY "
          "KEY,\n   email text NOT NULL);\n",
          "DROP TABLE users;\n");
    auto cosmetic = p.run({"up"});
    EXPECT_EQ(cosmetic.code, 0) << cosmetic.all();
    EXPECT_NE(cosmetic.err.find("whitespace or comments"), std::string::npos) << cosmetic.err;

    p.add("0001_users", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
          "DROP TABLE users;\n");
    auto drift = p.run({"up"});
    EXPECT_EQ(drift.code, 8) << drift.all();
    EXPECT_NE(drift.err.find("migrations/0001_users.up.sql"), std::string::npos) << drift.err;
    EXPECT_NE(drift.err.find("sha256"), std::string::npos);
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["migrations"][0]["drift"], "changed");
}

TEST(EngineBasics, OutOfOrderIsRefusedUnlessAllowed) {
    Project p;
    p.add("0001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n");
    p.add("0003_c", "CREATE TABLE c (id int);\n", "DROP TABLE c;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0002_b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("out-of-order"), std::string::npos);
    EXPECT_FALSE(p.table_exists("b"));
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["counts"]["out_of_order"], 1);
    auto ok = p.run({"up", "--allow-out-of-order"});
    EXPECT_EQ(ok.code, 0) << ok.all();
    EXPECT_TRUE(p.table_exists("b"));
}

TEST(EngineBasics, FailedTransactionalMigrationIsCleanAndPrecise) {
    Project p;
    add_shop(p);
    p.add("0004_broken",
          "CREATE TABLE t4 (id int);\nINSERT INTO t4 VALUES (1);\nINSERT INTO nope VALUES (1);\n",
          "DROP TABLE t4;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 6) << r.all();
    EXPECT_NE(r.err.find("migrations/0004_broken.up.sql:3:1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("relation \"nope\" does not exist"), std::string::npos) << r.err;
    EXPECT_FALSE(p.table_exists("t4"));
    EXPECT_TRUE(p.table_exists("orders"));  // earlier migrations stay
    EXPECT_EQ(p.db().scalar("SELECT error_statement || ' ' || error_position FROM rollsafe.history "
                            "WHERE outcome = 'failed'"),
              "2 migrations/0004_broken.up.sql:3:1");
    auto st = nlohmann::json::parse(p.run({"status", "-o", "json"}).out);
    EXPECT_EQ(st["current_version"], "0003");
    EXPECT_TRUE(st["freeze"].is_null());  // a clean failure does not freeze by default
}

TEST(EngineBasics, ImageBehindTheDatabaseIsIncompatibleAfterAContractMigration) {
    Project p;
    add_shop(p);
    p.add("0004_drop_note",
          "-- rollsafe:allow=drop-column reason=\"the new app no longer reads note\"\nALTER TABLE "
          "orders DROP COLUMN note;\n",
          "ALTER TABLE orders ADD COLUMN note text;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_EQ(p.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0004'"),
              "contract");
    p.remove("0004_drop_note");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 12) << r.all();
    EXPECT_NE(r.err.find("0004_drop_note (contract)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("rollback --to-release"), std::string::npos) << r.err;
}

TEST(EngineBasics, ImageBehindTheDatabaseIsFineWhenNewerMigrationsAreExpandOnly) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_EQ(p.db().scalar("SELECT class FROM rollsafe.history WHERE version = '0003'"),
              "expand,data-loss-on-down");
    p.remove("0003_orders_note");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("expand-only"), std::string::npos) << r.err;
}

TEST(EngineBasics, ImageBehindADatabaseWithUnclassifiedMigrationsIsIncompatible) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    // A row written without a class (an older rollsafe, or check.level = off).
    p.db().connect()->exec(
        "INSERT INTO rollsafe.history (run_id, op, version, version_key, name, outcome) "
        "VALUES ('r', 'up', '0004', '4', 'unknown_class', 'applied')");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 12) << r.all();
    EXPECT_NE(r.err.find("class unknown"), std::string::npos) << r.err;
}

TEST(EngineBasics, TransactionControlInsideAMigrationIsRefusedButAWrapperIsUnwrapped) {
    Project p;
    p.add("0001_wrapped", "BEGIN;\nCREATE TABLE w (id int);\nCOMMIT;\n", "DROP TABLE w;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_TRUE(p.table_exists("w"));
    p.add("0002_commit_inside", "CREATE TABLE x (id int);\nCOMMIT;\nCREATE TABLE y (id int);\n",
          "DROP TABLE x;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("0002_commit_inside.up.sql:2:1"), std::string::npos) << r.err;
    EXPECT_FALSE(p.table_exists("x"));
}

TEST(EngineBasics, MigrationChangingSearchPathDoesNotLeakIntoTheNext) {
    Project p;
    p.add("0001_sp", "CREATE SCHEMA other;\nSET search_path TO other;\nCREATE TABLE t1 (id int);\n",
          "DROP SCHEMA other CASCADE;\n");
    p.add("0002_next", "CREATE TABLE t2 (id int);\n", "DROP TABLE t2;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_TRUE(p.table_exists("other.t1"));
    EXPECT_TRUE(p.table_exists("public.t2"));
}

TEST(EngineBasics, FreezeBlocksUpUntilUnfrozenAndBothAreAudited) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"freeze", "--reason", "investigating INC-1"}).code, 0);
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 4) << r.all();
    EXPECT_NE(r.err.find("investigating INC-1"), std::string::npos);
    EXPECT_FALSE(p.table_exists("users"));
    EXPECT_EQ(p.run({"unfreeze", "--reason", "resolved"}).code, 0);
    EXPECT_EQ(p.run({"up"}).code, 0);
    EXPECT_EQ(p.db().scalar("SELECT string_agg(op || ':' || reason, ',' ORDER BY id) FROM "
                            "rollsafe.history WHERE op IN ('freeze', 'unfreeze')"),
              "freeze:investigating INC-1,unfreeze:resolved");
}

TEST(EngineBasics, LockHeldByAnotherMigratorGivesExit3AfterLockWait) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up", "--to", "0001"}).code, 0);
    auto s = p.db().connect();
    s->exec(
        "INSERT INTO rollsafe.lock VALUES (1, 'someone', 'otherhost', 4242, 'pod-x', 'up', now(), "
        "now(), now() + interval '1 hour')");
    auto r = p.run({"up", "--lock-wait", "300ms"});
    EXPECT_EQ(r.code, 3) << r.all();
    EXPECT_NE(r.err.find("otherhost"), std::string::npos) << r.err;
    auto st = nlohmann::json::parse(p.run({"lock", "status", "-o", "json"}).out);
    EXPECT_EQ(st["holder"]["pod"], "pod-x");
    EXPECT_EQ(p.run({"lock", "break", "--reason", "pod deleted"}).code, 0);
    EXPECT_EQ(p.run({"up", "--lock-wait", "300ms"}).code, 0);
    EXPECT_EQ(p.db().scalar("SELECT details->>'holder_pod' IS NULL AND details->>'holder' = "
                            "'someone' FROM rollsafe.history WHERE op = 'lock-break'"),
              "t");
}

TEST(EngineBasics, ExpiredLeaseIsTakenOverWithoutManualStep) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up", "--to", "0001"}).code, 0);
    auto s = p.db().connect();
    s->exec(
        "INSERT INTO rollsafe.lock VALUES (1, 'dead', 'h', 1, '', 'up', now() - interval '1 hour', "
        "now() - interval '1 hour', now() - interval '1 minute')");
    auto r = p.run({"up", "--lock-wait", "1s"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("took over"), std::string::npos) << r.err;
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");  // released at the end
}

TEST(EngineBasics, UnreachableDatabaseGivesExit10) {
    Project p;
    add_shop(p);
    auto r = test::run_cli(
        {"up", "--migrations", p.migrations()},
        {{{"DATABASE_URL", "postgresql://app:s3cretpw@127.0.0.1:1/nodb?connect_timeout=1"},
          {"ROLLSAFE_DATABASE_CONNECT_RETRIES", "2"}},
         "",
         "",
         {}});
    EXPECT_EQ(r.code, 10) << r.all();
    EXPECT_EQ(r.all().find("s3cretpw"), std::string::npos) << r.all();
    EXPECT_NE(r.err.find("after 2 attempts"), std::string::npos) << r.err;
}

TEST(EngineBasics, HostileHistorySchemaNameIsQuotedEverywhere) {
    Project p;
    add_shop(p);
    auto s = p.db().connect();
    s->exec("CREATE TABLE canary (id int); INSERT INTO canary VALUES (1)");
    std::string evil = "rs\"; DROP TABLE canary;--";
    auto r = p.run({"up", "--history-schema", evil});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM canary"), "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM \"rs\"\"; DROP TABLE canary;--\".history WHERE "
                            "outcome = 'applied'"),
              "3");
    auto st = p.run({"status", "--history-schema", evil, "-o", "json"});
    ASSERT_EQ(st.code, 0) << st.all();
    EXPECT_EQ(nlohmann::json::parse(st.out)["counts"]["applied"], 3);
    auto down = p.run({"down", "--steps", "3", "--history-schema", evil});
    EXPECT_EQ(down.code, 0) << down.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM canary"), "1");
}

TEST(EngineBasics, BaselineAdoptsAnExistingDatabase) {
    Project p;
    add_shop(p);
    auto s = p.db().connect();
    s->exec(
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT "
        "NULL)");
    s->exec("CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))");
    auto r = p.run({"baseline", "--version", "0002", "--reason", "legacy"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(p.history_count("0002", "baseline", "baselined"), 1);
    auto up = p.run({"up"});
    ASSERT_EQ(up.code, 0) << up.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'orders' AND column_name = 'note'"),
              "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM users"), "0");  // 0002's INSERT never ran
}

TEST(EngineBasics, BaselineImportsGolangMigrateDbmateAndFlywayHistory) {
    {
        Project p;
        add_shop(p);
        auto s = p.db().connect();
        s->exec(
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean "
            "NOT NULL)");
        s->exec("INSERT INTO schema_migrations VALUES (2, false)");
        auto r = p.run({"baseline", "--from", "golang-migrate"});
        ASSERT_EQ(r.code, 0) << r.all();
        EXPECT_EQ(p.db().scalar("SELECT string_agg(version, ',' ORDER BY version) FROM "
                                "rollsafe.history WHERE op = 'baseline'"),
                  "0001,0002");
        s->exec("UPDATE schema_migrations SET dirty = true");
        EXPECT_EQ(p.run({"baseline", "--from", "golang-migrate"}).code, 7);
    }
    {
        Project p;
        add_shop(p);
        auto s = p.db().connect();
        s->exec("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)");
        s->exec("INSERT INTO schema_migrations VALUES ('0001'), ('0003')");
        auto r = p.run({"baseline", "--from", "dbmate"});
        ASSERT_EQ(r.code, 0) << r.all();
        EXPECT_EQ(p.db().scalar("SELECT string_agg(version, ',' ORDER BY version) FROM "
                                "rollsafe.history WHERE op = 'baseline'"),
                  "0001,0003");
    }
    {
        Project p;
        add_shop(p);
        auto s = p.db().connect();
        s->exec(
            "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version "
            "varchar(50), description text, "
            "type varchar(20), script text, checksum int, installed_by text, installed_on "
            "timestamp DEFAULT now(), "
            "execution_time int, success boolean)");
        s->exec(
            "INSERT INTO flyway_schema_history VALUES (1, '1', 'users', 'SQL', 'V1__users.sql', 0, "
            "'x', now(), 1, true), "
            "(2, '2', 'orders', 'SQL', 'V2__orders.sql', 0, 'x', now(), 1, true), "
            "(3, '2', 'orders', 'UNDO_SQL', 'U2__orders.sql', 0, 'x', now(), 1, true)");
        auto r = p.run({"baseline", "--from", "flyway"});
        ASSERT_EQ(r.code, 0) << r.all();
        EXPECT_EQ(p.db().scalar("SELECT string_agg(version, ',' ORDER BY version) FROM "
                                "rollsafe.history WHERE op = 'baseline'"),
                  "0001");
    }
}

TEST(EngineBasics, RollsafeTablesAreUpgradedInPlace) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up", "--to", "0001"}).code, 0);
    EXPECT_EQ(p.db().scalar("SELECT value FROM rollsafe.meta WHERE key = 'layout_version'"), "1");
    // A database last written by an older layout gets the missing steps on the next run.
    auto s = p.db().connect();
    s->exec("DROP TABLE rollsafe.releases; UPDATE rollsafe.meta SET value = '0'");
    ASSERT_EQ(p.run({"up"}).code, 0);
    EXPECT_TRUE(p.table_exists("rollsafe.releases"));
    EXPECT_EQ(p.db().scalar("SELECT value FROM rollsafe.meta WHERE key = 'layout_version'"), "1");
}

TEST(EngineBasics, BlockingCheckFindingStopsUpUnlessAllowedWithAReason) {
    Project p;
    add_shop(p);
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0004_index", "CREATE INDEX orders_user_idx ON orders (user_id);\n",
          "DROP INDEX orders_user_idx;\n");
    auto r = p.run({"up"});
    EXPECT_EQ(r.code, 5) << r.all();
    EXPECT_NE(r.err.find("create-index-non-concurrent"), std::string::npos) << r.err;
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_user_idx'"),
              "0");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.history WHERE version = '0004'"), "0");

    p.add("0004_index",
          "-- rollsafe:allow=create-index-non-concurrent reason=\"orders has 40 rows in this "
          "service\"\n"
          "CREATE INDEX orders_user_idx ON orders (user_id);\n",
          "DROP INDEX orders_user_idx;\n");
    auto ok = p.run({"up"});
    EXPECT_EQ(ok.code, 0) << ok.all();
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_user_idx'"),
              "1");
    EXPECT_EQ(p.db().scalar("SELECT details->'suppressed'->0->>'rule' || ': ' || "
                            "(details->'suppressed'->0->>'reason') "
                            "FROM rollsafe.history WHERE version = '0004'"),
              "create-index-non-concurrent: orders has 40 rows in this service");
    auto plan = p.run({"history", "--version", "0004", "-o", "json"});
    EXPECT_NE(plan.out.find("orders has 40 rows"), std::string::npos) << plan.out;
}

TEST(EngineBasics, CheckPendingLooksOnlyAtWhatTheDatabaseHasNotApplied) {
    Project p;
    add_shop(p);
    // Applied with an allow directive; the file on disk no longer has it. Only pending files
    // count, so the applied one is no finding.
    p.add("0004_index",
          "-- rollsafe:allow=create-index-non-concurrent reason=\"small table\"\n"
          "CREATE INDEX orders_user_idx ON orders (user_id);\n",
          "DROP INDEX orders_user_idx;\n");
    ASSERT_EQ(p.run({"up"}).code, 0);
    p.add("0004_index", "CREATE INDEX orders_user_idx ON orders (user_id);\n",
          "DROP INDEX orders_user_idx;\n");
    p.add("0005_drop", "ALTER TABLE orders DROP COLUMN user_id;\n",
          "ALTER TABLE orders ADD COLUMN user_id int;\n");
    auto r = p.run({"check", "--pending", "-f", "json"});
    EXPECT_EQ(r.code, 5) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    ASSERT_EQ(doc["migrations"].size(), 1u) << r.out;
    EXPECT_NE(r.out.find("0005"), std::string::npos);
    EXPECT_EQ(r.out.find("create-index-non-concurrent"), std::string::npos) << r.out;
    // Without --pending every file is checked.
    EXPECT_NE(p.run({"check", "-f", "json"}).out.find("create-index-non-concurrent"),
              std::string::npos);
    // Nothing pending: exit 0.
    p.remove("0005_drop");
    EXPECT_EQ(p.run({"check", "--pending"}).code, 0);
    EXPECT_EQ(p.run({"check", "--pending", "x.sql"}).code, 2);
}
