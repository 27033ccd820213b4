// The dynamic compatibility layers (src/core/compat) on a real PostgreSQL: scratch databases on
// this binary's cluster (the --dev-url path) and, once, an embedded PgSandbox.
#include <gtest/gtest.h>

#include <deque>

#include "core/compat/compat.h"
#include "core/compat/output.h"
#include "support/helpers.h"

using namespace rollsafe;
using namespace rollsafe::compat;

namespace {

// Migrations and contracts of one test, in a scratch folder.
class Case {
public:
    // Adds a migration; `applied` ones build "before", the others are pending.
    void add(bool applied, const std::string& version, const std::string& name, const std::string& up,
             const std::optional<std::string>& down) {
        std::vector<Diagnostic> problems;
        Migration m;
        m.version = *Version::parse(version);
        m.name = name;
        m.up = make_script(m_dir.write("migrations/" + version + "_" + name + ".up.sql", up), up, 1, problems);
        if (down) m.down = make_script(m_dir.write("migrations/" + version + "_" + name + ".down.sql", *down), *down, 1, problems);
        EXPECT_TRUE(problems.empty()) << problems.front().location_and_message();
        m_migrations.push_back(std::move(m));
        (applied ? m_applied : m_pending).push_back(&m_migrations.back());
    }
    void applied(const std::string& version, const std::string& name, const std::string& up) {
        add(true, version, name, up, std::string("SELECT 1;"));
    }
    void pending(const std::string& version, const std::string& name, const std::string& up,
                 const std::optional<std::string>& down = std::string("SELECT 1;")) {
        add(false, version, name, up, down);
    }
    void contract(const std::string& release, const std::string& sql) { m_dir.write("contracts/" + release + ".sql", sql); }

    Request request(const std::string& layers = "rules,diff,contracts,roundtrip") const {
        Request r;
        r.applied = m_applied;
        r.pending = m_pending;
        r.blue = "v1";
        r.green = "v2";
        r.contracts_dir = m_dir / "contracts";
        r.layers = parse_layers(layers);
        r.dev_url = test::cluster().url("postgres");
        return r;
    }
    Report run(const std::string& layers = "rules,diff,contracts,roundtrip") const { return compat::run(request(layers)); }

private:
    test::TempDir m_dir;
    std::deque<Migration> m_migrations;
    std::vector<const Migration*> m_applied, m_pending;
};

const char* kUsers =
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, name text);";

std::vector<const Problem*> problems(const Report& r, const std::string& rule) {
    std::vector<const Problem*> out;
    for (const auto& p : r.problems)
        if (p.rule == rule) out.push_back(&p);
    return out;
}

std::string all_problems(const Report& r) { return render_text(r); }

const ContractRun& run_of(const Report& r, const std::string& role) {
    for (const auto& c : r.contracts)
        if (c.role == role) return c;
    throw std::runtime_error("no contract run for " + role);
}

std::string scratch_databases_left() {
    return test::cluster().run_tool("psql", {"-XAtq", "-d", test::cluster().conninfo(), "-c",
                                             "SELECT count(*) FROM pg_database WHERE datname LIKE 'rollsafe_scratch_%'"})
        .out;
}

}  // namespace

