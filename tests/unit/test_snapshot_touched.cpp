// Touched-table analysis on PostgreSQL's parse tree, against a fake catalog: which relations a
// batch changes, their FK dependents, and the statements that force a full snapshot.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/snapshot/session_catalog.h"
#include "core/snapshot/touched.h"
#include "core/sql/parser.h"

using namespace rollsafe;
using namespace rollsafe::snapshot;

namespace {

// A catalog held in maps: relations by schema.name, FK references, children, functions.
class FakeCatalog : public Catalog {
  public:
    FakeCatalog() {
        for (const char* t :
             {"users", "orders", "payments", "items", "audit_log", "events", "untouched"})
            add("public", t, 'r');
        add("app", "settings", 'r');
        add("public", "order_balances", 'v');
        add("public", "orders_user_idx", 'i');
        add("public", "orders_id_seq", 'S');
        add("public", "measurements", 'p');
        add("public", "measurements_2024", 'r');
        refs["public.users"] = {"public.orders"};
        refs["public.orders"] = {"public.payments", "public.items"};
        children["public.measurements"] = {"public.measurements_2024"};
        index_table["public.orders_user_idx"] = "public.orders";
        views["public.orders"] = {"public.order_balances"};
        functions["lower"] = {true, false, false};
        functions["now"] = {true, false, false};
        functions["backfill"] = {false, true, false};
        functions["slugify"] = {false, false, true};
        effects["public.events"] = {"trigger events_audit (public.audit())"};
    }

    void add(const std::string& schema, const std::string& name, char kind) {
        rels[schema + "." + name] =
            Relation{schema, name, kind, static_cast<long long>(rels.size() + 100)};
    }

    std::optional<Relation> find_relation(const std::string& schema, const std::string& name,
                                          const std::vector<std::string>& search_path) override {
        std::vector<std::string> path =
            schema.empty() ? search_path : std::vector<std::string>{schema};
        if (path.empty())
            path = {"public"};
        for (const auto& s : path) {
            auto it = rels.find(s + "." + name);
            if (it != rels.end())
                return it->second;
        }
        return std::nullopt;
    }
    std::optional<Relation> table_of_index(const Relation& index) override {
        auto it = index_table.find(index.schema + "." + index.name);
        if (it == index_table.end())
            return std::nullopt;
        return rels.at(it->second);
    }
    std::vector<Relation> referencing_tables(const Relation& table) override {
        return lookup(refs, table);
    }
    std::vector<Relation> child_tables(const Relation& table) override {
        return lookup(children, table);
    }
    std::vector<Relation> dependent_views(const Relation& relation) override {
        return lookup(views, relation);
    }
    FunctionInfo function_info(const std::string&, const std::string& name) override {
        auto it = functions.find(name);
        return it == functions.end() ? FunctionInfo{} : it->second;
    }
    std::vector<std::string> side_effects(const Relation& table) override {
        auto it = effects.find(table.schema + "." + table.name);
        return it == effects.end() ? std::vector<std::string>{} : it->second;
    }

    std::map<std::string, Relation> rels;
    std::map<std::string, std::vector<std::string>> refs, children, views, effects;
    std::map<std::string, std::string> index_table;
    std::map<std::string, FunctionInfo> functions;

  private:
    std::vector<Relation> lookup(const std::map<std::string, std::vector<std::string>>& m,
                                 const Relation& r) {
        std::vector<Relation> out;
        auto it = m.find(r.schema + "." + r.name);
        if (it != m.end())
            for (const auto& n : it->second)
                out.push_back(rels.at(n));
        return out;
    }
};

// Parses scripts (one per migration step) into analysis input.
std::vector<StatementInput> inputs(const std::vector<std::string>& scripts) {
    std::vector<StatementInput> out;
    for (std::size_t step = 0; step < scripts.size(); ++step) {
        auto parsed = sql::parse_script(scripts[step]);
        EXPECT_FALSE(parsed.error) << scripts[step];
        for (const auto& s : parsed.statements)
            out.push_back({static_cast<int>(step),
                           "m" + std::to_string(step) + ".sql:" + std::to_string(s.line) + ":1",
                           s.node()});
    }
    return out;
}

std::set<std::string> names(const TouchedResult& r) {
    std::set<std::string> out;
    for (const auto& t : r.relations)
        out.insert(t.relation.schema + "." + t.relation.name);
    return out;
}

TouchedResult analyze(const std::vector<std::string>& scripts) {
    FakeCatalog c;
    return analyze_touched(inputs(scripts), c);
}

}  // namespace

