#include "core/demo/demo.h"

#include <unistd.h>

#include <set>
#include <vector>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/process.h"
#include "core/base/text.h"
#include "core/db/session.h"
#include "core/migrations/reader.h"
#include "core/migrations/releases.h"
#include "core/sandbox/pg_sandbox.h"

namespace rollsafe {
namespace {

bool is_dir(const std::string& p) {
    return !p.empty() && fs::exists(p + "/migrations") && fs::exists(p + "/releases.toml");
}

// Copies the files an image of `release` ships: migrations up to its version, releases.toml,
// contracts and rollsafe.toml.
void build_image(const std::string& example, const std::string& into, const Version& upto) {
    fs::make_dirs(into + "/migrations", 0755);
    for (const char* f : {"releases.toml", "rollsafe.toml"}) {
        if (auto c = fs::read_file(example + "/" + f))
            fs::write_file_atomic(into + "/" + f, *c, 0644);
    }
    auto set = read_migrations(example + "/migrations", "auto");
    for (const auto& m : set.migrations) {
        if (upto < m.version)
            continue;
        for (const std::string* path : {&m.up.path, m.down ? &m.down->path : nullptr}) {
            if (!path)
                continue;
            auto name = path->substr(path->rfind('/') + 1);
            fs::write_file_atomic(into + "/migrations/" + name, *fs::read_file(*path), 0644);
        }
    }
    fs::make_dirs(into + "/contracts", 0755);
    for (const auto& r : read_releases(example + "/releases.toml").releases) {
        if (auto c = fs::read_file(example + "/contracts/" + r.name + ".sql"))
            fs::write_file_atomic(into + "/contracts/" + r.name + ".sql", *c, 0644);
    }
}

class Demo {
  public:
    Demo(const DemoOptions& o, const std::function<void(const std::string&)>& out)
        : m_options(o), m_out(out) {}

    int run() {
        auto example = find_example_dir(m_options.binary, m_options.example_dir);
        auto releases = read_releases(example + "/releases.toml");
        if (releases.releases.size() < 3)
            throw usage_error(
                example + "/releases.toml: the demo needs three releases (expand, then contract)");
        const auto& r1 = releases.releases[0];
        const auto& r2 = releases.releases[1];
        const auto& r3 = releases.releases[2];

        say("# rollsafe demo: a deploy goes wrong, and the schema follows the app back\n");
        say("Starting a throwaway PostgreSQL (rollsafe's PgSandbox) ...");
        PgSandbox sandbox;
        say("  ready in " + std::to_string(sandbox.startup_time().count()) +
            " ms: " + sandbox.url() + "\n");
        sandbox.create_database("shop");
        m_url = sandbox.url("shop");
        m_work = fs::make_temp_dir(fs::temp_root() + "/rollsafe-demo-XXXXXX");
        std::string img1 = m_work + "/image-" + r1.name, img2 = m_work + "/image-" + r2.name,
                    img3 = m_work + "/image-" + r3.name;
        build_image(example, img1, r1.version);
        build_image(example, img2, r2.version);
        build_image(example, img3, r3.version);
        auto db = db::connect(Dsn::parse(sandbox.conninfo("shop")));

        section("1. Check the next release before it ships (CI)");
        step(img3, {"validate"}, {0});
        step(img3, {"check", "--blue", r1.name, "--green", r2.name}, {0});
        step(img3, {"check", "--blue", r2.name, "--green", r3.name}, {0, 5});

        section("2. Deploy " + r1.name + " (the Kubernetes migration Job runs `up`)");
        step(img1, {"up", "--release", r1.name}, {0});
        app("the " + r1.name + " app takes orders", *db,
            "INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada'), "
            "('bob@example.com', 'Bob');"
            "INSERT INTO orders (user_id, total_cents) SELECT id, 1000 * id FROM users;"
            "INSERT INTO payments (order_id, amount_cents, provider, status) SELECT id, "
            "total_cents, 'card', 'captured' FROM orders;");

        section("3. Deploy " + r2.name + ": expand only, so " + r1.name +
                " pods keep working during the rollout");
        step(img2, {"up", "--release", r2.name}, {0});
        step(img1, {"gate", "--release", r1.name}, {0});
        app("the " + r2.name + " app records the provider's reference", *db,
            "INSERT INTO payments (order_id, amount_cents, provider, provider_ref, status) "
            "SELECT id, 250, 'card', 'ch_' || id, 'captured' FROM orders;");

        section("4. Deploy " + r3.name +
                ": the contract half of provider_ref (snapshot first, then check, then up)");
        step(img3, {"up", "--release", r3.name}, {0});
        app("the " + r3.name + " app misbehaves: a bad bulk update marks every payment refunded",
            *db, "UPDATE payments SET status = 'refunded';");

        section("5. " + r3.name + " fails its health checks: `kubectl rollout undo` brings back " +
                r2.name);
        say("The " + r2.name + " image's init container asks whether it can start on this schema:");
        step(img2, {"gate", "--release", r2.name, "--wait", "2s"}, {0, 12});
        say("The rollback Job runs from the " + r2.name + " image, which lacks " + r3.name +
            "'s files. Since every migration since " + r2.name +
            " is expand-only, nothing needs to change:");
        step(img2, {"rollback", "--to-release", r2.name, "--dry-run"}, {0});
        say("The team still wants " + r2.name +
            "'s exact schema while it investigates: --force-schema runs the\n"
            "down scripts stored in history (the image has no files for them), after a snapshot, "
            "in one transaction,\n"
            "then compares the catalog with the one recorded when " +
            r2.name + " was deployed.");
        step(img2, {"rollback", "--to-release", r2.name, "--force-schema", "--yes"}, {0});
        step(img2, {"gate", "--release", r2.name}, {0});

        section("6. Undo the bad bulk update: restore one table from the snapshot taken before " +
                r3.name);
        auto snap = snapshot_of(*db, r3.version);
        if (snap.empty())
            throw Error(ExitCode::internal, "demo: no snapshot was recorded for " + r3.name);
        step(img2, {"snapshot", "verify", snap}, {0});
        step(img2,
             {"restore", "--snapshot", snap, "--table", "payments", "--yes", "--reason",
              "undo the bad bulk update"},
             {0});
        say("(app) payments are back as they were before " + r3.name + ": " +
            db->exec("SELECT count(*) FILTER (WHERE status = 'captured') || ' captured, ' || "
                     "count(*) FILTER (WHERE status = 'refunded') || ' refunded' FROM payments")
                .get(0, 0) +
            "\n");

        section("7. The record for the post-mortem");
        step(img2, {"status"}, {0});
        step(img2, {"history", "--limit", "12"}, {0});
        step(img2, {"report", "--last", "1h", "--format", "markdown"}, {0});

        say("Demo finished: every step ended as expected.");
        if (m_options.keep) {
            say("Kept: project images in " + m_work + "; the database is gone with the sandbox.");
        } else {
            fs::remove_all(m_work);
        }
        return 0;
    }

