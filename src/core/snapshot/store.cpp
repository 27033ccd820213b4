#include "core/snapshot/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/engine/history.h"

namespace rollsafe::snapshot {
namespace {

Error store_error(const std::string& what, const std::string& path, int err) {
    return Error(ExitCode::snapshot_failed, path + ": " + what + ": " + std::strerror(err),
                 "check snapshot.dir: it must be writable and have room for the dump");
}

const char* kPartialSuffix = ".dump.partial";

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..")
            out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string iso_utc(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string new_snapshot_id(std::time_t now) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return std::string(buf) + "-" + new_run_id().substr(0, 6);
}

TempArchive::TempArchive(const std::string& dir, const std::string& id)
    : m_dir(dir), m_path(dir + "/." + id + kPartialSuffix) {
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_fd < 0)
        throw store_error("cannot create the temporary archive", m_path, errno);
    ::fchmod(m_fd, 0600);
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(m_fd);
        ::unlink(m_path.c_str());
        m_fd = -1;
        throw store_error("cannot lock the temporary archive", m_path, err);
    }
}

TempArchive::~TempArchive() {
    if (!m_committed)
        ::unlink(m_path.c_str());
    if (m_fd >= 0)
        ::close(m_fd);
}

void TempArchive::commit(const std::string& final_path) {
    int fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw store_error("cannot reopen the archive", m_path, errno);
    if (::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        throw store_error("fsync failed", m_path, err);
    }
    ::close(fd);
    if (::chmod(m_path.c_str(), 0600) != 0)
        throw store_error("cannot set mode 0600", m_path, errno);
    if (::rename(m_path.c_str(), final_path.c_str()) != 0)
        throw store_error("rename failed", final_path, errno);
    m_committed = true;
    fs::fsync_dir(m_dir);
}

SnapshotStore::SnapshotStore(std::string dir) : m_dir(std::move(dir)) {
    while (m_dir.size() > 1 && m_dir.back() == '/')
        m_dir.pop_back();
    // Absolute from here on: messages, manifests and pg_dump's argv then name the real place.
    if (!m_dir.empty() && m_dir[0] != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd))
            m_dir = std::string(cwd) + (m_dir == "." ? "" : "/" + m_dir);
    }
}

void SnapshotStore::prepare() const {
    try {
        fs::make_dirs(m_dir, 0700);
    } catch (const Error& e) {
        throw Error(ExitCode::snapshot_failed, e.what(),
                    "set snapshot.dir to a folder rollsafe may create");
    }
    struct stat st {};
    if (::stat(m_dir.c_str(), &st) != 0)
        throw store_error("cannot stat", m_dir, errno);
    if (!S_ISDIR(st.st_mode))
        throw Error(ExitCode::snapshot_failed, m_dir + ": snapshot.dir is not a folder");
    if ((st.st_mode & 077) != 0) {
        if (st.st_uid != ::geteuid() || ::chmod(m_dir.c_str(), 0700) != 0)
            throw Error(
                ExitCode::snapshot_failed,
                m_dir + ": snapshot folder is readable by others (mode " +
                    std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                    std::to_string(st.st_mode & 7) + ") and cannot be tightened",
                "dumps hold table data: chmod 0700 the folder, or point snapshot.dir elsewhere");
        log::warn("{}: tightened to mode 0700 (snapshots hold table data)", m_dir);
    }
}

std::string SnapshotStore::archive_path(const Manifest& m) const {
    return m_dir + "/" + (m.archive.empty() ? m.id + ".dump" : m.archive);
}

std::string SnapshotStore::manifest_path(const std::string& id) const {
    return m_dir + "/" + id + ".json";
}

std::vector<Manifest> SnapshotStore::list() const {
    std::vector<Manifest> out;
    for (const auto& name : dir_entries(m_dir)) {
        if (name[0] == '.' || !text::ends_with(name, ".json"))
            continue;
        auto content = fs::read_file(m_dir + "/" + name);
        if (!content)
            continue;
        try {
            out.push_back(Manifest::from_json(nlohmann::json::parse(*content)));
        } catch (const std::exception& e) {
            log::warn("{}/{}: not a snapshot manifest ({}); skipped", m_dir, name, e.what());
        }
    }
    std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) {
        return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
    });
    return out;
}