TEST(Compat, ExpandReleaseWorksForBlueAtEveryStateAndRoundTrips) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "nickname", "ALTER TABLE users ADD COLUMN nickname text;", std::string("ALTER TABLE users DROP COLUMN nickname;"));
    c.contract("v1", "SELECT id, email FROM users WHERE id = $1;\nINSERT INTO users (email) VALUES ($1) RETURNING id;\n");
    c.contract("v2", "SELECT id, email, nickname FROM users WHERE id = $1;\n");
    auto r = c.run();
    EXPECT_EQ(r.errors(), 0) << all_problems(r);
    ASSERT_EQ(r.states.size(), 3u);
    for (const auto& s : r.states) EXPECT_TRUE(s.reached) << s.label;
    const auto& blue = run_of(r, "blue");
    for (const auto& row : blue.cells)
        for (const auto& cell : row) EXPECT_EQ(cell.status, "works") << cell.message;
    const auto& green = run_of(r, "green");
    EXPECT_EQ(green.cells[0][0].status, "breaks");  // before: nickname does not exist yet (not required)
    EXPECT_FALSE(green.required[0]);
    EXPECT_EQ(green.cells[0][1].status, "works");
    EXPECT_TRUE(green.required[1]);
    EXPECT_EQ(blue.cells[0][0].parameter_types, (std::vector<std::string>{"bigint"}));
    ASSERT_EQ(r.changes.size(), 2u);  // the up adds it, the down removes it
    EXPECT_EQ(r.changes[0].effect, "expand");
    EXPECT_EQ(r.changes[1].effect, "breaks-new");  // a rollback takes green's column away
    EXPECT_TRUE(r.classes.at("0002_nickname").empty());
    ASSERT_EQ(r.roundtrips.size(), 1u);
    EXPECT_TRUE(r.roundtrips[0].ran);
    EXPECT_TRUE(r.roundtrips[0].after_down.empty());
    EXPECT_TRUE(r.roundtrips[0].after_reup.empty());
    EXPECT_TRUE(r.downs_differences.empty());
    EXPECT_EQ(scratch_databases_left(), "0\n");
}

TEST(Compat, ContractLayerCatchesARenamedColumnWithPostgresOwnText) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "rename_email", "ALTER TABLE users RENAME COLUMN email TO email_address;",
              std::string("ALTER TABLE users RENAME COLUMN email_address TO email;"));
    c.contract("v1", "SELECT id, name FROM users WHERE id = $1;\nSELECT id FROM users WHERE email = $1;\n");
    auto r = c.run("diff,contracts");
    const auto& blue = run_of(r, "blue");
    const Cell& cell = blue.cells[1][1];
    EXPECT_EQ(cell.status, "breaks");
    EXPECT_EQ(cell.message, "column \"email\" does not exist");
    EXPECT_EQ(cell.sqlstate, "42703");
    EXPECT_EQ(cell.migration, "0002_rename_email");
    EXPECT_EQ(blue.cells[1][2].status, "works");  // the down renames it back
    auto breaks = problems(r, "compat-contract-break");
    ASSERT_EQ(breaks.size(), 1u) << all_problems(r);
    EXPECT_EQ(breaks[0]->severity, "error");
    EXPECT_EQ(breaks[0]->migration, "0002_rename_email");
    EXPECT_NE(breaks[0]->message.find("column \"email\" does not exist"), std::string::npos);
    EXPECT_EQ(r.classes.at("0002_rename_email").count("contract"), 1u);
    EXPECT_FALSE(r.compatible());
}

TEST(Compat, InsertThatLeavesOutANewNotNullColumnBreaksWithPostgresText) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "tenant", "ALTER TABLE users ADD COLUMN tenant bigint NOT NULL DEFAULT 1;\n"
                                "ALTER TABLE users ALTER COLUMN tenant DROP DEFAULT;");
    c.contract("v1", "INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id;\n");
    auto r = c.run("diff,contracts");
    const Cell& cell = run_of(r, "blue").cells[0][1];
    EXPECT_EQ(cell.status, "breaks");
    EXPECT_EQ(cell.sqlstate, "23502");
    EXPECT_EQ(cell.message.rfind("null value in column \"tenant\" of relation \"users\" violates not-null constraint", 0), 0u)
        << cell.message;
    EXPECT_EQ(cell.migration, "0002_tenant");
    bool diff_says_so = false;
    for (const auto& ch : r.changes)
        if (ch.change.object == "column:public.users.tenant" && ch.effect == "breaks-old") diff_says_so = true;
    EXPECT_TRUE(diff_says_so);
}

