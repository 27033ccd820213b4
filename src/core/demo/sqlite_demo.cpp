// `rollsafe demo --engine sqlite`: the SQLite walk of the example, with no PostgreSQL at all.
#include <set>
#include <vector>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/process.h"
#include "core/base/text.h"
#include "core/demo/demo.h"
#include "core/migrations/reader.h"
#include "core/snapshot/store.h"
#include "core/sqlite/sqlite_db.h"

namespace rollsafe {
namespace {

// Copies the migrations of the example up to `upto` (empty: all) into into/migrations.
void build_sqlite_image(const std::string& example, const std::string& into, const std::string& upto) {
    fs::make_dirs(into + "/migrations", 0755);
    auto set = read_migrations(example + "/migrations", "auto", false);
    auto limit = Version::parse(upto);
    for (const auto& m : set.migrations) {
        if (limit && *limit < m.version)
            continue;
        for (const std::string* path : {&m.up.path, m.down ? &m.down->path : nullptr}) {
            if (!path)
                continue;
            auto name = path->substr(path->rfind('/') + 1);
            fs::write_file_atomic(into + "/migrations/" + name, *fs::read_file(*path), 0644);
        }
    }
}

class SqliteDemo {
  public:
    SqliteDemo(const DemoOptions& o, const std::function<void(const std::string&)>& out)
        : m_options(o), m_out(out) {}

    int run() {
        auto example = find_sqlite_example_dir(m_options.binary, m_options.example_dir);
        m_work = fs::make_temp_dir(fs::temp_root() + "/rollsafe-demo-sqlite-XXXXXX");
        m_db = m_work + "/shop.db";
        std::string old_image = m_work + "/image-v1", new_image = m_work + "/image-v2";
        build_sqlite_image(example, old_image, "0003");
        build_sqlite_image(example, new_image, "");

        say("# rollsafe demo on SQLite: deploy, a bad change, restore one table, roll back\n");
        say("database: sqlite://" + m_db + " (a file; no server)\n");

        section("1. Deploy v1 (migrations 0001-0003) and look at it");
        step(old_image, {"up", "--dry-run"}, {0});
        step(old_image, {"up", "--release", "v1"}, {0});
        step(old_image, {"status"}, {0});
        app("the v1 app takes orders",
            "INSERT INTO users (id, email) VALUES (1, 'ada@example.com'), (2, 'bob@example.com');"
            "INSERT INTO orders (id, user_id, total_cents) VALUES (10, 1, 2500), (11, 2, 990), "
            "(12, 1, 120);");

        section("2. Deploy v2 (0004-0005): a snapshot is taken first, each migration in a "
                "transaction with its history row");
        step(new_image, {"up", "--release", "v2"}, {0});
        step(new_image, {"history", "--limit", "3"}, {0});
        step(new_image, {"lock", "status"}, {0});

        section("3. A snapshot, then a bad data change wipes the orders; restore that one table");
        step(new_image, {"snapshot", "create"}, {0});
        std::string snap = newest_snapshot();
        app("a buggy job deletes every order", "DELETE FROM orders;");
        step(new_image, {"snapshot", "verify", snap}, {0});
        step(new_image, {"restore", "--snapshot", snap, "--table", "orders", "--dry-run"}, {0});
        step(new_image,
             {"restore", "--snapshot", snap, "--table", "orders", "--yes", "--reason",
              "buggy job deleted the orders"},
             {0});
        say("orders now: " + query("SELECT count(*) FROM orders") + " rows\n");

        section("4. A migration fails: its transaction rolls back, exit 6, nothing of it stays");
        fs::write_file_atomic(new_image + "/migrations/0006_broken.up.sql",
                              "CREATE TABLE refunds (id INTEGER PRIMARY KEY);\n"
                              "INSERT INTO refund VALUES (1);\n",
                              0644);
        fs::write_file_atomic(new_image + "/migrations/0006_broken.down.sql",
                              "DROP TABLE refunds;\n", 0644);
        step(new_image, {"up"}, {6});
        say("table refunds exists: " + query("SELECT count(*) FROM sqlite_master WHERE name = 'refunds'") +
            "\n");

        section("5. Roll back to v1 with the v1 image, which lacks the 0004-0005 files: the down "
                "scripts stored in history run");
        step(old_image, {"up"}, {12});
        step(old_image, {"down", "--to", "0003", "--yes", "--reason", "back to v1"}, {0});
        step(old_image, {"status"}, {0});
        step(old_image, {"gate"}, {2});

        say("Demo finished: every step ended as expected.");
        if (m_options.keep)
            say("Kept: " + m_work);
        else
            fs::remove_all(m_work);
        return 0;
    }

