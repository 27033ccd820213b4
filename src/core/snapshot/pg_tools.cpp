#include "core/snapshot/pg_tools.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/text.h"

namespace rollsafe::snapshot {

std::optional<std::pair<int, std::string>> parse_tool_version(const std::string& output) {
    static const std::regex re(R"(\(PostgreSQL\)\s+(\d+)(\.\d+)?)");
    std::smatch m;
    if (!std::regex_search(output, m, re))
        return std::nullopt;
    int major = std::stoi(m[1].str());
    return std::make_pair(major, m[1].str() + m[2].str());
}

namespace {

bool executable(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

// Returns the majors under /usr/lib/postgresql that hold `name`, newest first.
std::vector<int> installed_majors(const std::string& name) {
    std::vector<int> out;
    DIR* d = ::opendir("/usr/lib/postgresql");
    if (!d)
        return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
            }))
            continue;
        if (executable("/usr/lib/postgresql/" + n + "/bin/" + name))
            out.push_back(std::stoi(n));
    }
    ::closedir(d);
    std::sort(out.rbegin(), out.rend());
    return out;
}

}  // namespace

PgTool find_pg_tool(const std::string& name, const std::string& bindir, int server_major,
                    ProcessRunner& runner) {
    std::vector<std::string> candidates;
    if (!bindir.empty()) {
        candidates.push_back(bindir + "/" + name);
    } else {
        if (server_major > 0)
            candidates.push_back("/usr/lib/postgresql/" + std::to_string(server_major) + "/bin/" +
                                 name);
        for (int major : installed_majors(name))
            candidates.push_back("/usr/lib/postgresql/" + std::to_string(major) + "/bin/" + name);
        if (auto p = find_on_path(name))
            candidates.push_back(*p);
    }
    for (const auto& path : candidates) {
        if (!executable(path))
            continue;
        ProcessSpec spec;
        spec.argv = {path, "--version"};
        spec.timeout = std::chrono::seconds(30);
        auto r = runner.run(spec);
        auto v = parse_tool_version(r.out);
        if (!r.ok() || !v)
            throw Error(ExitCode::snapshot_failed,
                        path + " --version " + r.describe() + ": cannot tell its version",
                        "point snapshot.pg_bindir at a working PostgreSQL client installation");
        return {path, v->first, v->second};
    }
    throw Error(
        ExitCode::snapshot_failed,
        "no " + name + " found" +
            (bindir.empty() ? " (searched /usr/lib/postgresql/*/bin and PATH)" : " in " + bindir),
        "install the PostgreSQL client (Debian: postgresql-client-" +
            (server_major > 0 ? std::to_string(server_major) : std::string("15")) +
            ") or set snapshot.pg_bindir");
}

void require_tool_not_older(const PgTool& tool, int server_version_num,
                            const std::string& server_version) {
    int server_major = server_version_num / 10000;
    if (tool.major >= server_major)
        return;
    throw Error(ExitCode::snapshot_failed,
                tool.path + " is version " + tool.version + ", older than the server (" +
                    server_version +
                    "): it cannot dump this database faithfully; nothing was applied",
                "install the PostgreSQL " + std::to_string(server_major) +
                    " client (Debian: postgresql-client-" + std::to_string(server_major) +
                    ") and point snapshot.pg_bindir at its bin folder");
}

PassFile::PassFile(const std::string& password) {
    m_dir = fs::make_temp_dir(fs::temp_root() + "/rollsafe-pass-XXXXXX");  // mkdtemp: 0700
    m_path = m_dir + "/pgpass";
    std::string line = "*:*:*:*:";
    for (char c : password) {
        if (c == '\\' || c == ':')
            line += '\\';
        line += c;
    }
    line += "\n";
    int fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int err = errno;
        fs::remove_all(m_dir);
        throw Error(ExitCode::internal,
                    m_path + ": cannot create password file: " + std::strerror(err));
    }
    bool ok = ::fchmod(fd, 0600) == 0 &&
              ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) {
        fs::remove_all(m_dir);
        throw Error(ExitCode::internal, m_path + ": cannot write password file");
    }
    // On SIGTERM the file goes first, before anything else unwinds.
    std::string path = m_path, dir = m_dir;
    m_hook = interrupt::on_interrupt([path, dir] {
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    });
}

PassFile::~PassFile() {
    m_hook = interrupt::Hook();
    ::unlink(m_path.c_str());
    ::rmdir(m_dir.c_str());
}

ChildConnection::ChildConnection(const Dsn& dsn) {
    Dsn child = dsn;
    child.erase("password");
    // A client key's passphrase has no environment variable or pass file: it stays out of argv.
    if (child.get("sslpassword")) {
        child.erase("sslpassword");
        log::warn(
            "sslpassword is not passed to pg_dump/pg_restore (it would show in their argv); use a "
            "client key without a passphrase or a service file for them");
    }
    m_conninfo = child.conninfo();
    if (auto pw = dsn.get("password"); pw && !pw->empty())
        m_passfile = std::make_unique<PassFile>(*pw);
}

void ChildConnection::apply(ProcessSpec& spec) const {
    if (!m_conninfo.empty())
        spec.argv.push_back("--dbname=" + m_conninfo);
    if (m_passfile) {
        spec.env.emplace_back("PGPASSFILE", m_passfile->path());
        spec.unset_env.push_back("PGPASSWORD");
    }
}

}  // namespace rollsafe::snapshot
