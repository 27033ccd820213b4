// Passwords and snapshots, against a server that really asks for one (scram-sha-256 over TCP):
// pg_dump and pg_restore authenticate through a private 0600 PGPASSFILE, the password is never
// in a child's argv, in the logs or in the manifest, and the file is gone afterwards.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <set>
#include <thread>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/sandbox/pg_sandbox.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

const char* kPassword = "pa:ss\\w0rd-s3cr3t";

// A wrapper that records how it was started (argv, PGPASSFILE, the file's mode) and runs the
// real program.
void write_wrapper(const test::TempDir& dir, const std::string& tool, const std::string& real,
                   const std::string& log) {
    std::string body =
        "#!/bin/sh\n"
        "{ echo \"argv: $*\"; echo \"PGPASSFILE=${PGPASSFILE:-unset}\"; "
        "echo \"PGPASSWORD=${PGPASSWORD:-unset}\"; "
        "[ -n \"$PGPASSFILE\" ] && stat -c 'mode %a' \"$PGPASSFILE\" && "
        "stat -c 'dirmode %a' \"$(dirname \"$PGPASSFILE\")\"; } >> " +
        log +
        "\n"
        "exec " +
        real + " \"$@\"\n";
    std::string path = dir.write("bin/" + tool, body);
    ::chmod(path.c_str(), 0755);
}

}  // namespace

TEST(SnapshotSecrets, ChildrenGetThePasswordOnlyThroughAPrivatePassFile) {
    test::TempDir dir;
    std::string hba =
        dir.write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    SandboxOptions so;
    so.tcp = true;
    so.settings = {{"hba_file", hba}};
    PgSandbox pg(so);
    {
        auto admin = db::connect(Dsn::parse(pg.conninfo()), {});
        admin->exec("CREATE ROLE app LOGIN CREATEDB PASSWORD " + text::quote_literal(kPassword));
        admin->exec("CREATE DATABASE shop OWNER app");
    }
    std::string port = std::to_string(pg.port());
    std::string url = "postgresql://app:pa%3Ass%5Cw0rd-s3cr3t@127.0.0.1:" + port + "/shop";
    // Over TCP the server insists on the password.
    db::ConnectOptions once{std::chrono::seconds(5), 1, "test"};
    Dsn without_password = Dsn::parse("host=127.0.0.1 port=" + port + " dbname=shop user=app");
    EXPECT_THROW(db::connect(without_password, once), Error);
    db::connect(Dsn::parse(url), {})
        ->exec(
            "CREATE TABLE orders (id bigserial PRIMARY KEY, note text);"
            "INSERT INTO orders (note) SELECT 'n' || g FROM generate_series(1, 100) g;");

    std::string log = dir / "children.log";
    write_wrapper(dir, "pg_dump", pg.bindir() + "/pg_dump", log);
    write_wrapper(dir, "pg_restore", pg.bindir() + "/pg_restore", log);
    dir.write("migrations/0001_add.up.sql", "ALTER TABLE orders ADD COLUMN extra int;\n");
    dir.write("migrations/0001_add.down.sql", "ALTER TABLE orders DROP COLUMN extra;\n");
    test::CliOptions o;
    o.env = {{"DATABASE_URL", url}, {"ROLLSAFE_SNAPSHOT_PG_BINDIR", dir / "bin"}};
    o.cwd = dir.path();
    auto up = test::run_cli({"up"}, o);
    ASSERT_EQ(up.code, 0) << up.all();
    auto list = test::run_cli({"snapshot", "list", "-o", "json"}, o);
    ASSERT_EQ(list.code, 0) << list.all();
    auto snaps = nlohmann::json::parse(list.out)["snapshots"];
    ASSERT_EQ(snaps.size(), 1u);
    std::string id = snaps[0]["id"];
    // A whole-database restore makes pg_restore connect too.
    auto into = test::run_cli({"restore", "--snapshot", id, "--into", "shop_restored", "--yes"}, o);
    // A touched snapshot lacks nothing here (a lone table with its sequence), so it succeeds.
    ASSERT_EQ(into.code, 0) << into.all();
    auto copy = db::connect(
        Dsn::parse("postgresql://app:pa%3Ass%5Cw0rd-s3cr3t@127.0.0.1:" + port + "/shop_restored"),
        {});
    EXPECT_EQ(copy->exec("SELECT count(*) FROM orders").get(0, 0), "100");

    auto recorded = test::read(log);
    int connecting = 0;
    std::vector<std::string> passfiles;
    for (const auto& line : text::split(recorded, '\n')) {
        EXPECT_EQ(line.find("s3cr3t"), std::string::npos) << line;
        EXPECT_EQ(line.find("pa:ss"), std::string::npos) << line;
        if (text::starts_with(line, "argv: ") && line.find("--dbname=") != std::string::npos) {
            ++connecting;
            EXPECT_EQ(line.find("password="), std::string::npos) << line;
        }
        if (text::starts_with(line, "PGPASSFILE=/"))
            passfiles.push_back(line.substr(11));
        if (text::starts_with(line, "PGPASSWORD=")) {
            EXPECT_EQ(line, "PGPASSWORD=unset");
        } else if (text::starts_with(line, "mode ")) {
            EXPECT_EQ(line, "mode 600");
        } else if (text::starts_with(line, "dirmode ")) {
            EXPECT_EQ(line, "dirmode 700");
        }
    }
    EXPECT_EQ(connecting, 2) << recorded;  // pg_dump for the snapshot, pg_restore --into
    ASSERT_EQ(passfiles.size(), 2u) << recorded;
    for (const auto& f : passfiles)
        EXPECT_FALSE(fs::exists(f)) << f << " was left behind";
    // Nor in what rollsafe printed or wrote.
    for (const auto& r : {up, list, into})
        EXPECT_EQ(r.all().find("s3cr3t"), std::string::npos) << r.all();
    auto manifest = test::read(dir / (".rollsafe/snapshots/" + id + ".json"));
    EXPECT_EQ(manifest.find("s3cr3t"), std::string::npos);
    EXPECT_NE(manifest.find("app@127.0.0.1:" + port + "/shop"), std::string::npos);
}

