#include "support/helpers.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "core/base/fs.h"
#include "core/base/process.h"
#include "core/base/text.h"

extern char** environ;

namespace rollsafe::test {
namespace {
std::unique_ptr<PgSandbox> g_cluster;
std::atomic<int> g_counter{0};
}  // namespace

PgSandbox& cluster() {
    if (!g_cluster)
        g_cluster = std::make_unique<PgSandbox>();
    return *g_cluster;
}

void stop_cluster() {
    g_cluster.reset();
}

TestDb::TestDb() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string base = info ? std::string(info->test_suite_name()) + "_" + info->name() : "db";
    std::string name;
    for (char c : text::to_lower(base))
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (name.size() > 50)
        name = name.substr(0, 50);
    m_name = "t" + std::to_string(g_counter++) + "_" + name;
    cluster().create_database(m_name);
}

TestDb::~TestDb() {
    try {
        cluster().drop_database(m_name);
    } catch (...) {
    }
}

std::string TestDb::conninfo() const {
    return cluster().conninfo(m_name);
}
std::string TestDb::url() const {
    return cluster().url(m_name);
}

std::unique_ptr<db::Session> TestDb::connect() const {
    return db::connect(Dsn::parse(conninfo()), {});
}

std::string TestDb::scalar(const std::string& sql) const {
    auto s = connect();
    auto r = s->exec(sql);
    if (r.empty() || r.columns.empty())
        return "";
    return r.get(0, 0);
}

TempDir::TempDir() {
    m_path = fs::make_temp_dir(fs::temp_root() + "/rollsafe-test-XXXXXX");
    ::chmod(m_path.c_str(), 0755);
}
TempDir::~TempDir() {
    fs::remove_all(m_path);
}

std::string TempDir::write(const std::string& relative, const std::string& content) const {
    std::string full = m_path + "/" + relative;
    auto slash = full.rfind('/');
    fs::make_dirs(full.substr(0, slash), 0755);
    fs::write_file_atomic(full, content, 0644);
    return full;
}

namespace {

// The environment a CLI test runs in: ours without ROLLSAFE_*, DATABASE_URL, PG* and CI
// markers, plus NO_COLOR and the test's own variables.
std::map<std::string, std::string> cli_environment(const CliOptions& options) {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            continue;
        auto key = kv.substr(0, eq);
        if (text::starts_with(key, "ROLLSAFE_") || key == "DATABASE_URL" ||
            text::starts_with(key, "PG") || key == "GITHUB_ACTIONS")
            continue;
        env[key] = kv.substr(eq + 1);
    }
    env["NO_COLOR"] = "1";
    for (const auto& [k, v] : options.env)
        env[k] = v;
    return env;
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options) {
    ProcessSpec spec;
    spec.argv = {ROLLSAFE_BINARY};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    auto env = cli_environment(options);
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto key = kv.substr(0, kv.find('='));
        if (!env.count(key))
            spec.unset_env.push_back(key);
    }
    for (const auto& [k, v] : env)
        spec.env.emplace_back(k, v);
    spec.cwd = options.cwd;
    spec.stdin_data = options.stdin_data;
    spec.on_start = options.on_start;
    spec.kill_on_interrupt = true;
    auto r = default_process_runner().run(spec);
    CliResult out;
    out.code = r.term_signal ? 128 + r.term_signal : r.exit_code;
    out.out = r.out;
    out.err = r.err;
    return out;
}

std::string read(const std::string& path) {
    return fs::read_file(path).value_or("");
}

CliProcess::CliProcess(const std::vector<std::string>& args, const CliOptions& options,
                       const std::vector<std::string>& argv_prefix, const std::string& binary) {
    std::vector<std::string> argv = argv_prefix;
    argv.push_back(binary);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : cli_environment(options))
        env_strings.push_back(k + "=" + v);

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    if (!options.cwd.empty())
        posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
    // The test binary blocks SIGINT/SIGTERM for its watcher thread: the child must not inherit it.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
        sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> cargv, cenv;
    for (auto& a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env_strings)
        cenv.push_back(e.data());
    cenv.push_back(nullptr);
    int rc = posix_spawnp(&m_pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    ::close(err[1]);
    m_out = out[0];
    m_err = err[0];
    if (rc != 0) {
        m_pid = -1;
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    if (options.on_start)
        options.on_start(m_pid);
}

CliProcess::~CliProcess() {
    if (m_pid > 0 && !m_reaped) {
        ::kill(m_pid, SIGKILL);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
    }
    if (m_out >= 0)
        ::close(m_out);
    if (m_err >= 0)
        ::close(m_err);
}

bool CliProcess::pump(std::chrono::milliseconds slice) {
    std::vector<pollfd> fds;
    if (m_out >= 0)
        fds.push_back({m_out, POLLIN, 0});
    if (m_err >= 0)
        fds.push_back({m_err, POLLIN, 0});
    if (fds.empty())
        return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(slice.count())) <= 0)
        return true;
    char buf[4096];
    for (const auto& p : fds) {
        if (!p.revents)
            continue;
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n > 0) {
            (p.fd == m_out ? m_result.out : m_result.err).append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            int& fd = p.fd == m_out ? m_out : m_err;
            ::close(fd);
            fd = -1;
        }
    }
    return m_out >= 0 || m_err >= 0;
}

bool CliProcess::wait_for_stdout(const std::function<bool(const std::string&)>& done,
                                 std::chrono::milliseconds timeout) {
    return wait_for([&] { return done(m_result.out); }, timeout);
}

bool CliProcess::wait_for_output(const std::function<bool(const std::string&)>& done,
                                 std::chrono::milliseconds timeout) {
    return wait_for([&] { return done(m_result.all()); }, timeout);
}

bool CliProcess::wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        if (!pump(std::chrono::milliseconds(50)))
            return done();
    }
    return true;
}

void CliProcess::signal(int sig) const {
    if (m_pid > 0 && !m_reaped)
        ::kill(m_pid, sig);
}

CliResult CliProcess::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pump(std::chrono::milliseconds(50))) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(m_pid, SIGKILL);
            deadline = std::chrono::steady_clock::time_point::max();
        }
    }
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_reaped = true;
    m_result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return m_result;
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return cond();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

bool process_running(pid_t pid) {
    auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat)
        return false;
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size())
        return false;
    char state = (*stat)[close + 2];
    return state != 'Z' && state != 'X';
}

std::vector<pid_t> processes_using(const std::string& path) {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d)
        return out;
    while (auto* e = ::readdir(d)) {
        if (!std::isdigit(static_cast<unsigned char>(e->d_name[0])))
            continue;
        pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (!process_running(pid))
            continue;
        std::string proc = std::string("/proc/") + e->d_name;
        auto cmdline = fs::read_file(proc + "/cmdline").value_or("");
        for (auto& c : cmdline)
            if (c == '\0')
                c = ' ';
        char cwd[4096] = {0};
        ssize_t n = ::readlink((proc + "/cwd").c_str(), cwd, sizeof cwd - 1);
        std::string cwd_s = n > 0 ? std::string(cwd, static_cast<std::size_t>(n)) : "";
        if (cmdline.find(path) != std::string::npos || text::starts_with(cwd_s, path))
            out.push_back(pid);
    }
    ::closedir(d);
    return out;
}

}  // namespace rollsafe::test
