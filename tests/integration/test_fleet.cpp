// Fleets on one PgSandbox (docs/fleet.md): 20 databases in waves, a broken canary that stops the
// rollout, --parallel measured on the server, fleet status and its per-target log, bad targets
// files, and every command that takes --targets.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/base/dsn.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/db/session.h"
#include "support/project.h"

using namespace rollsafe;

namespace {

// A migrations project with one fresh database per target and a targets.toml naming them.
class Fleet {
  public:
    explicit Fleet(int size) {
        fs::make_dirs(m_dir / "migrations", 0755);
        for (int i = 0; i < size; ++i)
            m_dbs.push_back(std::make_unique<test::TestDb>());
    }
    const test::TempDir& dir() const { return m_dir; }
    std::size_t size() const { return m_dbs.size(); }
    const test::TestDb& db(std::size_t i) const { return *m_dbs[i]; }
    std::string name(std::size_t i) const { return "db-" + std::to_string(i); }

    void add(const std::string& id, const std::string& up, const std::string& down) {
        m_dir.write("migrations/" + id + ".up.sql", up);
        m_dir.write("migrations/" + id + ".down.sql", down);
    }
    // Writes targets.toml: target i is in wave_of(i) ("" for none), with a region label.
    void write_targets(const std::function<std::string(std::size_t)>& wave_of,
                       const std::vector<std::string>& order) {
        std::string toml;
        for (std::size_t i = 0; i < size(); ++i) {
            toml += "[[target]]\nname = \"" + name(i) + "\"\nurl = \"" + db(i).url() + "\"\n";
            auto w = wave_of(i);
            if (!w.empty())
                toml += "wave = \"" + w + "\"\n";
            toml += std::string("labels = { region = \"") + (i % 2 ? "us" : "eu") + "\" }\n\n";
        }
        if (!order.empty()) {
            toml += "[waves]\norder = [";
            for (std::size_t i = 0; i < order.size(); ++i)
                toml += (i ? ", \"" : "\"") + order[i] + "\"";
            toml += "]\n";
        }
        m_dir.write("targets.toml", toml);
    }
    test::CliResult run(std::vector<std::string> args,
                        std::map<std::string, std::string> env = {}) const {
        test::CliOptions o;
        o.cwd = m_dir.path();
        o.env = std::move(env);
        return test::run_cli(args, o);
    }
    // Up rows applied on target i for a version.
    int applied(std::size_t i, const std::string& version) const {
        if (!initialized(i))
            return 0;
        return std::stoi(db(i).scalar(
            "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = 'applied' "
            "AND version = '" +
            version + "'"));
    }
    bool initialized(std::size_t i) const {
        return db(i).scalar("SELECT to_regnamespace('rollsafe') IS NOT NULL") == "t";
    }
    // First start and last end of target i's up rows, as sortable UTC text.
    std::pair<std::string, std::string> up_span(std::size_t i) const {
        auto ts = [&](const std::string& expr) {
            return db(i).scalar("SELECT to_char(" + expr +
                                " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
                                "FROM rollsafe.history WHERE op = 'up'");
        };
        return {ts("min(started_at)"), ts("max(finished_at)")};
    }

  private:
    test::TempDir m_dir;
    std::vector<std::unique_ptr<test::TestDb>> m_dbs;
};

// Parses stderr written with --log-format json into its lines.
std::vector<nlohmann::json> json_lines(const std::string& err) {
    std::vector<nlohmann::json> out;
    for (const auto& line : text::split(err, '\n')) {
        if (text::trim(line).empty())
            continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
        if (!j.is_discarded())
            out.push_back(j);
    }
    return out;
}

// The per-target log line of a target, or null.
nlohmann::json target_line(const std::vector<nlohmann::json>& lines, const std::string& target) {
    for (const auto& l : lines)
        if (l.value("target", "") == target && l.contains("state"))
            return l;
    return nullptr;
}

}  // namespace