TEST(SnapshotSecrets, SigtermRemovesThePassFileAndAppliesNothing) {
    test::TempDir dir;
    std::string hba =
        dir.write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    SandboxOptions so;
    so.tcp = true;
    so.settings = {{"hba_file", hba}};
    PgSandbox pg(so);
    auto admin = db::connect(Dsn::parse(pg.conninfo()), {});
    admin->exec("CREATE ROLE app LOGIN PASSWORD " + text::quote_literal(kPassword));
    admin->exec("CREATE DATABASE shop OWNER app");
    std::string url =
        "postgresql://app:pa%3Ass%5Cw0rd-s3cr3t@127.0.0.1:" + std::to_string(pg.port()) + "/shop";
    auto app = db::connect(Dsn::parse(url), {});
    app->exec(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, note text); INSERT INTO orders (note) "
        "VALUES ('a');");
    std::string log = dir / "children.log";
    write_wrapper(dir, "pg_dump", pg.bindir() + "/pg_dump", log);
    dir.write("migrations/0001_add.up.sql", "ALTER TABLE orders ADD COLUMN extra int;\n");
    dir.write("migrations/0001_add.down.sql", "ALTER TABLE orders DROP COLUMN extra;\n");
    // pg_dump waits for this lock, so SIGTERM arrives while it runs with its pass file.
    app->exec("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
    test::CliOptions o;
    o.env = {{"DATABASE_URL", url}, {"ROLLSAFE_SNAPSHOT_PG_BINDIR", dir / "bin"}};
    o.cwd = dir.path();
    test::CliProcess proc({"up", "--lock-timeout", "60s"}, o);
    std::string passfile;
    ASSERT_TRUE(test::eventually(
        [&] {
            for (const auto& line : text::split(test::read(log), '\n'))
                if (text::starts_with(line, "PGPASSFILE=/"))
                    passfile = line.substr(11);
            return !passfile.empty() && admin->exec(
                                                 "SELECT count(*) FROM pg_stat_activity WHERE "
                                                 "application_name LIKE 'rollsafe-snapshot-%' "
                                                 "AND wait_event_type = 'Lock'")
                                                .get(0, 0) == "1";
        },
        std::chrono::seconds(30)))
        << test::read(log);
    EXPECT_TRUE(fs::exists(passfile));
    proc.signal(SIGTERM);
    auto r = proc.wait(std::chrono::seconds(30));
    app->exec("ROLLBACK");
    EXPECT_EQ(r.code, 13) << r.all();
    EXPECT_FALSE(fs::exists(passfile));
    EXPECT_FALSE(fs::exists(passfile.substr(0, passfile.rfind('/'))));
    EXPECT_EQ(r.all().find("s3cr3t"), std::string::npos);
    EXPECT_EQ(
        app->exec("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'")
            .get(0, 0),
        "0");
    // No archive under any name: the temporary one went with the interrupted dump.
    auto snaps = dir / ".rollsafe/snapshots";
    ASSERT_TRUE(test::eventually([&] { return test::processes_using(snaps).empty(); },
                                 std::chrono::seconds(30)));
    EXPECT_EQ(::rmdir(snaps.c_str()), 0) << "the snapshot folder is not empty";
}

