// Files: atomic writes with a mode, folders, removal, and SHA-256 of data and files.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/sha256.h"
#include "support/helpers.h"

using namespace rollsafe;

TEST(Fs, WriteFileAtomicReplacesContentWithTheGivenMode) {
    test::TempDir dir;
    auto path = dir / "lock.json";
    fs::write_file_atomic(path, "one", 0600);
    fs::write_file_atomic(path, "two", 0640);
    EXPECT_EQ(test::read(path), "two");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    EXPECT_THROW(fs::write_file_atomic(dir / "missing/x", "y"), Error);
}

TEST(Fs, ReadFileReportsWhy) {
    test::TempDir dir;
    int err = 0;
    EXPECT_FALSE(fs::read_file(dir / "nope", &err));
    EXPECT_EQ(err, ENOENT);
    EXPECT_FALSE(fs::read_file(dir.path(), &err));
    EXPECT_EQ(err, EISDIR);
    dir.write("empty", "");
    EXPECT_EQ(fs::read_file(dir / "empty"), "");
}

TEST(Fs, ReadFileReadsWholeFilesOfAnySize) {
    test::TempDir dir;
    // Larger than one read's buffer, and not a multiple of it.
    std::string big(200000, 'x');
    big[0] = 'a';
    big.back() = 'z';
    dir.write("big", big);
    EXPECT_EQ(fs::read_file(dir / "big"), big);
    dir.write("small", "SELECT 1;\n");
    EXPECT_EQ(fs::read_file(dir / "small"), "SELECT 1;\n");
    // A file that reports no size is read to its end.
    auto self = fs::read_file("/proc/self/status");
    ASSERT_TRUE(self);
    EXPECT_NE(self->find("Name:"), std::string::npos);
}

TEST(Fs, MakeDirsAndRemoveAll) {
    test::TempDir dir;
    fs::make_dirs(dir / "a/b/c", 0700);
    dir.write("a/b/c/file", "x");
    EXPECT_TRUE(fs::exists(dir / "a/b/c/file"));
    fs::make_dirs(dir / "a/b/c", 0700);  // existing: fine
    dir.write("a/plain", "x");
    EXPECT_THROW(fs::make_dirs(dir / "a/plain/d"), Error);
    fs::remove_all(dir / "a");
    EXPECT_FALSE(fs::exists(dir / "a"));
    fs::remove_all(dir / "a");  // missing: fine
}

TEST(Sha256, KnownVectorsAndFiles) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    test::TempDir dir;
    dir.write("big", std::string(200000, 'a'));
    Sha256 h;
    std::string big(200000, 'a');
    h.update(big.data(), 100000);
    h.update(big.data() + 100000, 100000);
    auto incremental = h.finish();
    EXPECT_EQ(sha256_file(dir / "big"), sha256_hex(big));
    EXPECT_EQ(incremental, sha256_hex(big));
    EXPECT_THROW(sha256_file(dir / "nope"), Error);
}
