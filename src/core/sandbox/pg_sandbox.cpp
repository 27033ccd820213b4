#include "core/sandbox/pg_sandbox.h"

#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/process_identity.h"
#include "core/base/text.h"
#include "core/db/session.h"

namespace rollsafe {
namespace {

bool has_server(const std::string& dir) {
    return ::access((dir + "/initdb").c_str(), X_OK) == 0 &&
           ::access((dir + "/pg_ctl").c_str(), X_OK) == 0;
}

int free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 54329;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int port = 54329;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

std::string tail(const std::string& path, std::size_t lines) {
    auto content = fs::read_file(path).value_or("");
    auto all = text::split(content, '\n');
    std::size_t from = all.size() > lines ? all.size() - lines : 0;
    std::vector<std::string> last(all.begin() + static_cast<long>(from), all.end());
    return text::join(last, "\n");
}

const char* kPrefix = "rollsafe-sandbox-";

}  // namespace

std::string find_pg_server_bindir(const std::string& preferred) {
    if (!preferred.empty()) {
        if (has_server(preferred))
            return preferred;
        throw Error(ExitCode::internal, preferred + ": no initdb/pg_ctl there");
    }
    if (auto pg_config = find_on_path("pg_config")) {
        ProcessSpec spec;
        spec.argv = {*pg_config, "--bindir"};
        spec.kill_on_interrupt = false;
        auto r = default_process_runner().run(spec);
        auto dir = std::string(text::trim(r.out));
        if (r.ok() && has_server(dir))
            return dir;
    }
    if (auto initdb = find_on_path("initdb")) {
        auto dir = initdb->substr(0, initdb->rfind('/'));
        if (has_server(dir))
            return dir;
    }
    std::vector<std::pair<int, std::string>> found;
    if (DIR* d = ::opendir("/usr/lib/postgresql")) {
        while (auto* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
                continue;
            std::string dir = "/usr/lib/postgresql/" + name + "/bin";
            if (has_server(dir))
                found.emplace_back(std::atoi(name.c_str()), dir);
        }
        ::closedir(d);
    }
    if (!found.empty()) {
        std::sort(found.begin(), found.end());
        return found.back().second;
    }
    throw Error(ExitCode::internal, "no PostgreSQL server binaries (initdb, pg_ctl) found",
                "install postgresql (scripts/setup does), or set snapshot.pg_bindir");
}

std::vector<std::string> PgSandbox::as_server_user(std::vector<std::string> argv) const {
    if (m_run_as.empty())
        return argv;
    std::vector<std::string> out = {"runuser", "-u", m_run_as, "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

PgSandbox::PgSandbox(SandboxOptions options) : m_options(std::move(options)) {
    auto t0 = std::chrono::steady_clock::now();
    sweep_orphans();
    m_bindir = find_pg_server_bindir(m_options.bindir);
    m_dir = fs::make_temp_dir(fs::temp_root() + "/" + kPrefix + "XXXXXX");
    m_data = m_dir + "/data";
    // From here on a signal stops and removes what exists so far: the hook's stop() waits for
    // m_mutex, which start() holds, so it never races a half-started server.
    m_hook = interrupt::on_interrupt([this] { stop(); });
    try {
        std::lock_guard<std::mutex> lock(m_mutex);
        start();
    } catch (...) {
        stop();
        throw;
    }
    m_startup = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
    if (!m_running) {
        throw Error(ExitCode::interrupted, "interrupted while the sandbox PostgreSQL started",
                    "it was stopped and removed; re-running is safe");
    }
    log::debug("sandbox PostgreSQL ready in {} ms at {}", m_startup.count(), m_dir);
}

void PgSandbox::start() {
    if (m_dir.empty()) {  // a signal's stop() came first
        throw Error(ExitCode::interrupted, "interrupted while the sandbox PostgreSQL started",
                    "it was stopped and removed; re-running is safe");
    }
    auto me = ProcessIdentity::current();
    fs::write_file_atomic(m_dir + "/owner",
                          std::to_string(me.pid) + " " + std::to_string(me.start_time) + "\n",
                          0644);
    m_port = free_tcp_port();

    if (::geteuid() == 0) {
        struct passwd* pw = ::getpwnam("postgres");
        if (!pw) {
            throw Error(
                ExitCode::internal,
                "running as root, and there is no `postgres` user to run the sandbox server",
                "initdb refuses root: create an unprivileged user (useradd postgres) or run "
                "as one");
        }
        m_run_as = "postgres";
        if (::chown(m_dir.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
            ::chmod(m_dir.c_str(), 0700) != 0)
            throw Error(ExitCode::internal,
                        m_dir + ": cannot hand the sandbox folder to user postgres");
        log::debug("running as root: the sandbox server runs as the unprivileged user postgres");
    }

    auto& runner = default_process_runner();
    ProcessSpec initdb;
    initdb.argv =
        as_server_user({m_bindir + "/initdb", "-D", m_data, "-U", m_options.superuser, "-A",
                        "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"});
    initdb.kill_on_interrupt = false;
    auto r = runner.run(initdb);
    interrupt::check();  // a signal during initdb: do not start a server only to stop it
    if (!r.ok()) {
        throw Error(ExitCode::internal, "initdb failed: " + r.describe(),
                    std::string(text::trim(r.err)));
    }
    std::string conf = "\n# rollsafe sandbox: throwaway, tuned for speed\n";
    auto line = [&](const std::string& k, const std::string& v) {
        conf += k + " = " + text::quote_literal(v) + "\n";
    };
    line("listen_addresses", m_options.tcp ? "127.0.0.1" : "");
    line("port", std::to_string(m_port));
    line("unix_socket_directories", m_dir);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"fsync", "off"},
             {"synchronous_commit", "off"},
             {"full_page_writes", "off"},
             {"shared_buffers", "32MB"},
             {"max_connections", "200"},
             {"wal_level", "minimal"},
             {"max_wal_senders", "0"},
             {"autovacuum", "off"},
             {"log_min_messages", "warning"},
             {"log_checkpoints", "off"},
             // notice dead clients during long queries
             {"client_connection_check_interval", "500ms"}})
        line(k, v);
    for (const auto& [k, v] : m_options.settings)
        line(k, v);
    {
        std::ofstream out(m_data + "/postgresql.conf", std::ios::app);
        out << conf;
        if (!out.flush())
            throw Error(ExitCode::internal, m_data + "/postgresql.conf: cannot append settings");
    }
    ProcessSpec start;
    start.argv = as_server_user({m_bindir + "/pg_ctl", "-D", m_data, "-l", m_dir + "/server.log",
                                 "-w", "-t", "60", "start"});
    start.new_process_group = true;
    start.kill_on_interrupt = false;
    r = runner.run(start);
    if (!r.ok()) {
        throw Error(ExitCode::internal, "the sandbox server did not start: " + r.describe(),
                    tail(m_dir + "/server.log", 15));
    }
    m_running = true;
}

PgSandbox::~PgSandbox() {
    stop();
}

void PgSandbox::stop() {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_dir.empty())
        return;
    stop_server(m_bindir, m_data, m_run_as);
    fs::remove_all(m_dir);
    m_dir.clear();
    m_running = false;
}