TEST(SnapshotTouched, AlterTargetPlusTransitiveForeignKeyDependents) {
    auto r = analyze({"ALTER TABLE users ADD COLUMN nickname text;"});
    ASSERT_FALSE(r.full);
    EXPECT_EQ(names(r), (std::set<std::string>{"public.users", "public.orders", "public.payments",
                                               "public.items"}));
    EXPECT_NE(r.relations[0].why.find("ALTER TABLE at m0.sql:1:1"), std::string::npos)
        << r.relations[0].why;
    EXPECT_NE(r.relations[1].why.find("references public.users by foreign key"), std::string::npos);
}

TEST(SnapshotTouched, EveryKindOfTarget) {
    struct Case {
        const char* sql;
        std::set<std::string> expected;
    };
    std::vector<Case> cases = {
        {"DROP TABLE payments;", {"public.payments"}},
        {"TRUNCATE items;", {"public.items"}},
        {"ALTER TABLE payments RENAME COLUMN provider TO psp;", {"public.payments"}},
        {"ALTER TABLE payments RENAME TO payments_old;", {"public.payments"}},
        {"UPDATE items SET sku = lower(sku) WHERE id > 3;", {"public.items"}},
        {"DELETE FROM payments WHERE created_at < now();", {"public.payments"}},
        {"INSERT INTO audit_log SELECT * FROM users;", {"public.audit_log"}},
        {"CREATE INDEX ON payments (status);", {"public.payments"}},
        {"CREATE INDEX CONCURRENTLY payments_status_idx ON payments (status);",
         {"public.payments"}},
        {"ALTER TABLE payments ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;",
         {"public.payments"}},
        {"ALTER TABLE payments VALIDATE CONSTRAINT positive;", {"public.payments"}},
        {"DROP INDEX orders_user_idx;", {"public.orders", "public.payments", "public.items"}},
        {"ALTER INDEX orders_user_idx RENAME TO orders_by_user;",
         {"public.orders", "public.payments", "public.items"}},
        {"DROP TRIGGER t ON items;", {"public.items"}},
        {"ALTER SEQUENCE orders_id_seq RESTART 100;", {"public.orders_id_seq"}},
        {"WITH gone AS (DELETE FROM items RETURNING *) INSERT INTO audit_log SELECT * FROM gone;",
         {"public.items", "public.audit_log"}},
        {"COPY items FROM '/tmp/items.csv';", {"public.items"}},
        {"ALTER TABLE app.settings ADD COLUMN v int;", {"app.settings"}},
        {"ALTER TABLE measurements ADD COLUMN unit text;",
         {"public.measurements", "public.measurements_2024"}},
        {"ALTER TABLE payments ADD COLUMN slug text DEFAULT slugify('x');", {"public.payments"}},
        // A new table that references users changes no existing table; neither does a view.
        {"CREATE TABLE reviews (id int, user_id bigint REFERENCES users (id));", {}},
        {"CREATE VIEW v AS SELECT backfill(1);", {}},
        {"CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM items; END;", {}},
        {"GRANT SELECT ON items TO reader;", {}},
    };
    for (const auto& c : cases) {
        auto r = analyze({c.sql});
        EXPECT_FALSE(r.full) << c.sql;
        EXPECT_EQ(names(r), c.expected) << c.sql;
    }
}

