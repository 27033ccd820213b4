// Behind PgBouncer in transaction pooling mode (where session advisory locks silently break),
// the lease lock still gives exactly-once, and nothing is left behind.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "core/base/fs.h"
#include "core/base/process.h"
#include "support/project.h"

using namespace rollsafe;
using test::Project;

namespace {

int free_port() {
    // Reuse the sandbox's way of finding a port: ask the kernel for one on loopback.
    ProcessSpec spec;
    spec.argv = {
        "python3", "-c",
        "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"};
    auto r = default_process_runner().run(spec);
    return std::stoi(r.out);
}

// A PgBouncer in front of the test cluster, in transaction pooling mode.
class PgBouncer {
  public:
    PgBouncer() {
        m_port = free_port();
        auto& c = test::cluster();
        std::string ini =
            "[databases]\n* = host=" + c.socket_dir() + " port=" + std::to_string(c.port()) +
            "\n"
            "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " +
            std::to_string(m_port) +
            "\n"
            "unix_socket_dir = " +
            m_dir.path() + "\nauth_type = trust\nauth_file = " + m_dir.path() +
            "/users.txt\n"
            "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 8\n"
            "logfile = " +
            m_dir.path() + "/pgbouncer.log\npidfile = " + m_dir.path() + "/pgbouncer.pid\n";
        m_dir.write("pgbouncer.ini", ini);
        m_dir.write("users.txt", "\"postgres\" \"\"\n");
        std::vector<std::string> argv = {"/usr/sbin/pgbouncer", "-d",
                                         m_dir.path() + "/pgbouncer.ini"};
        if (::geteuid() == 0) {
            // PgBouncer refuses to run as root, like initdb.
            auto* pw = ::getpwnam("postgres");
            for (auto f : {"", "/pgbouncer.ini", "/users.txt"})
                if (::chown((m_dir.path() + f).c_str(), pw->pw_uid, pw->pw_gid) != 0)
                    ADD_FAILURE() << "chown";
            argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
        }
        ProcessSpec spec;
        spec.argv = argv;
        auto r = default_process_runner().run(spec);
        if (!r.ok())
            ADD_FAILURE() << "pgbouncer: " << r.describe() << r.err;
        if (!test::wait_until([&] { return fs::exists(m_dir.path() + "/pgbouncer.pid"); }))
            ADD_FAILURE() << "pgbouncer did not start: "
                          << test::read(m_dir.path() + "/pgbouncer.log");
    }
    ~PgBouncer() {
        auto pid = test::read(m_dir.path() + "/pgbouncer.pid");
        if (!pid.empty())
            ::kill(std::stoi(pid), SIGTERM);
        test::wait_until([&] { return !fs::exists(m_dir.path() + "/pgbouncer.pid"); }, 5000);
    }
    std::string url(const std::string& db) const {
        return "postgresql://postgres@127.0.0.1:" + std::to_string(m_port) + "/" + db;
    }
    std::string log() const { return test::read(m_dir.path() + "/pgbouncer.log"); }

  private:
    test::TempDir m_dir;
    int m_port = 0;
};

}  // namespace

TEST(EnginePgBouncer, FiveConcurrentUpsThroughTransactionPoolingApplyOnce) {
    PgBouncer bouncer;
    Project p;
    for (int i = 1; i <= 8; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "%04d_t%d", i, i);
        std::string t = "t" + std::to_string(i);
        std::string up = "CREATE TABLE " + t + " (id int);\nINSERT INTO " + t + " VALUES (1);\n";
        if (i == 3)
            up += "SELECT pg_sleep(1);\n";
        p.add(id, up, ("DROP TABLE " + t + ";\n").c_str());
    }
    std::map<std::string, std::string> env = {{"DATABASE_URL", bouncer.url(p.db().name())}};
    std::vector<test::CliResult> results(5);
    std::vector<std::thread> threads;
    for (int i = 0; i < 5; ++i)
        threads.emplace_back([&, i] { results[i] = p.run({"up", "--lock-wait", "60s"}, env); });
    for (auto& t : threads)
        t.join();
    for (const auto& r : results)
        EXPECT_EQ(r.code, 0) << r.all() << bouncer.log();
    EXPECT_EQ(p.db().scalar(
                  "SELECT count(*) FROM rollsafe.history WHERE op = 'up' AND outcome = 'applied'"),
              "8");
    EXPECT_EQ(p.db().scalar(
                  "SELECT count(DISTINCT version) FROM rollsafe.history WHERE outcome = 'applied'"),
              "8");
    for (int i = 1; i <= 8; ++i)
        EXPECT_EQ(p.db().scalar("SELECT count(*) FROM t" + std::to_string(i)), "1");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0");
    EXPECT_EQ(p.db().scalar("SELECT count(*) FROM rollsafe.lock"), "0");
    // The runs really went through PgBouncer.
    auto status =
        test::run_cli({"status", "-o", "json", "--migrations", p.migrations()}, {env, "", "", {}});
    EXPECT_EQ(status.code, 0) << status.all();
    EXPECT_NE(status.out.find("127.0.0.1"), std::string::npos) << status.out;
}