namespace {

// Returns the command lines (NULs as spaces) of pid and of all its descendants now running.
std::vector<std::string> command_lines_of_tree(pid_t root) {
    std::vector<std::string> out;
    std::vector<pid_t> todo = {root};
    while (!todo.empty()) {
        pid_t pid = todo.back();
        todo.pop_back();
        auto cmdline = test::read("/proc/" + std::to_string(pid) + "/cmdline");
        for (auto& c : cmdline)
            if (c == '\0')
                c = ' ';
        if (!cmdline.empty())
            out.push_back(cmdline);
        auto children = test::read("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                                   "/children");
        for (const auto& c : text::split(children, ' '))
            if (!c.empty() && std::isdigit(static_cast<unsigned char>(c[0])))
                todo.push_back(static_cast<pid_t>(std::stoi(c)));
    }
    return out;
}

// Every row of every table of rollsafe's schema, as text.
std::string all_history_rows(db::Session& s) {
    std::string out;
    auto tables = s.exec(
        "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = "
        "'rollsafe'");
    for (std::size_t i = 0; i < tables.size(); ++i) {
        auto rows = s.exec("SELECT t::text FROM rollsafe." + tables.get(i, 0) + " t");
        for (std::size_t r = 0; r < rows.size(); ++r)
            out += rows.get(r, 0) + "\n";
    }
    return out;
}

}  // namespace

TEST(SnapshotSecrets, PasswordOnTheCommandLineNeverLeaksOnAnyPath) {
    test::TempDir dir;
    std::string hba =
        dir.write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    SandboxOptions so;
    so.tcp = true;
    so.settings = {{"hba_file", hba}};
    PgSandbox pg(so);
    auto admin = db::connect(Dsn::parse(pg.conninfo()), {});
    admin->exec("CREATE ROLE app LOGIN PASSWORD " + text::quote_literal(kPassword));
    admin->exec("CREATE DATABASE shop OWNER app");
    std::string port = std::to_string(pg.port());
    std::string url = "postgresql://app:pa%3Ass%5Cw0rd-s3cr3t@127.0.0.1:" + port + "/shop";
    auto app = db::connect(Dsn::parse(url), {});
    app->exec(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, note text); INSERT INTO orders (note) "
        "VALUES ('a');");
    std::string log = dir / "children.log";
    // The wrapper also records its parent's (rollsafe's) command line while pg_dump runs.
    std::string body =
        "#!/bin/sh\n{ echo \"argv: $*\"; echo \"parent: $(tr '\\0' ' ' < "
        "/proc/$PPID/cmdline)\"; echo \"PGPASSFILE=${PGPASSFILE:-unset}\"; "
        "[ -n \"$PGPASSFILE\" ] && stat -c 'mode %a' \"$PGPASSFILE\"; } >> " +
        log + "\nsleep 1\nexec " + pg.bindir() + "/pg_dump \"$@\"\n";
    ::chmod(dir.write("bin/pg_dump", body).c_str(), 0755);
    dir.write("migrations/0001_add.up.sql",
              "ALTER TABLE orders ADD COLUMN extra int;\nSELECT pg_sleep(2);\n");
    dir.write("migrations/0001_add.down.sql", "ALTER TABLE orders DROP COLUMN extra;\n");
    std::string metrics = dir / "metrics.prom";
    test::CliOptions o;
    o.env = {{"ROLLSAFE_SNAPSHOT_PG_BINDIR", dir / "bin"},
             {"ROLLSAFE_DATABASE_CONNECT_RETRIES", "1"},
             {"ROLLSAFE_DATABASE_CONNECT_TIMEOUT", "2s"}};
    o.cwd = dir.path();
    auto cli = [&](std::vector<std::string> args, const std::string& dsn) {
        std::vector<std::string> full = {"-vv", "--log-format",   "json", "--database-url",
                                         dsn,   "--metrics-file", metrics};
        full.insert(full.end(), args.begin(), args.end());
        return full;
    };
    auto clean = [](const std::string& text) {
        return text.find("s3cr3t") == std::string::npos &&
               text.find("pa:ss") == std::string::npos && text.find("pa%3Ass") == std::string::npos;
    };