TEST(SnapshotTouched, DropCascadeAddsDependentViews) {
    auto r = analyze({"DROP TABLE orders CASCADE;"});
    ASSERT_FALSE(r.full);
    EXPECT_EQ(names(r), (std::set<std::string>{"public.orders", "public.order_balances",
                                               "public.payments", "public.items"}));
}

TEST(SnapshotTouched, TablesCreatedInTheBatchAreNotDumped) {
    auto r = analyze({"CREATE TABLE fresh (id int);",
                      "ALTER TABLE fresh ADD COLUMN x int; INSERT INTO fresh VALUES (1);"});
    ASSERT_FALSE(r.full);
    EXPECT_TRUE(r.relations.empty());
}

TEST(SnapshotTouched, SearchPathSetInAMigrationResolvesNamesUntilTheNextMigration) {
    auto r = analyze({"SET search_path TO app, public; ALTER TABLE settings ADD COLUMN y int;",
                      "ALTER TABLE settings ADD COLUMN z int;"});
    ASSERT_FALSE(r.full);
    // The second migration starts from RESET ALL: "settings" is not on the default path.
    EXPECT_EQ(names(r), (std::set<std::string>{"app.settings"}));
}

TEST(SnapshotTouched, UnknowableStatementsForceFullWithTheirReason) {
    struct Case {
        const char* sql;
        const char* reason;
    };
    std::vector<Case> cases = {
        {"DO $$ BEGIN EXECUTE 'DELETE FROM items'; END $$;", "DO block"},
        {"CALL archive_orders();", "CALL runs a procedure"},
        {"SELECT backfill(10);", "calls backfill(), a volatile function"},
        {"UPDATE items SET sku = backfill(1);", "calls backfill()"},
        {"SELECT not_created_yet();", "does not exist before the batch"},
        {"EXECUTE purge(1);", "EXECUTE of a prepared statement"},
        {"UPDATE order_balances SET user_id = 1;", "through view public.order_balances"},
        {"INSERT INTO events VALUES (1);", "fires trigger events_audit"},
        {"DROP SCHEMA app CASCADE;", "DROP SCHEMA ... CASCADE"},
        {"DROP TYPE mood CASCADE;", "CASCADE of a type"},
        {"ALTER SCHEMA app RENAME TO application;", "renames every table"},
    };
    for (const auto& c : cases) {
        auto r = analyze({"ALTER TABLE users ADD COLUMN x int;", c.sql});
        EXPECT_TRUE(r.full) << c.sql;
        EXPECT_TRUE(r.relations.empty()) << c.sql;
        ASSERT_FALSE(r.full_reasons.empty()) << c.sql;
        EXPECT_NE(r.full_reasons[0].find(c.reason), std::string::npos)
            << c.sql << " -> " << r.full_reasons[0];
        EXPECT_EQ(r.full_reasons[0].rfind("m1.sql:1:1: ", 0), 0u) << r.full_reasons[0];
    }
}

TEST(SnapshotTouched, BuiltinAndStableFunctionsDoNotForceFull) {
    auto r = analyze(
        {"UPDATE users SET email = lower(email), created_at = now(); SELECT slugify('a');"});
    EXPECT_FALSE(r.full);
    EXPECT_EQ(names(r).count("public.users"), 1u);
}

TEST(SnapshotTouched, TriggerBodiesThatOnlySetNewAreLocal) {
    EXPECT_FALSE(
        body_may_write("BEGIN NEW.updated_at := now(); -- update the stamp\n RETURN NEW; END"));
    EXPECT_FALSE(
        body_may_write("BEGIN IF TG_OP = 'UPDATE' THEN NEW.n := 1; END IF; RETURN NEW; END"));
    EXPECT_TRUE(body_may_write("BEGIN INSERT INTO audit_log VALUES (NEW.id); RETURN NEW; END"));
    EXPECT_TRUE(body_may_write(
        "BEGIN EXECUTE format('UPDATE %I SET x = 1', TG_TABLE_NAME); RETURN NEW; END"));
    EXPECT_TRUE(body_may_write("BEGIN PERFORM refresh_totals(); RETURN NEW; END"));
}
