#include "core/base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/text.h"

extern char** environ;

namespace rollsafe {
namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() {
        if (::pipe2(fd, O_CLOEXEC) != 0)
            throw Error(ExitCode::internal, "pipe failed");
    }
    ~Pipe() {
        for (int f : fd)
            if (f >= 0)
                ::close(f);
    }
    void close_end(int i) {
        if (fd[i] >= 0)
            ::close(fd[i]);
        fd[i] = -1;
    }
};

std::vector<std::string> build_env(const ProcessSpec& spec) {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            continue;
        env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& k : spec.unset_env)
        env.erase(k);
    for (const auto& [k, v] : spec.env)
        env[k] = v;
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

// Writes to a pipe whose reader has gone: fails with EPIPE instead of killing the process with
// SIGPIPE, whatever signal set-up the process has (SIGPIPE of a write goes to the writing
// thread, so blocking it here and taking it back is enough).
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t w = ::write(fd, data, size);
    int err = errno;
    if (w < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_only, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return w;
}

}  // namespace

std::string ProcessResult::describe() const {
    std::string out;
    if (timed_out)
        out = "timed out";
    else if (interrupted)
        out = "interrupted";
    else if (term_signal)
        out = "killed by signal " + std::to_string(term_signal);
    else
        out = "exited with " + std::to_string(exit_code);
    // The last line that says "error" (pg_dump ends with "detail: Query was: ..." after it),
    // else the last line.
    std::string last, last_error;
    for (const auto& line : text::split(std::string(text::trim(err)), '\n')) {
        auto l = std::string(text::trim(line));
        if (l.empty())
            continue;
        last = l;
        if (l.find("error:") != std::string::npos || l.find("ERROR:") != std::string::npos ||
            l.find("FATAL:") != std::string::npos)
            last_error = l;
    }
    if (!last.empty())
        out += ": " + (last_error.empty() ? last : last_error);
    return out;
}

ProcessResult PosixProcessRunner::run(const ProcessSpec& spec) {
    if (spec.argv.empty())
        throw Error(ExitCode::internal, "empty argv");
    Pipe in, out, err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
    if (!spec.stdout_path.empty()) {
        posix_spawn_file_actions_addopen(&actions, 1, spec.stdout_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
    } else {
        posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
    }
    if (spec.merge_stderr && spec.stdout_path.empty())
        posix_spawn_file_actions_adddup2(&actions, out.fd[1], 2);
    else
        posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
    if (!spec.cwd.empty())
        posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The parent blocks SIGINT/SIGTERM for its watcher thread; children must not inherit that.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (spec.new_process_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&attr, 0);
    }
    posix_spawnattr_setflags(&attr, flags);

    std::vector<char*> argv;
    for (const auto& a : spec.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    auto env_strings = build_env(spec);
    std::vector<char*> envp;
    for (const auto& e : env_strings)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        throw Error(ExitCode::internal, "cannot start " + spec.argv[0] + ": " + std::strerror(rc),
                    "is it installed and on PATH?");
    }
    if (spec.on_start)
        spec.on_start(pid);
    in.close_end(0);
    out.close_end(1);
    err.close_end(1);

    // Feed stdin (small inputs only) and close it so the child sees EOF.
    std::size_t in_off = 0;
    if (spec.stdin_data.empty())
        in.close_end(1);
    else
        ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);

    ProcessResult result;
    using clock = std::chrono::steady_clock;
    auto start = clock::now();
    auto last_tick = start;
    bool term_sent = false;
    clock::time_point term_at{};
    bool out_open = spec.stdout_path.empty();
    bool err_open = true;
    char buf[65536];
    while (out_open || err_open || in.fd[1] >= 0) {
        std::vector<pollfd> fds;
        if (out_open)
            fds.push_back({out.fd[0], POLLIN, 0});
        if (err_open)
            fds.push_back({err.fd[0], POLLIN, 0});
        if (in.fd[1] >= 0)
            fds.push_back({in.fd[1], POLLOUT, 0});
        int n = ::poll(fds.data(), fds.size(), 200);
        if (n < 0 && errno != EINTR)
            break;
        for (auto& p : fds) {
            if (!p.revents)
                continue;
            if (p.fd == in.fd[1]) {
                ssize_t w = write_without_sigpipe(in.fd[1], spec.stdin_data.data() + in_off,
                                                  spec.stdin_data.size() - in_off);
                if (w > 0)
                    in_off += static_cast<std::size_t>(w);
                if (w < 0 && errno != EAGAIN)
                    in.close_end(1);
                if (in_off >= spec.stdin_data.size())
                    in.close_end(1);
                continue;
            }
            ssize_t r = ::read(p.fd, buf, sizeof buf);
            if (r > 0) {
                (p.fd == out.fd[0] ? result.out : result.err)
                    .append(buf, static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (p.fd == out.fd[0])
                    out_open = false;
                else
                    err_open = false;
            }
        }
        auto now = clock::now();
        if (spec.on_tick && now - last_tick >= std::chrono::milliseconds(200)) {
            last_tick = now;
            spec.on_tick();
        }
        bool expired = spec.timeout.count() > 0 && now - start > spec.timeout;
        bool stop = spec.kill_on_interrupt && interrupt::requested();
        if ((expired || stop) && !term_sent) {
            result.timed_out = expired;
            result.interrupted = stop;
            ::kill(pid, SIGTERM);
            term_sent = true;
            term_at = now;
        } else if (term_sent && now - term_at > std::chrono::seconds(5)) {
            ::kill(pid, SIGKILL);
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        result.term_signal = WTERMSIG(status);
    return result;
}

ProcessRunner& default_process_runner() {
    static PosixProcessRunner runner;
    return runner;
}

std::optional<std::string> find_on_path(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        if (::access(name.c_str(), X_OK) == 0)
            return name;
        return std::nullopt;
    }
    const char* path = std::getenv("PATH");
    if (!path)
        return std::nullopt;
    for (const auto& dir : text::split(path, ':')) {
        if (dir.empty())
            continue;
        std::string candidate = dir + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

}  // namespace rollsafe