TEST(Compat, SelectStarFollowsTheTable) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "add_nickname", "ALTER TABLE users ADD COLUMN nickname text;");
    c.pending("0003", "drop_name", "ALTER TABLE users DROP COLUMN name;");
    c.contract("v1", "SELECT * FROM users WHERE id = $1;\n");
    auto r = c.run("contracts");
    const auto& row = run_of(r, "blue").cells[0];
    EXPECT_EQ(row[0].status, "works");
    EXPECT_EQ(row[1].status, "warns");
    EXPECT_NE(row[1].message.find("result has new columns"), std::string::npos) << row[1].message;
    EXPECT_EQ(row[2].status, "breaks");
    EXPECT_NE(row[2].message.find("result shape changed"), std::string::npos) << row[2].message;
    EXPECT_EQ(row[2].migration, "0003_drop_name");
}

TEST(Compat, UnknownParameterTypesAreReported) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "nothing", "COMMENT ON TABLE users IS 'people';");
    c.contract("v1", "SELECT id FROM users WHERE $1 IS NULL;\nSELECT id FROM users WHERE email = lower($1);\n");
    auto r = c.run("contracts");
    const auto& blue = run_of(r, "blue");
    EXPECT_EQ(blue.cells[0][0].status, "unresolved");
    EXPECT_NE(blue.cells[0][0].message.find("could not determine data type of parameter $1"), std::string::npos);
    EXPECT_EQ(blue.cells[1][0].parameter_types, (std::vector<std::string>{"text"}));
    auto unresolved = problems(r, "compat-contract-unresolved");
    ASSERT_EQ(unresolved.size(), 1u) << all_problems(r);
    EXPECT_EQ(unresolved[0]->severity, "warning");
    EXPECT_TRUE(r.compatible());
}

TEST(Compat, ViewThatReadsADroppedColumnIsCaught) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.applied("0002", "user_emails", "CREATE VIEW user_emails AS SELECT id, email FROM users;");
    c.pending("0003", "drop_email", "ALTER TABLE users DROP COLUMN email CASCADE;",
              std::string("ALTER TABLE users ADD COLUMN email text;\nCREATE VIEW user_emails AS SELECT id, email FROM users;"));
    c.contract("v1", "SELECT id, email FROM user_emails WHERE id = $1;\nSELECT id, name FROM users;\n");
    auto r = c.run("diff,contracts");
    auto hidden = problems(r, "compat-hidden-hazard");
    ASSERT_EQ(hidden.size(), 1u) << all_problems(r);
    EXPECT_EQ(hidden[0]->severity, "error");
    EXPECT_NE(hidden[0]->message.find("view public.user_emails"), std::string::npos) << hidden[0]->message;
    EXPECT_NE(hidden[0]->message.find("public.users.email"), std::string::npos) << hidden[0]->message;
    const Cell& cell = run_of(r, "blue").cells[0][1];
    EXPECT_EQ(cell.status, "breaks");
    EXPECT_EQ(cell.message, "relation \"user_emails\" does not exist");
    EXPECT_EQ(cell.migration, "0003_drop_email");
}

TEST(Compat, DroppingAColumnAViewReadsWithoutCascadeFailsWithPostgresText) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.applied("0002", "user_emails", "CREATE VIEW user_emails AS SELECT id, email FROM users;");
    c.pending("0003", "drop_email", "ALTER TABLE users DROP COLUMN email;");
    c.pending("0004", "later", "ALTER TABLE users ADD COLUMN x int;");
    auto r = c.run("diff");
    auto failed = problems(r, "compat-apply-failed");
    ASSERT_EQ(failed.size(), 1u) << all_problems(r);
    EXPECT_NE(failed[0]->message.find("cannot drop column email of table users because other objects depend on it"),
              std::string::npos)
        << failed[0]->message;
    EXPECT_EQ(failed[0]->line, 1);
    EXPECT_FALSE(r.states[1].reached);
    EXPECT_FALSE(r.states[2].reached);  // 0004 never ran on top of a failed 0003
}

