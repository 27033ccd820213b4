#include "core/base/fs.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/base/error.h"

namespace rollsafe::fs {
namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
    return Error(ExitCode::internal, path + ": " + what + ": " + std::strerror(err));
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, int* errno_out) {
    return read_file_at(AT_FDCWD, path, errno_out);
}

std::optional<std::string> read_file_at(int dir_fd, const std::string& name, int* errno_out) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno_out)
            *errno_out = errno;
        return std::nullopt;
    }
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        if (errno_out)
            *errno_out = EISDIR;
        return std::nullopt;
    }
    std::string out;
    if (st.st_size > 0)
        out.reserve(static_cast<std::size_t>(st.st_size));
    // A regular file is read up to the size fstat gave, without one more read to see its end
    // (status reads two thousand scripts: a fifth of its system calls). Pipes, devices and
    // files that report no size (/proc) are read to their end.
    const bool sized = S_ISREG(st.st_mode) && st.st_size > 0;
    char buf[65536];
    while (!sized || out.size() < static_cast<std::size_t>(st.st_size)) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno_out)
                *errno_out = errno;
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode) {
    std::string dir = parent_dir(path);
    std::string tmpl = path + ".tmp-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = ::mkstemp(buf.data());
    if (fd < 0)
        throw io_error("cannot create temporary file", path, errno);
    std::string tmp(buf.data());
    auto fail = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw io_error(what, path, err);
    };
    if (::fchmod(fd, mode) != 0)
        fail("cannot set mode");
    std::size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("write failed");
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0)
        fail("fsync failed");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw io_error("close failed", path, err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw io_error("rename failed", path, err);
    }
    fsync_dir(dir);
}

void make_dirs(const std::string& dir, mode_t mode) {
    if (dir.empty())
        return;
    std::string partial;
    for (std::size_t i = 0; i <= dir.size(); ++i) {
        if (i == dir.size() || (dir[i] == '/' && i > 0)) {
            partial = dir.substr(0, i);
            if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
                throw io_error("cannot create directory", partial, errno);
        }
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw io_error("not a directory", dir, ENOTDIR);
}

void remove_all(const std::string& path) {
    ::nftw(
        path.c_str(),
        [](const char* p, const struct stat*, int, struct FTW*) -> int {
            ::remove(p);
            return 0;
        },
        32, FTW_DEPTH | FTW_PHYS);
}

std::string make_temp_dir(const std::string& prefix) {
    std::vector<char> buf(prefix.begin(), prefix.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
        throw io_error("cannot create temporary directory", prefix, errno);
    return buf.data();
}

std::string temp_root() {
    const char* t = std::getenv("TMPDIR");
    if (t && *t)
        return t;
    return "/tmp";
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace rollsafe::fs
