// Least privilege: rollsafe run by a role that owns the application schema but is neither a
// superuser nor the database owner (docs/security.md lists the grants), and one clear error line
// with a documented exit code when a privilege is missing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "core/base/dsn.h"
#include "core/base/text.h"
#include "support/project.h"

using namespace rollsafe;

namespace {

std::atomic<int> g_roles{0};

// A database owned by the superuser, with PUBLIC's rights on it and on `public` taken away, a
// login role (no superuser, no createdb, no createrole) that owns the schema `app`, and a
// migrations project in a scratch folder connecting as that role.
class LeastPrivilege {
  public:
    explicit LeastPrivilege(const std::string& database_grants) {
        m_role = "lp_" + std::to_string(::getpid()) + "_" + std::to_string(g_roles++);
        m_admin = m_db.connect();
        m_admin->exec("CREATE ROLE " + m_role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
        m_admin->exec("REVOKE ALL ON DATABASE " + text::quote_ident(m_db.name()) +
                      " FROM PUBLIC; REVOKE ALL ON SCHEMA public FROM PUBLIC");
        m_admin->exec("GRANT " + database_grants + " ON DATABASE " +
                      text::quote_ident(m_db.name()) + " TO " + m_role);
        m_admin->exec("CREATE SCHEMA app AUTHORIZATION " + m_role);
        fs_write("releases.toml", "[releases]\n\"v1\" = \"0001\"\n\"v2\" = \"0002\"\n");
        add("0001_orders",
            "CREATE TABLE app.orders (id bigserial PRIMARY KEY, note text);\n"
            "INSERT INTO app.orders (note) VALUES ('a'), ('b');\n",
            "DROP TABLE app.orders;\n");
        add("0002_orders_status",
            "ALTER TABLE app.orders ADD COLUMN status text;\n"
            "COMMENT ON COLUMN app.orders.status IS 'new, paid, shipped';\n",
            "ALTER TABLE app.orders DROP COLUMN status;\n");
    }

    const std::string& role() const { return m_role; }
    db::Session& admin() { return *m_admin; }
    const test::TestDb& db() const { return m_db; }
    std::string url_as(const std::string& role) const {
        Dsn d = Dsn::parse(m_db.conninfo());
        d.set("user", role);
        return d.conninfo();
    }
    void add(const std::string& id, const std::string& up, const std::string& down) {
        fs_write("migrations/" + id + ".up.sql", up);
        fs_write("migrations/" + id + ".down.sql", down);
    }
    test::CliResult run(const std::vector<std::string>& args, const std::string& as = "") const {
        test::CliOptions o;
        o.env = {{"DATABASE_URL", url_as(as.empty() ? m_role : as)}};
        o.cwd = m_dir.path();
        return test::run_cli(args, o);
    }
    std::string scalar(const std::string& sql) const { return m_db.scalar(sql); }

  private:
    void fs_write(const std::string& rel, const std::string& content) { m_dir.write(rel, content); }

    test::TestDb m_db;
    test::TempDir m_dir;
    std::unique_ptr<db::Session> m_admin;
    std::string m_role;
};

// Exactly one error line ("rollsafe: ..." and its "hint: ..."), no SQL error stack
// (CONTEXT/LINE/STATEMENT), no crash.
void expect_one_clear_error(const test::CliResult& r, const std::string& needle) {
    int errors = 0;
    std::string error_line;
    for (const auto& line : text::split(r.err, '\n')) {
        if (text::starts_with(line, "rollsafe: ")) {
            ++errors;
            error_line = line;
        }
    }
    EXPECT_EQ(errors, 1) << r.err;
    EXPECT_NE(error_line.find(needle), std::string::npos) << r.err;
    for (const char* noise : {"CONTEXT:", "LINE ", "STATEMENT:", "terminate called", "internal"})
        EXPECT_EQ(r.err.find(noise), std::string::npos) << noise << " in:\n" << r.err;
}

void expect_every_command_works(LeastPrivilege& lp) {
    auto up1 = lp.run({"up", "--release", "v1", "--to", "0001"});
    ASSERT_EQ(up1.code, 0) << up1.all();
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM app.orders"), "2");
    EXPECT_EQ(lp.scalar("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = "
                        "'rollsafe'"),
              lp.role());
    auto up2 = lp.run({"up", "--release", "v2"});
    ASSERT_EQ(up2.code, 0) << up2.all();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status"},
             {"history"},
             {"gate", "--release", "v2"},
             {"lock", "status"},
             {"releases"},
             {"plan"},
             {"snapshot", "create", "--table", "app.orders"},
             {"snapshot", "list"},
             {"snapshot", "verify", "--all"},
             {"down", "--steps", "1", "--yes"},
             {"up", "--release", "v2"},
             {"rollback", "--to-release", "v1", "--force-schema", "--yes"},
             {"gate", "--release", "v1"},
             {"report"}}) {
        auto r = lp.run(args);
        EXPECT_EQ(r.code, 0) << text::join(args, " ") << ":\n" << r.all();
    }
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                        "'app' AND column_name = 'status'"),
              "0");
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM app.orders"), "2");
    // The snapshots were taken as the role: before each up and down, and by hand.
    EXPECT_GE(std::stoi(lp.scalar("SELECT count(DISTINCT snapshot_id) FROM rollsafe.history "
                                  "WHERE snapshot_id IS NOT NULL")),
              3);
}

}  // namespace

