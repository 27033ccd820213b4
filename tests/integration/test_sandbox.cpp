// PgSandbox: a throwaway PostgreSQL that starts, serves, stops and leaves nothing behind, also
// when its owner is interrupted (SIGTERM/SIGINT) or killed (SIGKILL: the next sandbox sweeps it).
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "support/helpers.h"

using namespace rollsafe;
using namespace std::chrono_literals;

namespace {

// The postmaster's pid from a data folder's postmaster.pid, or 0.
pid_t postmaster_pid(const std::string& data) {
    auto content = fs::read_file(data + "/postmaster.pid");
    return content ? static_cast<pid_t>(std::atoi(content->c_str())) : 0;
}

// Entries of dir whose names start with rollsafe-sandbox-.
std::vector<std::string> sandbox_dirs(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d)) {
            if (text::starts_with(e->d_name, "rollsafe-sandbox-"))
                out.push_back(dir + "/" + e->d_name);
        }
        ::closedir(d);
    }
    return out;
}

// Expects that nothing of a sandbox remains: its folder, its postmaster, any process in it.
void expect_gone(const std::string& dir, pid_t postmaster) {
    EXPECT_FALSE(fs::exists(dir)) << dir;
    EXPECT_TRUE(test::eventually([&] { return !test::process_running(postmaster); }, 10s))
        << "postmaster " << postmaster << " still runs";
    EXPECT_TRUE(test::eventually([&] { return test::processes_using(dir).empty(); }, 10s))
        << "a process still uses " << dir;
}

// `rollsafe sandbox -o json` with TMPDIR=tmp, after it printed where its cluster is.
struct CliSandbox {
    std::unique_ptr<test::CliProcess> process;
    std::string dir;
    pid_t postmaster = 0;
};

CliSandbox start_cli_sandbox(const test::TempDir& tmp) {
    CliSandbox s;
    test::CliOptions options;
    options.env = {{"TMPDIR", tmp.path()}};
    s.process = std::make_unique<test::CliProcess>(
        std::vector<std::string>{"sandbox", "-o", "json"}, options);
    bool printed = s.process->wait_for_stdout(
        [](const std::string& out) { return out.find("\n}") != std::string::npos; }, 120s);
    if (!printed) {
        ADD_FAILURE() << "rollsafe sandbox printed no JSON: " << s.process->out();
        return s;
    }
    auto doc = nlohmann::json::parse(s.process->out());
    s.dir = doc.at("dir").get<std::string>();
    EXPECT_EQ(doc.at("pid").get<long>(), static_cast<long>(s.process->pid()));
    EXPECT_EQ(s.dir.rfind(tmp.path() + "/rollsafe-sandbox-", 0), 0u) << s.dir;
    s.postmaster = postmaster_pid(s.dir + "/data");
    return s;
}

}  // namespace

TEST(Sandbox, ServesQueriesOnItsSocket) {
    test::TestDb db;
    EXPECT_EQ(db.scalar("SELECT 40 + 2"), "42");
    EXPECT_EQ(db.scalar("SHOW fsync"), "off");
    EXPECT_EQ(db.scalar("SHOW listen_addresses"), "");
    EXPECT_EQ(db.scalar("SHOW unix_socket_directories"), test::cluster().dir());
}

TEST(Sandbox, StartsServesStopsAndLeavesNothingBehind) {
    std::string dir;
    pid_t postmaster = 0;
    {
        PgSandbox sandbox;
        dir = sandbox.dir();
        postmaster = postmaster_pid(sandbox.dir() + "/data");
        ASSERT_GT(postmaster, 0);
        EXPECT_TRUE(test::process_running(postmaster));
        EXPECT_GT(sandbox.startup_time().count(), 0);
        sandbox.create_database("shop");
        auto s = db::connect(Dsn::parse(sandbox.conninfo("shop")));
        EXPECT_EQ(s->exec("SELECT current_database()").get(0, 0), "shop");
        EXPECT_EQ(s->server_version() / 10000, 15);
        auto url = db::connect(Dsn::parse(sandbox.url("shop")));
        EXPECT_EQ(url->exec("SELECT 1").get(0, 0), "1");
        sandbox.drop_database("shop");
    }
    expect_gone(dir, postmaster);
}

TEST(Sandbox, StopIsIdempotent) {
    PgSandbox sandbox;
    auto dir = sandbox.dir();
    auto postmaster = postmaster_pid(dir + "/data");
    sandbox.stop();
    sandbox.stop();
    EXPECT_EQ(sandbox.dir(), "");
    expect_gone(dir, postmaster);
}

TEST(Sandbox, ListensOnTcpOnlyWhenAsked) {
    SandboxOptions options;
    options.tcp = true;
    options.settings = {{"cluster_name", "it's a sandbox"}};  // quoting of extra settings
    PgSandbox sandbox(options);
    Dsn tcp;
    tcp.set("host", "127.0.0.1");
    tcp.set("port", std::to_string(sandbox.port()));
    tcp.set("user", "postgres");
    tcp.set("dbname", "postgres");
    auto s = db::connect(tcp);
    EXPECT_EQ(s->exec("SHOW listen_addresses").get(0, 0), "127.0.0.1");
    EXPECT_EQ(s->exec("SHOW cluster_name").get(0, 0), "it's a sandbox");
}

