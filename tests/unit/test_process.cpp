// The posix_spawn process runner: argv vectors, environment, stdin, stdout files, timeouts.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include "core/base/error.h"
#include "core/base/process.h"
#include "core/base/process_identity.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

ProcessResult run(ProcessSpec spec) {
    return default_process_runner().run(spec);
}

}  // namespace

TEST(Process, ArgvIsPassedAsIsWithoutAShell) {
    ProcessSpec spec;
    spec.argv = {"printf", "%s|", "two words", "$HOME", "a;b", "*"};
    auto r = run(spec);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "two words|$HOME|a;b|*|");
    EXPECT_TRUE(r.ok());
}

TEST(Process, EnvironmentIsSetAndUnsetPerChild) {
    ::setenv("ROLLSAFE_TEST_PARENT_ONLY", "1", 1);
    ProcessSpec spec;
    spec.argv = {"env"};
    spec.env = {{"PGPASSFILE", "/tmp/x"}};
    spec.unset_env = {"ROLLSAFE_TEST_PARENT_ONLY"};
    auto r = run(spec);
    EXPECT_NE(r.out.find("PGPASSFILE=/tmp/x\n"), std::string::npos);
    EXPECT_EQ(r.out.find("ROLLSAFE_TEST_PARENT_ONLY"), std::string::npos);
    ::unsetenv("ROLLSAFE_TEST_PARENT_ONLY");
}

TEST(Process, StdinStdoutStderrAndExitCode) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "cat; echo oops >&2; exit 3"};
    spec.stdin_data = std::string(300000, 'x');  // larger than a pipe buffer
    auto r = run(spec);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out.size(), 300000u);
    EXPECT_EQ(r.err, "oops\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.describe(), "exited with 3: oops");
}

TEST(Process, AChildThatIgnoresItsStdinDoesNotKillUs) {
    ProcessSpec spec;
    spec.argv = {"true"};
    spec.stdin_data = std::string(1 << 20, 'x');
    auto r = run(spec);  // writing to the closed pipe must fail with EPIPE, not SIGPIPE
    EXPECT_EQ(r.exit_code, 0);
}

TEST(Process, StdoutToAPrivateFile) {
    test::TempDir dir;
    ProcessSpec spec;
    spec.argv = {"echo", "dump"};
    spec.stdout_path = dir / "out.txt";
    auto r = run(spec);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(test::read(dir / "out.txt"), "dump\n");
    struct stat st {};
    ASSERT_EQ(::stat((dir / "out.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Process, TimeoutTerminatesTheChild) {
    ProcessSpec spec;
    spec.argv = {"sleep", "30"};
    spec.timeout = Millis(300);
    pid_t child = 0;
    spec.on_start = [&](pid_t pid) { child = pid; };
    auto t0 = std::chrono::steady_clock::now();
    auto r = run(spec);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.term_signal, SIGTERM);
    EXPECT_EQ(r.describe(), "timed out");
    EXPECT_GT(child, 0);
    EXPECT_FALSE(test::process_running(child));
}

TEST(Process, WorkingDirectory) {
    test::TempDir dir;
    ProcessSpec spec;
    spec.argv = {"pwd"};
    spec.cwd = dir.path();
    EXPECT_EQ(run(spec).out, dir.path() + "\n");
}

TEST(Process, MissingProgramIsAnInternalError) {
    ProcessSpec spec;
    spec.argv = {"rollsafe-no-such-program"};
    try {
        run(spec);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::internal);
        EXPECT_NE(std::string(e.what()).find("cannot start rollsafe-no-such-program"),
                  std::string::npos);
    }
    EXPECT_FALSE(find_on_path("rollsafe-no-such-program"));
    EXPECT_TRUE(find_on_path("sh"));
}

TEST(ProcessIdentity, TellsLiveFromDeadAndReusedPids) {
    auto me = ProcessIdentity::current();
    EXPECT_GT(me.start_time, 0u);
    EXPECT_EQ(liveness(me), Liveness::alive);
    auto reused = me;
    reused.start_time += 1;  // same pid, another process
    EXPECT_EQ(liveness(reused), Liveness::dead);
    ProcessSpec spec;
    spec.argv = {"true"};
    pid_t child = 0;
    spec.on_start = [&](pid_t pid) { child = pid; };
    run(spec);
    ProcessIdentity gone{me.host, child, 1};
    EXPECT_EQ(liveness(gone), Liveness::dead);
    ProcessIdentity elsewhere{"another-host.example", me.pid, me.start_time};
    EXPECT_EQ(liveness(elsewhere), Liveness::unknown_other_host);
}

TEST(Process, DescribeQuotesTheErrorLineNotTheDetailAfterIt) {
    ProcessResult r;
    r.exit_code = 1;
    r.err =
        "pg_dump: error: query failed: ERROR:  permission denied for table secret\n"
        "pg_dump: detail: Query was: LOCK TABLE app.secret IN ACCESS SHARE MODE\n";
    EXPECT_EQ(r.describe(),
              "exited with 1: pg_dump: error: query failed: ERROR:  permission denied for table "
              "secret");
    r.err = "first\nlast\n\n";
    EXPECT_EQ(r.describe(), "exited with 1: last");
}
