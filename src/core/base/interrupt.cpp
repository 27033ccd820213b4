#include "core/base/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/base/error.h"

namespace rollsafe::interrupt {
namespace {

std::atomic<int> g_signal{0};
std::mutex g_mutex;
// Held while hooks run, so that a Hook being destroyed waits for its function to return.
std::recursive_mutex g_run_mutex;
std::condition_variable g_cv;
std::map<long, std::function<void()>> g_hooks;
long g_next_id = 1;
Mode g_mode = Mode::cooperative;
bool g_installed = false;

void run_hooks() {
    std::lock_guard<std::recursive_mutex> running(g_run_mutex);
    std::map<long, std::function<void()>> hooks;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        hooks = g_hooks;
    }
    for (auto& [id, fn] : hooks) {
        {
            // Skip hooks unregistered while earlier ones ran.
            std::lock_guard<std::mutex> lock(g_mutex);
            if (!g_hooks.count(id))
                continue;
        }
        try {
            fn();
        } catch (...) {
        }
    }
}

void watcher(sigset_t set) {
    int count = 0;
    while (true) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        ++count;
        if (count > 1)
            _exit(static_cast<int>(ExitCode::interrupted));  // second signal: now
        request(sig);
        run_hooks();
        if (g_mode == Mode::exit_after_hooks)
            _exit(128 + sig);
    }
}

}  // namespace

Hook& Hook::operator=(Hook&& other) noexcept {
    if (this != &other) {
        this->~Hook();
        m_id = other.m_id;
        other.m_id = 0;
    }
    return *this;
}

Hook::~Hook() {
    if (m_id) {
        std::lock_guard<std::recursive_mutex> running(g_run_mutex);
        std::lock_guard<std::mutex> lock(g_mutex);
        g_hooks.erase(m_id);
        m_id = 0;
    }
}

void install(Mode mode) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_mode = mode;
    if (g_installed)
        return;
    g_installed = true;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A child that exits before reading its stdin must not kill us: write() returns EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    std::thread(watcher, set).detach();
}

bool requested() {
    return g_signal.load() != 0;
}
int signal_number() {
    return g_signal.load();
}

void request(int sig) {
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_signal.store(sig);
    }
    g_cv.notify_all();
}

void check() {
    if (requested()) {
        throw Error(ExitCode::interrupted,
                    "interrupted by signal " + std::to_string(signal_number()),
                    "the running statement was cancelled and its transaction rolled back; "
                    "re-running is safe");
    }
}

bool sleep_for(Millis d) {
    std::unique_lock<std::mutex> lock(g_mutex);
    return !g_cv.wait_for(lock, d, [] { return g_signal.load() != 0; });
}

Hook on_interrupt(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(g_mutex);
    long id = g_next_id++;
    g_hooks.emplace(id, std::move(fn));
    return Hook(id);
}

}  // namespace rollsafe::interrupt