TEST(Sandbox, RunsTheServerAsAnUnprivilegedUser) {
    PgSandbox sandbox;
    auto s = db::connect(Dsn::parse(sandbox.conninfo()));
    auto postmaster = postmaster_pid(sandbox.dir() + "/data");
    struct stat st {};
    ASSERT_EQ(::stat(("/proc/" + std::to_string(postmaster)).c_str(), &st), 0);
    if (::geteuid() == 0) {
        EXPECT_EQ(sandbox.run_as(), "postgres");
        EXPECT_NE(st.st_uid, 0u) << "the server runs as root";
    } else {
        EXPECT_EQ(sandbox.run_as(), "");
        EXPECT_EQ(st.st_uid, ::geteuid());
    }
}

TEST(Sandbox, RunToolRunsServerPrograms) {
    auto r = test::cluster().run_tool(
        "psql", {"-X", "-At", "-d", test::cluster().conninfo(), "-c", "SELECT 6 * 7"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(text::trim(r.out), "42");
}

TEST(Sandbox, SigtermOfTheOwningProcessRemovesEverything) {
    test::TempDir tmp;
    auto s = start_cli_sandbox(tmp);
    ASSERT_GT(s.postmaster, 0);
    ASSERT_TRUE(fs::exists(s.dir));
    ASSERT_TRUE(test::process_running(s.postmaster));
    s.process->signal(SIGTERM);
    auto r = s.process->wait(60s);
    EXPECT_EQ(r.code, 0) << r.err;
    expect_gone(s.dir, s.postmaster);
    EXPECT_EQ(sandbox_dirs(tmp.path()), std::vector<std::string>{});
}

TEST(Sandbox, SigintOfTheOwningProcessRemovesEverything) {
    test::TempDir tmp;
    auto s = start_cli_sandbox(tmp);
    ASSERT_GT(s.postmaster, 0);
    s.process->signal(SIGINT);
    auto r = s.process->wait(60s);
    EXPECT_EQ(r.code, 0) << r.err;
    expect_gone(s.dir, s.postmaster);
}

TEST(Sandbox, SigtermDuringStartupLeavesNothingBehind) {
    test::TempDir tmp;
    test::CliOptions options;
    options.env = {{"TMPDIR", tmp.path()}};
    test::CliProcess p({"sandbox", "-o", "json"}, options);
    // Signal as soon as the folder exists: initdb is running then.
    ASSERT_TRUE(test::eventually([&] { return !sandbox_dirs(tmp.path()).empty(); }, 60s));
    auto dir = sandbox_dirs(tmp.path()).front();
    p.signal(SIGTERM);
    auto r = p.wait(60s);
    EXPECT_EQ(r.code, 13) << r.out << r.err;  // INTERRUPTED: no sandbox was handed out
    auto doc = nlohmann::json::parse(r.out);  // -o json: the error is a JSON document
    EXPECT_EQ(doc.at("exit_name"), "INTERRUPTED");
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_TRUE(test::eventually([&] { return test::processes_using(tmp.path()).empty(); }, 10s));
}

TEST(Sandbox, NextSandboxSweepsTheClusterOfAKilledOwner) {
    test::TempDir tmp;
    auto s = start_cli_sandbox(tmp);
    ASSERT_GT(s.postmaster, 0);
    s.process->signal(SIGKILL);
    auto r = s.process->wait(60s);
    EXPECT_EQ(r.code, 128 + SIGKILL);
    // SIGKILL gives no chance to clean up: the cluster is an orphan now.
    ASSERT_TRUE(fs::exists(s.dir));
    ASSERT_TRUE(test::process_running(s.postmaster));

    const char* old_tmpdir = std::getenv("TMPDIR");
    std::string saved = old_tmpdir ? old_tmpdir : "";
    ::setenv("TMPDIR", tmp.path().c_str(), 1);
    {
        PgSandbox next;  // sweeps first
        EXPECT_EQ(sandbox_dirs(tmp.path()), std::vector<std::string>{next.dir()});
        expect_gone(s.dir, s.postmaster);
    }
    if (old_tmpdir)
        ::setenv("TMPDIR", saved.c_str(), 1);
    else
        ::unsetenv("TMPDIR");
    EXPECT_EQ(sandbox_dirs(tmp.path()), std::vector<std::string>{});
}

TEST(Sandbox, SweepLeavesClustersOfLiveOwnersAlone) {
    // This binary's own cluster belongs to a live process: a sweep must not touch it.
    auto& cluster = test::cluster();
    auto before = postmaster_pid(cluster.dir() + "/data");
    PgSandbox::sweep_orphans();
    EXPECT_TRUE(fs::exists(cluster.dir()));
    EXPECT_TRUE(test::process_running(before));
    test::TestDb db;
    EXPECT_EQ(db.scalar("SELECT 1"), "1");
}

TEST(Sandbox, FindsServerBinaries) {
    auto bindir = find_pg_server_bindir();
    EXPECT_TRUE(fs::exists(bindir + "/initdb"));
    EXPECT_TRUE(fs::exists(bindir + "/pg_ctl"));
    EXPECT_EQ(find_pg_server_bindir(bindir), bindir);
    EXPECT_THROW(find_pg_server_bindir("/nonexistent/bin"), Error);
}
