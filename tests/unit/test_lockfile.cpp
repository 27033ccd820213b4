#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/process_identity.h"
#include "core/engine/lockfile.h"

using namespace rollsafe;

namespace {

struct Dir {
    std::string path = fs::make_temp_dir(fs::temp_root() + "/rollsafe-lockfile-XXXXXX");
    ~Dir() { fs::remove_all(path); }
};

}  // namespace

TEST(Lockfile, RunningFileIsWrittenAtomically0600AndRemovedOnFinish) {
    Dir d;
    auto path = d.path + "/run/rollsafe.lock";
    {
        Lockfile lf(path);
        ASSERT_TRUE(lf.acquire("up", "v1", Millis(0)));
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        auto s = read_lockfile(path);
        EXPECT_EQ(s.kind, LockfileStatus::Kind::running);
        EXPECT_EQ(s.body->command, "up");
        EXPECT_EQ(s.body->release, "v1");
        EXPECT_EQ(s.body->holder.pid, ProcessIdentity::current().pid);
        // A second holder in the same host cannot take it (flock), and gives up after its wait.
        Lockfile other(path);
        EXPECT_FALSE(other.acquire("down", "", Millis(50)));
        lf.finish();
    }
    EXPECT_EQ(read_lockfile(path).kind, LockfileStatus::Kind::absent);
}

TEST(Lockfile, FrozenFileStaysWithItsReason) {
    Dir d;
    auto path = d.path + "/rollsafe.lock";
    {
        Lockfile lf(path);
        ASSERT_TRUE(lf.acquire("up", "", Millis(0)));
        lf.set_frozen("0042 failed part way", 7, "0041");
    }
    auto s = read_lockfile(path);
    ASSERT_EQ(s.kind, LockfileStatus::Kind::frozen);
    EXPECT_EQ(s.body->reason, "0042 failed part way");
    EXPECT_EQ(s.body->exit_code, 7);
}

TEST(Lockfile, StaleWhenTheHolderIsGoneEvenIfItsPidWasReused) {
    Dir d;
    auto path = d.path + "/rollsafe.lock";
    auto me = ProcessIdentity::current();
    LockfileBody b;
    b.state = "running";
    b.holder = me;
    b.holder.start_time = me.start_time + 1;  // same pid and host, another process
    b.command = "up";
    fs::write_file_atomic(path, b.to_json().dump(), 0600);
    auto s = read_lockfile(path);
    EXPECT_EQ(s.kind, LockfileStatus::Kind::stale);
    EXPECT_NE(s.detail.find("gone"), std::string::npos);

    b.holder = me;  // ourselves: alive
    fs::write_file_atomic(path, b.to_json().dump(), 0600);
    EXPECT_EQ(read_lockfile(path).kind, LockfileStatus::Kind::running);

    b.holder.host = "another-host";
    fs::write_file_atomic(path, b.to_json().dump(), 0600);
    auto other = read_lockfile(path);
    EXPECT_EQ(other.kind, LockfileStatus::Kind::running);
    EXPECT_NE(other.detail.find("another host"), std::string::npos);
}

TEST(Lockfile, GarbageIsUnreadableAndReplaced) {
    Dir d;
    auto path = d.path + "/rollsafe.lock";
    fs::write_file_atomic(path, "\x01\x02 not json {", 0600);
    EXPECT_EQ(read_lockfile(path).kind, LockfileStatus::Kind::unreadable);
    fs::write_file_atomic(path, R"({"state": "running", "pid": "x"})", 0600);
    EXPECT_EQ(read_lockfile(path).kind, LockfileStatus::Kind::unreadable);
    Lockfile lf(path);
    ASSERT_TRUE(lf.acquire("up", "", Millis(0)));
    EXPECT_EQ(lf.found().kind, LockfileStatus::Kind::unreadable);
    EXPECT_EQ(read_lockfile(path).kind, LockfileStatus::Kind::running);
}

// Found by tests/fuzz (fuzz_lockfile): get<int>() of a pid of 1e30 was undefined behaviour
// (UBSan: "1e+30 is outside the range of representable values of type 'int'"). Numbers that
// are not integers in range make the file unreadable, like any other garbage.
TEST(Lockfile, FuzzRegressionOutOfRangeNumbersAreUnreadableNotUndefined) {
    EXPECT_FALSE(LockfileBody::parse(R"({"state":"running","pid":1e30,"host":7})"));
    EXPECT_FALSE(LockfileBody::parse(R"({"state":"running","pid":4.5,"host":"h"})"));
    EXPECT_FALSE(LockfileBody::parse(R"({"state":"running","pid":99999999999,"host":"h"})"));
    EXPECT_FALSE(LockfileBody::parse(R"({"state":"running","pid":-3,"host":"h"})"));
    auto b = LockfileBody::parse(
        R"({"state":"frozen","pid":12,"host":"h","exit_code":1e300,"process_start_time":-1})");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->exit_code, 0);
    EXPECT_EQ(b->holder.start_time, 0u);
    auto ok = LockfileBody::parse(
        R"({"state":"frozen","pid":12,"host":"h","exit_code":7,"process_start_time":123})");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->exit_code, 7);
    EXPECT_EQ(ok->holder.start_time, 123u);
}

TEST(Lockfile, UnwritablePathIsAUsageError) {
    try {
        Lockfile lf("/proc/rollsafe/rollsafe.lock");
        (void)lf.acquire("up", "", Millis(0));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_NE(std::string(e.what()).find("lockfile"), std::string::npos);
    }
}