void PgSandbox::stop_server(const std::string& bindir, const std::string& data,
                            const std::string& run_as) {
    auto pid_file = fs::read_file(data + "/postmaster.pid");
    if (!pid_file)
        return;  // never started, or already stopped
    ProcessSpec spec;
    spec.argv = {bindir + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "30", "stop"};
    if (!run_as.empty())
        spec.argv.insert(spec.argv.begin(), {"runuser", "-u", run_as, "--"});
    spec.kill_on_interrupt = false;
    bool stopped = false;
    try {
        stopped = default_process_runner().run(spec).ok();
    } catch (...) {
    }
    // pg_ctl could not do it (a hung server, or a folder we may not read as that user): end the
    // postmaster ourselves; its backends exit when it is gone.
    pid_t pid = static_cast<pid_t>(std::atoi(pid_file->c_str()));
    if (!stopped && pid > 0 && process_start_time(pid) != 0)
        ::kill(pid, SIGKILL);
}

std::string PgSandbox::conninfo(const std::string& dbname) const {
    Dsn dsn;
    dsn.set("host", m_dir);
    dsn.set("port", std::to_string(m_port));
    dsn.set("user", m_options.superuser);
    dsn.set("dbname", dbname);
    return dsn.conninfo();
}

std::string PgSandbox::url(const std::string& dbname) const {
    std::string host;
    for (char c : m_dir)
        host += c == '/' ? std::string("%2F") : std::string(1, c);
    return "postgresql://" + m_options.superuser + "@" + host + ":" + std::to_string(m_port) + "/" +
           dbname;
}

void PgSandbox::create_database(const std::string& name, const std::string& template_db) const {
    auto s = db::connect(Dsn::parse(conninfo()), {});
    s->exec("CREATE DATABASE " + text::quote_ident(name) + " TEMPLATE " +
            text::quote_ident(template_db));
}

void PgSandbox::drop_database(const std::string& name) const {
    auto s = db::connect(Dsn::parse(conninfo()), {});
    s->exec("DROP DATABASE IF EXISTS " + text::quote_ident(name) + " WITH (FORCE)");
}

ProcessResult PgSandbox::run_tool(const std::string& tool, std::vector<std::string> args) const {
    ProcessSpec spec;
    spec.argv = {m_bindir + "/" + tool};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.kill_on_interrupt = true;
    return default_process_runner().run(spec);
}

int PgSandbox::sweep_orphans() {
    int swept = 0;
    auto root = fs::temp_root();
    DIR* d = ::opendir(root.c_str());
    if (!d)
        return 0;
    std::vector<std::string> candidates;
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (text::starts_with(name, kPrefix))
            candidates.push_back(root + "/" + name);
    }
    ::closedir(d);
    for (const auto& dir : candidates) {
        auto owner = fs::read_file(dir + "/owner");
        if (!owner) {
            // Not fully created yet, or its creator died within microseconds: only a folder
            // that has stayed ownerless for long is abandoned (no server ever ran in it).
            struct stat st {};
            if (::stat(dir.c_str(), &st) == 0 && std::time(nullptr) - st.st_mtime > 600) {
                fs::remove_all(dir);
                ++swept;
            }
            continue;
        }
        ProcessIdentity id;
        id.host = host_name();
        unsigned long long start = 0;
        int pid = 0;
        if (std::sscanf(owner->c_str(), "%d %llu", &pid, &start) != 2)
            continue;
        id.pid = pid;
        id.start_time = start;
        if (liveness(id) != Liveness::dead)
            continue;
        // The owner is gone: stop its server (if it still runs) and remove the folder.
        struct stat st {};
        std::string run_as;
        if (::geteuid() == 0 && ::stat(dir.c_str(), &st) == 0 && st.st_uid != 0) {
            if (auto* pw = ::getpwuid(st.st_uid))
                run_as = pw->pw_name;
        }
        try {
            stop_server(find_pg_server_bindir(), dir + "/data", run_as);
        } catch (const Error&) {
            // No server binaries: nothing can be running from them either.
        }
        fs::remove_all(dir);
        log::debug("removed an orphaned sandbox at {}", dir);
        ++swept;
    }
    return swept;
}

}  // namespace rollsafe