Manifest SnapshotStore::load(const std::string& id) const {
    bool plain = !id.empty() && id.find('/') == std::string::npos && id[0] != '.';
    auto content = plain ? fs::read_file(manifest_path(id)) : std::nullopt;
    if (!content)
        throw usage_error("no snapshot " + id + " in " + m_dir,
                          "rollsafe snapshot list shows the snapshots there");
    try {
        return Manifest::from_json(nlohmann::json::parse(*content));
    } catch (const std::exception& e) {
        throw Error(ExitCode::snapshot_failed,
                    manifest_path(id) + ": damaged manifest: " + e.what());
    }
}

void SnapshotStore::save(const Manifest& m) const {
    try {
        fs::write_file_atomic(manifest_path(m.id), m.to_json().dump(2) + "\n", 0600);
    } catch (const Error& e) {
        throw Error(ExitCode::snapshot_failed, e.what(),
                    "check snapshot.dir: it must be writable and have room");
    }
}

std::vector<std::string> SnapshotStore::clean_temp_files() const {
    std::vector<std::string> removed;
    for (const auto& name : dir_entries(m_dir)) {
        if (name[0] != '.' || !text::ends_with(name, kPartialSuffix))
            continue;
        std::string path = m_dir + "/" + name;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        // The writer holds LOCK_EX while its dump runs; a lock we can take means it is gone.
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::unlink(path.c_str()) == 0)
            removed.push_back(path);
        ::close(fd);
    }
    return removed;
}

PruneResult SnapshotStore::prune(int keep, Millis max_age, const std::string& database,
                                 bool dry_run, std::time_t now) const {
    PruneResult res;
    auto all = list();
    std::map<std::string, std::vector<Manifest>> by_db;
    for (auto& m : all) {
        if (!database.empty() && m.database != database)
            continue;
        by_db[m.database].push_back(m);
    }
    for (auto& [db, snaps] : by_db) {
        std::reverse(snaps.begin(), snaps.end());  // newest first
        for (std::size_t i = 0; i < snaps.size(); ++i) {
            const auto& m = snaps[i];
            long long age_ms = (static_cast<long long>(now) - m.created_unix) * 1000;
            bool beyond_keep = keep >= 0 && static_cast<int>(i) >= keep;
            bool too_old = max_age.count() > 0 && age_ms > max_age.count() && (i > 0 || keep == 0);
            if (beyond_keep || too_old)
                res.removed.push_back(m);
            else
                res.kept.push_back(m);
        }
    }
    // Archives whose manifest never got written (a crash between rename and manifest); a recent
    // one may belong to a snapshot being finished right now.
    std::map<std::string, bool> with_manifest;
    for (const auto& m : all)
        with_manifest[m.archive.empty() ? m.id + ".dump" : m.archive] = true;
    for (const auto& name : dir_entries(m_dir)) {
        if (name[0] == '.' || !text::ends_with(name, ".dump") || with_manifest.count(name))
            continue;
        struct stat st {};
        std::string path = m_dir + "/" + name;
        if (::stat(path.c_str(), &st) == 0 && now - st.st_mtime > 600)
            res.removed_files.push_back(path);
    }
    if (dry_run)
        return res;
    for (const auto& m : res.removed) {
        // The manifest goes first: a half-pruned snapshot is then an archive without a manifest,
        // which the next prune removes.
        ::unlink(manifest_path(m.id).c_str());
        ::unlink(archive_path(m).c_str());
    }
    for (const auto& f : res.removed_files)
        ::unlink(f.c_str());
    for (const auto& f : clean_temp_files())
        res.removed_files.push_back(f);
    fs::fsync_dir(m_dir);
    return res;
}

}  // namespace rollsafe::snapshot