TEST(Fleet, TwentyDatabasesInThreeWavesRunInOrderEachWithItsOwnSnapshotAndHistory) {
    Fleet f(20);
    f.add(
        "0001_items",
        "CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items VALUES (1, 'a');\n",
        "DROP TABLE items;\n");
    f.add("0002_note", "ALTER TABLE items ADD COLUMN note text;\n",
          "ALTER TABLE items DROP COLUMN note;\n");
    // 2 canaries, 8 in wave-1, 10 in wave-2.
    auto wave_of = [](std::size_t i) {
        return i < 2 ? std::string("canary") : i < 10 ? "wave-1" : "wave-2";
    };
    f.write_targets(wave_of, {"canary", "wave-1", "wave-2"});
    auto r = f.run({"up", "--targets", "targets.toml", "--parallel", "4", "--release", "v1.0.0",
                    "--log-format", "json", "--snapshot-mode", "full", "--snapshot-dir",
                    f.dir() / "snapshots"});
    ASSERT_EQ(r.code, 0) << r.all();

    std::map<std::string, std::pair<std::string, std::string>>
        span_of_wave;  // wave -> (first start, last end)
    std::set<std::string> snapshot_ids;
    for (std::size_t i = 0; i < f.size(); ++i) {
        EXPECT_EQ(f.applied(i, "0001"), 1) << f.name(i);
        EXPECT_EQ(f.applied(i, "0002"), 1) << f.name(i);
        EXPECT_EQ(f.db(i).scalar("SELECT count(*) FROM rollsafe.lock"), "0")
            << "each target's lock released";
        auto id = f.db(i).scalar("SELECT min(snapshot_id) FROM rollsafe.history WHERE op = 'up'");
        EXPECT_FALSE(id.empty()) << f.name(i) << " took no snapshot";
        snapshot_ids.insert(id);
        EXPECT_EQ(
            f.db(i).scalar(
                "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND release = 'v1.0.0'"),
            "2");
        auto [first, last] = f.up_span(i);
        auto& s = span_of_wave[wave_of(i)];
        if (s.first.empty() || first < s.first)
            s.first = first;
        if (last > s.second)
            s.second = last;
    }
    EXPECT_EQ(snapshot_ids.size(), f.size()) << "one snapshot per target";
    // Every history row of a wave is newer than every row of the wave before it.
    EXPECT_LT(span_of_wave["canary"].second, span_of_wave["wave-1"].first);
    EXPECT_LT(span_of_wave["wave-1"].second, span_of_wave["wave-2"].first);

    // One JSON line per target on stderr says where it stands; the table names every target.
    auto lines = json_lines(r.err);
    for (std::size_t i = 0; i < f.size(); ++i) {
        auto l = target_line(lines, f.name(i));
        ASSERT_FALSE(l.is_null()) << f.name(i) << "\n" << r.err;
        EXPECT_EQ(l["state"], "ok");
        EXPECT_EQ(l["exit_code"], "0");
        EXPECT_EQ(l["wave"], wave_of(i));
        EXPECT_NE(r.out.find(f.name(i) + " "), std::string::npos);
    }
    EXPECT_NE(r.out.find("20 ok, 0 failed, 0 skipped"), std::string::npos) << r.out;

    // A second run finds nothing to do anywhere.
    auto again = f.run(
        {"up", "--targets", "targets.toml", "-o", "json", "--snapshot-dir", f.dir() / "snapshots"});
    ASSERT_EQ(again.code, 0) << again.all();
    auto doc = nlohmann::json::parse(again.out);
    EXPECT_EQ(doc["summary"]["ok"], 20);
    for (const auto& t : doc["targets"])
        EXPECT_TRUE(t["result"]["nothing_to_do"].get<bool>()) << t.dump();
    for (std::size_t i = 0; i < f.size(); ++i)
        EXPECT_EQ(f.applied(i, "0002"), 1);
}

