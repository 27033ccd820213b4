// The SQLite engine in-process on sqlite::memory: and scratch files: URL parsing, statement
// splitting, rollsafe's tables, the lease lock.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/sqlite/script.h"
#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_history.h"
#include "core/sqlite/sqlite_lock.h"

using namespace rollsafe;
using namespace rollsafe::sqlite;

TEST(SqliteUrl, PathFromUrl) {
    EXPECT_EQ(path_from_url("sqlite:///var/lib/app.db"), "/var/lib/app.db");
    EXPECT_EQ(path_from_url("sqlite://rel/app.db"), "rel/app.db");
    EXPECT_EQ(path_from_url("sqlite:app.db"), "app.db");
    EXPECT_EQ(path_from_url("sqlite::memory:"), ":memory:");
    EXPECT_EQ(path_from_url("sqlite:///x.db?mode=rwc"), "/x.db");
    EXPECT_THROW(path_from_url("sqlite://"), Error);
}

TEST(SqliteScript, SplitsLikeTheShellWithPositions) {
    auto st = split_script(
        "-- header\nCREATE TABLE a (x TEXT DEFAULT ';');\n\n  INSERT INTO a VALUES ('1;2');\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 'y';\nEND;\n/* tail */\n",
        1);
    ASSERT_EQ(st.size(), 3u);
    EXPECT_EQ(st[0].line, 2);
    EXPECT_EQ(st[0].col, 1);
    EXPECT_EQ(st[1].line, 4);
    EXPECT_EQ(st[1].col, 3);
    EXPECT_EQ(st[2].line, 5);
    EXPECT_NE(st[2].text.find("END;"), std::string::npos);
    // A last statement without a semicolon still counts; first_line shifts the lines.
    auto last = split_script("SELECT 1", 10);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].line, 10);
}

TEST(SqliteScript, TransactionControlIsRefusedWithItsPosition) {
    try {
        plan_script("m.up.sql", "CREATE TABLE a (x);\nCOMMIT;\n");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("m.up.sql:2:1"), std::string::npos) << e.what();
    }
    auto p = plan_script("m.up.sql", "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[1].position, "m.up.sql:2:1");
}

TEST(SqliteHistory, TablesAreCreatedVersionedAndAppendOnly) {
    Database db(":memory:", Millis(1000));
    HistoryStore h(db, "rollsafe");
    EXPECT_FALSE(h.exists());
    h.ensure();
    h.ensure();  // idempotent
    EXPECT_TRUE(h.exists());
    EXPECT_EQ(db.query("SELECT value FROM rollsafe_meta WHERE key = 'layout'").get(0, 0),
              std::to_string(HistoryStore::layout_version()));
    HistoryRow row;
    row.run_id = "r";
    row.op = "up";
    row.version = "0001";
    row.version_key = "1";
    row.name = "a";
    row.outcome = outcome::applied;
    row.down_script = "DROP TABLE a;";
    h.append(row);
    row.op = "down";
    row.outcome = outcome::rolled_back;
    h.append(row);
    EXPECT_TRUE(h.state().empty());  // the newest state row wins: rolled back
    row.op = "up";
    row.outcome = outcome::applied;
    h.append(row);
    auto st = h.state(true);
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(*st["1"].row.down_script, "DROP TABLE a;");
    EXPECT_EQ(h.rows({}).size(), 3u);
    EXPECT_THROW(db.exec("UPDATE rollsafe_history SET op = 'x'"), SqliteError);
    EXPECT_THROW(db.exec("DELETE FROM rollsafe_history"), SqliteError);
    EXPECT_THROW(HistoryStore(db, "bad name"), Error);
}

TEST(SqliteLock, SecondHolderWaitsThenGetsAnExpiredLease) {
    std::string dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-sqlite-XXXXXX");
    std::string path = dir + "/app.db";
    {
        Database a(path, Millis(1000)), b(path, Millis(1000));
        HistoryStore ha(a, "rollsafe"), hb(b, "rollsafe");
        ha.ensure();
        LeaseLock first(path, "rollsafe", Millis(60000), Millis(1000), "up");
        ASSERT_TRUE(first.acquire(a, ha, Millis(0)));
        EXPECT_TRUE(first.fence(a, ha));
        LeaseLock second(path, "rollsafe", Millis(60000), Millis(1000), "up");
        bool waited = false;
        EXPECT_FALSE(second.acquire(b, hb, Millis(300), [&](const LockHolder&) { waited = true; }));
        EXPECT_TRUE(waited);
        auto holder = read_holder(b, hb);
        ASSERT_TRUE(holder.has_value());
        EXPECT_FALSE(holder->expired);
        first.release();
        EXPECT_FALSE(read_holder(b, hb).has_value());
        ASSERT_TRUE(second.acquire(b, hb, Millis(0)));
        // Expired by hand: a third process takes it over; the second's fence then fails.
        b.exec("UPDATE rollsafe_lock SET expires_ms = 0");
        LeaseLock third(path, "rollsafe", Millis(60000), Millis(1000), "up");
        ASSERT_TRUE(third.acquire(a, ha, Millis(0)));
        ASSERT_TRUE(third.took_over_from().has_value());
        EXPECT_FALSE(second.fence(b, hb));
    }
    fs::remove_all(dir);
}