TEST(Compat, TriggerFunctionWritingARenamedColumnIsCaught) {
    Case c;
    c.applied("0001", "orders",
              "CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, updated_at timestamptz);\n"
              "CREATE FUNCTION orders_touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
              "BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;\n"
              "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_touch();");
    c.pending("0002", "rename_updated_at", "ALTER TABLE orders RENAME COLUMN updated_at TO modified_at;");
    c.contract("v1", "UPDATE orders SET status = $1 WHERE id = $2;\n");
    auto r = c.run("diff,contracts");
    // The statement still prepares: only running the trigger would fail.
    EXPECT_EQ(run_of(r, "blue").cells[0][1].status, "works");
    auto hidden = problems(r, "compat-hidden-hazard");
    ASSERT_EQ(hidden.size(), 1u) << all_problems(r);
    EXPECT_EQ(hidden[0]->migration, "0002_rename_updated_at");
    EXPECT_NE(hidden[0]->message.find("NEW.updated_at"), std::string::npos) << hidden[0]->message;
    EXPECT_NE(hidden[0]->message.find("record \"new\" has no field \"updated_at\""), std::string::npos);
    EXPECT_EQ(r.classes.at("0002_rename_updated_at").count("contract"), 1u);
}

TEST(Compat, SqlFunctionThatNoLongerCompilesIsCaught) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.applied("0002", "named_users",
              "CREATE FUNCTION named_users() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM users WHERE name IS NOT NULL';");
    c.pending("0003", "drop_name", "ALTER TABLE users DROP COLUMN name;");
    auto r = c.run("diff");
    auto hidden = problems(r, "compat-hidden-hazard");
    ASSERT_EQ(hidden.size(), 1u) << all_problems(r);
    EXPECT_NE(hidden[0]->message.find("named_users() no longer compiles: column \"name\" does not exist"), std::string::npos)
        << hidden[0]->message;
}

TEST(Compat, RoundTripNamesAnIndexTheDownForgets) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "name_index", "CREATE INDEX users_name_idx ON users (name);\nALTER TABLE users ADD COLUMN x int;",
              std::string("ALTER TABLE users DROP COLUMN x;"));
    auto r = c.run("roundtrip");
    ASSERT_EQ(r.roundtrips.size(), 1u);
    EXPECT_EQ(r.roundtrips[0].after_down, (std::vector<std::string>{"index public.users_name_idx: added"}));
    auto rt = problems(r, "compat-roundtrip");
    ASSERT_GE(rt.size(), 1u);
    EXPECT_EQ(rt[0]->severity, "error");
    EXPECT_NE(rt[0]->message.find("the down does not undo the up: index public.users_name_idx: added"), std::string::npos)
        << rt[0]->message;
    EXPECT_FALSE(r.compatible());
}

TEST(Compat, RoundTripNamesAColumnRecreatedWithAnotherType) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "drop_name", "ALTER TABLE users DROP COLUMN name;",
              std::string("ALTER TABLE users ADD COLUMN name varchar(10);"));
    auto r = c.run("roundtrip");
    ASSERT_EQ(r.roundtrips.size(), 1u);
    EXPECT_EQ(r.roundtrips[0].after_down,
              (std::vector<std::string>{"column public.users.name: type text -> character varying(10)"}));
    EXPECT_TRUE(r.roundtrips[0].after_reup.empty());
    EXPECT_EQ(problems(r, "compat-roundtrip").size(), 1u);
}

TEST(Compat, RoundTripNotesAColumnThatComesBackLast) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "drop_email", "ALTER TABLE users DROP COLUMN email;",
              std::string("ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';\n"
                          "ALTER TABLE users ALTER COLUMN email DROP DEFAULT;"));
    auto r = c.run("roundtrip");
    EXPECT_TRUE(r.roundtrips[0].after_down.empty()) << all_problems(r);
    auto order = problems(r, "compat-roundtrip-order");
    ASSERT_EQ(order.size(), 1u) << all_problems(r);
    EXPECT_NE(order[0]->message.find("(id, email, name) -> (id, name, email)"), std::string::npos) << order[0]->message;
    EXPECT_EQ(r.errors(), 0);
}