TEST(Fleet, ABrokenMigrationOnTheCanaryStopsTheRolloutWithEveryOtherTargetUntouched) {
    Fleet f(20);
    f.add("0001_items", "CREATE TABLE items (id int);\n", "DROP TABLE items;\n");
    f.add("0002_broken",
          "ALTER TABLE items ADD COLUMN total numeric;\nSELECT 1 / (SELECT count(*) FROM items);\n",
          "ALTER TABLE items DROP COLUMN total;\n");
    f.write_targets([](std::size_t i) { return i == 0 ? "canary" : "wave-1"; },
                    {"canary", "wave-1"});
    auto metrics = f.dir() / "fleet.prom";
    auto r = f.run({"up", "--targets", "targets.toml", "--parallel", "4", "-o", "json",
                    "--log-format", "json", "--snapshot-mode", "none", "--metrics-file", metrics});
    EXPECT_EQ(r.code, 6) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc["exit_code"], 6);
    EXPECT_EQ(doc["exit_name"], "FAILED_CLEAN");
    EXPECT_EQ(doc["stopped"]["target"], f.name(0));
    EXPECT_EQ(doc["stopped"]["wave"], "canary");
    EXPECT_EQ(doc["summary"]["failed"], 1);
    EXPECT_EQ(doc["summary"]["skipped"], 19);
    EXPECT_EQ(doc["waves"][0]["state"], "failed");
    EXPECT_EQ(doc["waves"][1]["state"], "skipped");
    EXPECT_EQ(doc["targets"][0]["result"]["steps"][1]["outcome"], "failed");
    for (std::size_t i = 1; i < doc["targets"].size(); ++i) {
        EXPECT_EQ(doc["targets"][i]["state"], "skipped");
        EXPECT_TRUE(doc["targets"][i]["started_at"].is_null());
    }
    // The canary kept 0001 and rolled 0002 back; nobody else was touched at all.
    EXPECT_EQ(f.applied(0, "0001"), 1);
    EXPECT_EQ(f.applied(0, "0002"), 0);
    EXPECT_EQ(f.db(0).scalar(
                  "SELECT count(*) FROM information_schema.columns WHERE column_name = 'total'"),
              "0");
    for (std::size_t i = 1; i < f.size(); ++i) {
        EXPECT_FALSE(f.initialized(i)) << f.name(i);
        EXPECT_EQ(f.db(i).scalar("SELECT to_regclass('items') IS NULL"), "t") << f.name(i);
    }
    // The pipeline sees which target failed from the log alone.
    auto lines = json_lines(r.err);
    auto canary = target_line(lines, f.name(0));
    ASSERT_FALSE(canary.is_null()) << r.err;
    EXPECT_EQ(canary["level"], "error");
    EXPECT_EQ(canary["state"], "failed");
    EXPECT_EQ(canary["exit_code"], "6");
    EXPECT_EQ(canary["exit_name"], "FAILED_CLEAN");
    EXPECT_EQ(target_line(lines, f.name(7))["state"], "skipped");
    auto prom = test::read(metrics);
    EXPECT_NE(prom.find("rollsafe_last_run_exit_code{command=\"up\"} 6"), std::string::npos)
        << prom;
    EXPECT_NE(prom.find("rollsafe_fleet_target_exit_code{command=\"up\",target=\"" + f.name(0) +
                        "\",wave=\"canary\"} 6"),
              std::string::npos)
        << prom;

    // Fleet status: every target's version, pending count, freeze and last outcome; the exit
    // code is the most severe per-target one (the canary's standing failure).
    auto st = f.run({"status", "--targets", "targets.toml", "-o", "json"});
    EXPECT_EQ(st.code, 6) << st.all();
    auto sdoc = nlohmann::json::parse(st.out);
    ASSERT_EQ(sdoc["targets"].size(), 20u);
    const auto& c = sdoc["targets"][0]["result"];
    EXPECT_EQ(c["version"], "0001");
    EXPECT_EQ(c["pending"], 1);
    EXPECT_TRUE(c["freeze"].is_null());
    EXPECT_EQ(c["last"]["op"], "up");
    EXPECT_EQ(c["last"]["version"], "0002");
    EXPECT_EQ(c["last"]["outcome"], "failed");
    EXPECT_EQ(c["last"]["exit_code"], 6);
    EXPECT_EQ(sdoc["targets"][0]["exit_code"], 6);
    for (std::size_t i = 1; i < 20; ++i) {
        const auto& t = sdoc["targets"][i];
        EXPECT_EQ(t["state"], "ok");
        EXPECT_TRUE(t["result"]["version"].is_null());
        EXPECT_EQ(t["result"]["pending"], 2);
        EXPECT_TRUE(t["result"]["last"].is_null());
    }
    auto text = f.run({"status", "--targets", "targets.toml", "--select", "wave=canary"});
    EXPECT_EQ(text.code, 6);
    EXPECT_NE(text.out.find("LAST OUTCOME"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("up 0002 failed"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("1 target(s): 0 ok, 1 failed"), std::string::npos) << text.out;
}

TEST(Fleet, ParallelFourNeverHoldsMoreThanFourMigrationSessions) {
    Fleet f(20);
    f.add("0001_slow", "SELECT pg_sleep(1);\nCREATE TABLE slow (id int);\n", "DROP TABLE slow;\n");
    f.write_targets([](std::size_t) { return ""; }, {});
    std::set<std::string> fleet_dbs;
    for (std::size_t i = 0; i < f.size(); ++i)
        fleet_dbs.insert(f.db(i).name());

    // Watch the server from a test thread while the fleet runs: migration sessions are
    // rollsafe's sessions running the migration's statement (sent with BEGIN in one message,
    // hence the leading %).
    std::atomic<bool> done{false};
    int peak_migrating = 0, samples = 0;
    std::size_t peak_databases = 0;
    std::thread watcher([&] {
        auto s = db::connect(Dsn::parse(test::cluster().conninfo("postgres")), {});
        while (!done.load()) {
            auto r = s->exec(
                "SELECT datname, (state = 'active' AND query LIKE '%SELECT pg_sleep(%')::int "
                "FROM pg_stat_activity WHERE application_name = 'rollsafe' AND backend_type = "
                "'client backend'");
            int migrating = 0;
            std::set<std::string> dbs;
            for (std::size_t i = 0; i < r.size(); ++i) {
                if (!fleet_dbs.count(r.get(i, 0)))
                    continue;
                migrating += r.get(i, 1) == "1";
                dbs.insert(r.get(i, 0));
            }
            peak_migrating = std::max(peak_migrating, migrating);
            peak_databases = std::max(peak_databases, dbs.size());
            ++samples;
            s->exec("SELECT pg_sleep(0.01)");
        }
    });
    auto r =
        f.run({"up", "--targets", "targets.toml", "--parallel", "4", "--snapshot-mode", "none"});
    done = true;
    watcher.join();
    ASSERT_EQ(r.code, 0) << r.all();
    std::printf(
        "[ measured ] %d samples: at most %d migration sessions at once (databases with a rollsafe "
        "session: %zu)\n",
        samples, peak_migrating, peak_databases);
    EXPECT_LE(peak_migrating, 4);
    EXPECT_GE(peak_migrating, 3)
        << "the runs overlapped too little for the measurement to mean anything";
    EXPECT_GT(samples, 50);
    for (std::size_t i = 0; i < f.size(); ++i)
        EXPECT_EQ(f.applied(i, "0001"), 1);
}

TEST(Fleet, BadTargetsFilesAreUsageErrorsWithFileAndLineAndTouchNothing) {
    Fleet f(1);
    f.add("0001_items", "CREATE TABLE items (id int);\n", "DROP TABLE items;\n");
    auto good_url = f.db(0).url();
    // The same database with a password written into the URL.
    std::string with_password = good_url;
    with_password.replace(with_password.find("@"), 1, ":hunter2@");
    f.dir().write("password.toml", "[[target]]\nname = \"a\"\nurl = \"" + with_password + "\"\n");
    auto r = f.run({"up", "--targets", "password.toml"});
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("password.toml:3:1: target \"a\": the url carries a password"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.all().find("hunter2"), std::string::npos);

    f.dir().write("waves.toml", "[[target]]\nname = \"a\"\nurl = \"" + good_url +
                                    "\"\nwave = \"canry\"\n\n[waves]\norder = [\"canary\"]\n");
    r = f.run({"status", "--targets", "waves.toml", "-o", "json"});
    EXPECT_EQ(r.code, 2) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc["exit_name"], "USAGE");
    EXPECT_EQ(doc["diagnostics"][0]["file"], "waves.toml");
    EXPECT_EQ(doc["diagnostics"][0]["line"], 4);

    f.dir().write("dup.toml", "[[target]]\nname = \"a\"\nurl = \"" + good_url +
                                  "\"\n[[target]]\nname = \"a\"\nurl = \"" + good_url +
                                  "\"\nlabels = { tier = 1 }\n");
    r = f.run({"up", "--targets", "dup.toml"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("dup.toml:5:1: error: target name \"a\" is used twice"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("dup.toml:7:"), std::string::npos) << r.err;

    EXPECT_EQ(f.run({"up", "--targets", "missing.toml"}).code, 2);
    f.write_targets([](std::size_t) { return ""; }, {});
    r = f.run({"up", "--targets", "targets.toml", "--select", "regoin=eu"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("regoin"), std::string::npos);
    r = f.run({"up", "--parallel", "4"}, {{"DATABASE_URL", good_url}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("only work with --targets"), std::string::npos) << r.err;
    r = f.run({"up", "--targets", "targets.toml", "--database-url", good_url});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("do not mix"), std::string::npos) << r.err;
    r = f.run({"up", "--targets", "targets.toml"}, {{"JOB_COMPLETION_INDEX", "2"}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("JOB_COMPLETION_INDEX"), std::string::npos) << r.err;
    r = f.run({"up", "--targets", "targets.toml", "--parallel", "0"});
    EXPECT_EQ(r.code, 2);
    EXPECT_FALSE(f.initialized(0)) << "no bad invocation touched the database";
}

TEST(Fleet, EveryCommandTakesTargets) {
    Fleet f(4);
    f.add("0001_items", "CREATE TABLE items (id int);\n", "DROP TABLE items;\n");
    f.add("0002_note", "ALTER TABLE items ADD COLUMN note text;\n",
          "ALTER TABLE items DROP COLUMN note;\n");
    f.dir().write("releases.toml", "[releases]\n\"v1\" = \"0001\"\n\"v2\" = \"0002\"\n");
    f.write_targets([](std::size_t i) { return i == 0 ? "canary" : "rest"; }, {"canary", "rest"});
    const std::vector<std::string> fleet = {"--targets", "targets.toml", "--snapshot-mode", "none"};
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.end(), fleet.begin(), fleet.end());
        return f.run(args);
    };

    // check: each target's pending migrations through the rules (nothing blocking here).
    auto r = run({"check", "-o", "json"});
    EXPECT_EQ(r.code, 0) << r.all();
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc["targets"][0]["result"]["pending"].size(), 2u) << doc.dump(2);
    EXPECT_EQ(run({"check", "--blue", "v1", "--green", "v2"}).code, 2)
        << "release checks run once, without --targets";

    // gate: not ready before the deploy, ready after.
    r = run({"gate", "--release", "v1"});
    EXPECT_EQ(r.code, 11) << r.all();
    r = run({"up", "--to", "0001", "--release", "v1", "--select", "region=eu"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(f.applied(0, "0001"), 1);
    EXPECT_EQ(f.applied(1, "0001"), 0) << "region=us was not selected";
    EXPECT_EQ(run({"gate", "--release", "v1", "--select", "region=eu"}).code, 0);
    ASSERT_EQ(run({"up", "--release", "v2"}).code, 0);
    r = run({"gate", "--release", "v2", "-o", "json"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_TRUE(nlohmann::json::parse(r.out)["targets"][3]["result"]["ready"].get<bool>());

    // down and rollback: per target, once each.
    r = run({"down", "--steps", "1", "--yes", "--select", "name=db-3"});
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(
        f.db(3).scalar(
            "SELECT count(*) FROM rollsafe.history WHERE op = 'down' AND outcome = 'rolled-back'"),
        "1");
    EXPECT_EQ(f.db(2).scalar("SELECT count(*) FROM rollsafe.history WHERE op = 'down'"), "0");
    r = run({"rollback", "--to-version", "0001", "--force-schema", "--yes", "-o", "json"});
    ASSERT_EQ(r.code, 0) << r.all();
    doc = nlohmann::json::parse(r.out);
    for (const auto& t : doc["targets"])
        EXPECT_FALSE(t["result"]["decision"].get<std::string>().empty());
    for (std::size_t i = 0; i < f.size(); ++i)
        EXPECT_EQ(f.db(i).scalar(
                      "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' "
                      "AND column_name = 'note'"),
                  "0")
            << f.name(i);
    r = run({"status"});
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("VERSION"), std::string::npos);
    EXPECT_NE(r.out.find("4 target(s): 4 ok"), std::string::npos) << r.out;
}