  private:
    void say(const std::string& s) { m_out(s + "\n"); }
    void section(const std::string& title) { say("\n## " + title + "\n"); }

    void app(const std::string& what, db::Session& db, const std::string& sql) {
        say("(app) " + what);
        db.exec(sql);
    }

    std::string snapshot_of(db::Session& db, const Version& v) {
        auto r = db.exec_params(
            "SELECT snapshot_id FROM rollsafe.history WHERE op = 'up' AND version_key = $1 "
            "AND snapshot_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            {v.key()});
        return r.empty() ? "" : r.get(0, 0);
    }

    void step(const std::string& image, const std::vector<std::string>& args,
              const std::set<int>& expected) {
        std::string shown = "$ rollsafe " + text::join(args, " ");
        say(shown);
        ProcessSpec spec;
        spec.argv = {m_options.binary};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        spec.cwd = image;
        spec.env = {{"DATABASE_URL", m_url},
                    {"NO_COLOR", "1"},
                    {"ROLLSAFE_LOCK_WAIT", "30s"},
                    // One snapshot volume and one lockfile for every image, as in a cluster.
                    {"ROLLSAFE_SNAPSHOT_DIR", m_work + "/snapshots"},
                    {"ROLLSAFE_LOCKFILE_PATH", m_work + "/run/rollsafe.lock"}};
        spec.merge_stderr = true;
        spec.unset_env = {"ROLLSAFE_CONFIG", "PGHOST", "PGPORT",
                          "PGDATABASE",      "PGUSER", "PGSERVICE"};
        auto r = default_process_runner().run(spec);
        std::string output = r.out;
        for (const auto& line : text::split(std::string(text::trim(output)), '\n'))
            if (!line.empty())
                say("  " + line);
        int code = r.term_signal ? 128 + r.term_signal : r.exit_code;
        say("  -> exit " + std::to_string(code) + "\n");
        if (!expected.count(code))
            throw Error(ExitCode::internal, "demo step `" + shown + "` exited " +
                                                std::to_string(code) + ", expected " +
                                                text::join(
                                                    [&] {
                                                        std::vector<std::string> v;
                                                        for (int e : expected)
                                                            v.push_back(std::to_string(e));
                                                        return v;
                                                    }(),
                                                    " or "));
    }

    DemoOptions m_options;
    std::function<void(const std::string&)> m_out;
    std::string m_url, m_work;
};

}  // namespace

std::string find_example_dir(const std::string& binary, const std::string& preferred) {
    if (!preferred.empty()) {
        if (is_dir(preferred))
            return preferred;
        throw usage_error(preferred +
                          " is not a migrations project (needs migrations/ and releases.toml)");
    }
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("ROLLSAFE_EXAMPLE_DIR"))
        candidates.push_back(env);
    auto slash = binary.rfind('/');
    std::string bindir = slash == std::string::npos ? "." : binary.substr(0, slash);
    candidates.push_back(bindir + "/../share/rollsafe/migrations-example");
    candidates.push_back(std::string(ROLLSAFE_SOURCE_DIR) + "/migrations-example");
    candidates.push_back("migrations-example");
    for (const auto& c : candidates)
        if (is_dir(c))
            return c;
    throw usage_error("migrations-example not found",
                      "pass --example DIR or set ROLLSAFE_EXAMPLE_DIR");
}

int run_demo(const DemoOptions& options, const std::function<void(const std::string&)>& out) {
    Demo demo(options, out);
    return demo.run();
}

}  // namespace rollsafe