TEST(LeastPrivilege, RoleWithCreateOnTheDatabaseRunsEveryCommand) {
    LeastPrivilege lp("CONNECT, CREATE");
    expect_every_command_works(lp);
}

TEST(LeastPrivilege, RoleWithAPreCreatedHistorySchemaNeedsOnlyConnect) {
    LeastPrivilege lp("CONNECT");
    lp.admin().exec("CREATE SCHEMA rollsafe AUTHORIZATION " + lp.role());
    expect_every_command_works(lp);
}

TEST(LeastPrivilege, NoCreateOnTheDatabaseIsOneClearError) {
    LeastPrivilege lp("CONNECT");
    auto r = lp.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();  // USAGE: fix the grants; nothing was changed
    expect_one_clear_error(r, "permission denied");
    EXPECT_NE(r.err.find("GRANT CREATE ON DATABASE"), std::string::npos) << r.err;
    EXPECT_EQ(lp.scalar("SELECT to_regclass('app.orders') IS NULL"), "t");
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'rollsafe'"), "0");
    // Read-only commands need no tables of rollsafe's at all.
    auto status = lp.run({"status"});
    EXPECT_EQ(status.code, 0) << status.all();
    auto gate = lp.run({"gate", "--wait", "0s"});
    EXPECT_EQ(gate.code, 11) << gate.all();
}

TEST(LeastPrivilege, MigrationOnATableTheRoleDoesNotOwnFailsCleanly) {
    LeastPrivilege lp("CONNECT, CREATE");
    lp.admin().exec("CREATE TABLE app.legacy (id int); GRANT SELECT ON app.legacy TO " + lp.role());
    lp.add("0003_legacy", "ALTER TABLE app.legacy ADD COLUMN note text;\n",
           "ALTER TABLE app.legacy DROP COLUMN note;\n");
    auto r = lp.run({"up"});
    EXPECT_EQ(r.code, 6) << r.all();  // FAILED_CLEAN: rolled back, at the last good version
    expect_one_clear_error(r, "must be owner of table legacy");
    EXPECT_NE(r.err.find("0003_legacy.up.sql:1:1"), std::string::npos) << r.err;
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'legacy' AND column_name = 'note'"),
              "0");
    EXPECT_EQ(lp.scalar("SELECT count(*) FROM rollsafe.history WHERE version = '0003' AND "
                        "outcome = 'failed'"),
              "1");
}

TEST(LeastPrivilege, SnapshotOfATableTheRoleCannotReadFailsBeforeAnythingRuns) {
    LeastPrivilege lp("CONNECT, CREATE");
    lp.admin().exec("CREATE TABLE app.secret (id int)");
    lp.add("0003_secret", "ALTER TABLE app.secret ADD COLUMN note text;\n",
           "ALTER TABLE app.secret DROP COLUMN note;\n");
    auto r = lp.run({"up"});
    EXPECT_EQ(r.code, 9) << r.all();  // SNAPSHOT_FAILED: nothing applied
    expect_one_clear_error(r, "permission denied");
    EXPECT_EQ(lp.scalar("SELECT to_regclass('app.orders') IS NULL"), "t");
}

TEST(LeastPrivilege, GateOnlyRoleGatesButCannotMigrate) {
    LeastPrivilege lp("CONNECT, CREATE");
    auto up = lp.run({"up", "--release", "v2"});
    ASSERT_EQ(up.code, 0) << up.all();
    std::string gate_role = lp.role() + "_gate";
    // The grants docs/security.md gives the init container's role.
    lp.admin().exec("CREATE ROLE " + gate_role + " LOGIN; GRANT CONNECT ON DATABASE " +
                    text::quote_ident(lp.db().name()) + " TO " + gate_role +
                    "; GRANT USAGE ON SCHEMA rollsafe TO " + gate_role +
                    "; GRANT SELECT ON ALL TABLES IN SCHEMA rollsafe TO " + gate_role);
    auto gate = lp.run({"gate", "--release", "v2", "--wait", "5s"}, gate_role);
    EXPECT_EQ(gate.code, 0) << gate.all();
    auto status = lp.run({"status"}, gate_role);
    EXPECT_EQ(status.code, 0) << status.all();
    lp.add("0003_more", "CREATE TABLE app.more (id int);\n", "DROP TABLE app.more;\n");
    auto denied = lp.run({"up"}, gate_role);
    EXPECT_NE(denied.code, 0) << denied.all();
    EXPECT_NE(denied.code, 1) << denied.all();  // never INTERNAL
    expect_one_clear_error(denied, "permission denied");
    EXPECT_EQ(lp.scalar("SELECT to_regclass('app.more') IS NULL"), "t");
}

TEST(LeastPrivilege, NoConnectPrivilegeIsOneClearErrorWithoutRetries) {
    LeastPrivilege lp("TEMPORARY");  // anything but CONNECT
    auto start = std::chrono::steady_clock::now();
    auto r = lp.run({"up"});
    EXPECT_EQ(r.code, 2) << r.all();  // not 10 UNAVAILABLE: retrying cannot help
    expect_one_clear_error(r, "permission denied for database");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}