TEST(Compat, WithDataFlagsADownThatLosesRowsGreenWrote) {
    for (bool lossy : {true, false}) {
        Case c;
        c.applied("0001", "items", "CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL);");
        c.pending("0002", "sku", "ALTER TABLE items ADD COLUMN sku text;",
                  std::string(lossy ? "DELETE FROM items WHERE sku IS NOT NULL;\nALTER TABLE items DROP COLUMN sku;"
                                    : "ALTER TABLE items DROP COLUMN sku;"));
        c.contract("v1", "SELECT id, title FROM items WHERE id = $1;\n");
        c.contract("v2", "INSERT INTO items (title, sku) VALUES ($1, $2) RETURNING id;\n");
        auto req = c.request("diff,contracts");
        req.with_data = true;
        auto r = compat::run(req);
        auto loss = problems(r, "compat-data-loss");
        if (!lossy) {
            EXPECT_TRUE(loss.empty()) << all_problems(r);
            continue;
        }
        ASSERT_EQ(loss.size(), 1u) << all_problems(r);
        EXPECT_EQ(loss[0]->migration, "0002_sku");
        EXPECT_EQ(loss[0]->direction, "down");
        EXPECT_NE(loss[0]->message.find("public.items"), std::string::npos) << loss[0]->message;
        EXPECT_EQ(r.classes.at("0002_sku").count("data-loss-on-down"), 1u);
    }
}

TEST(Compat, BeforeComesFromADumpOfTheTargetDatabase) {
    test::TestDb target;
    target.connect()->exec(
        "CREATE SCHEMA rollsafe; CREATE TABLE rollsafe.history (id int);\n"
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL);");
    Case c;
    c.pending("0042", "accounts_note", "ALTER TABLE accounts ADD COLUMN note text;",
              std::string("ALTER TABLE accounts DROP COLUMN note;"));
    c.contract("v1", "SELECT id, owner FROM accounts WHERE id = $1;\n");
    auto req = c.request("diff,contracts,roundtrip");
    req.before_database = target.conninfo();
    auto r = compat::run(req);
    EXPECT_EQ(r.before_source.rfind("pg_dump --schema-only of ", 0), 0u) << r.before_source;
    ASSERT_FALSE(r.states.empty());
    const auto& before = r.states[0].catalog.objects;
    EXPECT_EQ(before.count("relation:public.accounts"), 1u);
    for (const auto& [key, attrs] : before) EXPECT_EQ(key.find("rollsafe."), std::string::npos) << key;
    EXPECT_EQ(r.errors(), 0) << all_problems(r);
    EXPECT_EQ(run_of(r, "blue").cells[0][1].status, "works");
}

TEST(Compat, EmbeddedSandboxWhenNoDevUrl) {
    Case c;
    c.applied("0001", "users", kUsers);
    c.pending("0002", "grant", "CREATE ROLE compat_app_role NOLOGIN;\nGRANT SELECT ON users TO compat_app_role;\n"
                               "GRANT SELECT ON users TO compat_reporting;",
              std::string("REVOKE SELECT ON users FROM compat_reporting;\nREVOKE SELECT ON users FROM compat_app_role;\n"
                          "DROP ROLE compat_app_role;"));
    auto req = c.request("diff,roundtrip");
    req.dev_url.clear();
    auto r = compat::run(req);
    EXPECT_NE(r.scratch.find("PgSandbox"), std::string::npos) << r.scratch;
    // compat_reporting exists nowhere: the embedded server gets it, so the GRANT replays.
    EXPECT_EQ(r.errors(), 0) << all_problems(r);
    EXPECT_GT(r.startup_ms, 0);
}

TEST(Compat, ScratchUnavailableSaysWhy) {
    test::TempDir empty;
    Request req;
    req.server_bindir = empty.path();
    auto why = scratch_unavailable(req);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("--dev-url"), std::string::npos) << *why;
    req.dev_url = test::cluster().url("postgres");
    EXPECT_FALSE(scratch_unavailable(req).has_value());
}