  private:
    void say(const std::string& s) { m_out(s + "\n"); }
    void section(const std::string& title) { say("\n## " + title + "\n"); }

    std::string query(const std::string& sql) {
        sqlite::Database db(m_db, Millis(5000));
        return db.query(sql).get(0, 0);
    }

    void app(const std::string& what, const std::string& sql) {
        say("(app) " + what);
        sqlite::Database db(m_db, Millis(5000));
        db.exec(sql);
    }

    std::string newest_snapshot() {
        auto all = snapshot::SnapshotStore(m_work + "/snapshots").list();
        return all.empty() ? "" : all.back().id;
    }

    void step(const std::string& image, const std::vector<std::string>& args,
              const std::set<int>& expected) {
        std::string shown = "$ rollsafe " + text::join(args, " ");
        say(shown);
        ProcessSpec spec;
        spec.argv = {m_options.binary};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        spec.cwd = image;
        spec.env = {{"DATABASE_URL", "sqlite://" + m_db},
                    {"NO_COLOR", "1"},
                    {"ROLLSAFE_SNAPSHOT_DIR", m_work + "/snapshots"},
                    {"ROLLSAFE_LOCKFILE_PATH", m_work + "/run/rollsafe.lock"}};
        spec.merge_stderr = true;
        spec.unset_env = {"ROLLSAFE_CONFIG"};
        auto r = default_process_runner().run(spec);
        for (const auto& line : text::split(std::string(text::trim(r.out)), '\n'))
            if (!line.empty())
                say("  " + line);
        int code = r.term_signal ? 128 + r.term_signal : r.exit_code;
        say("  -> exit " + std::to_string(code) + "\n");
        if (!expected.count(code))
            throw Error(ExitCode::internal,
                        "demo step `" + shown + "` exited " + std::to_string(code) +
                            ", expected " + std::to_string(*expected.begin()));
    }

    DemoOptions m_options;
    std::function<void(const std::string&)> m_out;
    std::string m_work, m_db;
};

}  // namespace

std::string find_sqlite_example_dir(const std::string& binary, const std::string& preferred) {
    auto ok = [](const std::string& p) { return !p.empty() && fs::exists(p + "/migrations"); };
    if (!preferred.empty()) {
        if (ok(preferred))
            return preferred;
        throw usage_error(preferred + " is not a migrations project (needs migrations/)");
    }
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("ROLLSAFE_EXAMPLE_SQLITE_DIR"))
        candidates.push_back(env);
    auto slash = binary.rfind('/');
    std::string bindir = slash == std::string::npos ? "." : binary.substr(0, slash);
    candidates.push_back(bindir + "/../share/rollsafe/migrations-example-sqlite");
    candidates.push_back(std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example-sqlite");
    candidates.push_back("migrations-example-sqlite");
    for (const auto& c : candidates)
        if (ok(c))
            return c;
    throw usage_error("migrations-example-sqlite not found",
                      "pass --example DIR or set ROLLSAFE_EXAMPLE_SQLITE_DIR");
}

int run_sqlite_demo(const DemoOptions& options,
                    const std::function<void(const std::string&)>& out) {
    SqliteDemo demo(options, out);
    return demo.run();
}

}  // namespace rollsafe