    // Success: up, sampling the command lines of rollsafe and its children while it runs.
    std::vector<test::CliResult> results;
    {
        test::CliProcess proc(cli({"up", "--release", "v1"}, url), o);
        std::set<std::string> seen;
        std::string lockfile_seen;
        // rollsafe overwrites the password in its argv once it has parsed it: from the first
        // sample that shows it hidden (the first element is rollsafe itself), none may show it.
        bool parsed = false;
        while (test::process_running(proc.pid())) {
            auto tree = command_lines_of_tree(proc.pid());
            parsed = parsed || (!tree.empty() && tree[0].find("app:***@") != std::string::npos);
            if (parsed)
                seen.insert(tree.begin(), tree.end());
            lockfile_seen += test::read(dir / ".rollsafe/rollsafe.lock");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        auto up = proc.wait(std::chrono::seconds(60));
        ASSERT_EQ(up.code, 0) << up.all();
        results.push_back(up);
        bool saw_pg_dump = false;
        for (const auto& c : seen) {
            EXPECT_TRUE(clean(c)) << c;
            saw_pg_dump = saw_pg_dump || c.find("pg_dump") != std::string::npos;
        }
        EXPECT_TRUE(saw_pg_dump) << "never caught pg_dump running";
        EXPECT_TRUE(clean(lockfile_seen)) << lockfile_seen;
    }
    for (const auto& args : std::vector<std::vector<std::string>>{{"status"},
                                                                  {"history"},
                                                                  {"gate", "--release", "v1"},
                                                                  {"snapshot", "create"},
                                                                  {"snapshot", "list"},
                                                                  {"down", "--steps", "1", "--yes"},
                                                                  {"report"}}) {
        auto r = test::run_cli(cli(args, url), o);
        EXPECT_EQ(r.code, 0) << args[0] << ": " << r.all();
        results.push_back(r);
    }
    // Failure paths: nothing listens on the port; the password is wrong (exit 2, no retries).
    auto wrong_host =
        test::run_cli(cli({"up"}, "postgresql://app:pa%3Ass%5Cw0rd-s3cr3t@127.0.0.1:1/shop"), o);
    EXPECT_EQ(wrong_host.code, 10) << wrong_host.all();
    auto wrong_password = test::run_cli(
        cli({"up"}, "postgresql://app:s3cr3t-but-wrong@127.0.0.1:" + port + "/shop"), o);
    EXPECT_EQ(wrong_password.code, 2) << wrong_password.all();
    EXPECT_NE(wrong_password.err.find("password"), std::string::npos) << wrong_password.err;
    auto wrong_gate =
        test::run_cli(cli({"gate", "--wait", "1s"},
                          "postgresql://app:s3cr3t-but-wrong@127.0.0.1:" + port + "/shop"),
                      o);
    EXPECT_NE(wrong_gate.code, 0) << wrong_gate.all();
    results.push_back(wrong_host);
    results.push_back(wrong_password);
    results.push_back(wrong_gate);
    for (const auto& r : results)
        EXPECT_TRUE(clean(r.all())) << r.all();

    // Nothing at rest either: history rows, manifests, metrics, what the children saw.
    auto rows = all_history_rows(*app);
    EXPECT_NE(rows.find("applied"), std::string::npos);
    EXPECT_TRUE(clean(rows)) << rows;
    int manifests = 0;
    std::vector<std::string> names;
    if (DIR* d = ::opendir((dir / ".rollsafe/snapshots").c_str())) {
        while (auto* e = ::readdir(d))
            names.push_back(e->d_name);
        ::closedir(d);
    }
    for (const auto& name : names) {
        auto content = test::read(dir / (".rollsafe/snapshots/" + name));
        manifests += text::ends_with(name, ".json");
        if (text::ends_with(name, ".json")) {
            EXPECT_TRUE(clean(content)) << content;
        }
    }
    EXPECT_EQ(manifests, 3);  // before up, by hand, before down
    // Snapshots hold table data: 0600 files in a 0700 folder.
    struct stat st {};
    ASSERT_EQ(::stat((dir / ".rollsafe/snapshots").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    for (const auto& name : names) {
        if (name == "." || name == ".." ||
            ::stat((dir / (".rollsafe/snapshots/" + name)).c_str(), &st) != 0)
            continue;
        EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
    }
    EXPECT_TRUE(clean(test::read(metrics)));
    auto recorded = test::read(log);
    EXPECT_TRUE(clean(recorded)) << recorded;
    EXPECT_NE(recorded.find("parent: "), std::string::npos);
    for (const auto& line : text::split(recorded, '\n')) {
        if (text::starts_with(line, "mode ")) {
            EXPECT_EQ(line, "mode 600");
        }
        if (text::starts_with(line, "PGPASSFILE=/")) {
            EXPECT_FALSE(fs::exists(line.substr(11))) << line;
        }
    }
}
