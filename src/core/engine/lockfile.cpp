#include "core/engine/lockfile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"

namespace rollsafe {
namespace {

std::string now_iso() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

nlohmann::json LockfileBody::to_json() const {
    return {{"state", state},      {"pid", holder.pid},
            {"host", holder.host}, {"process_start_time", holder.start_time},
            {"command", command},  {"started_at", started_at},
            {"release", release},  {"version", version},
            {"reason", reason},    {"exit_code", exit_code}};
}

namespace {

// Returns an integer field in [lo, hi]; nullopt when it is missing, not an integer or out of
// range (nlohmann's get<int>() of 1e30 or of a float is undefined behaviour).
std::optional<std::int64_t> int_field(const nlohmann::json& j, const char* key, std::int64_t lo,
                                      std::int64_t hi) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer())
        return std::nullopt;
    if (it->is_number_unsigned())
        return it->get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                   ? std::optional<std::int64_t>(
                         static_cast<std::int64_t>(it->get<std::uint64_t>()))
                   : std::nullopt;
    auto v = it->get<std::int64_t>();
    return v >= lo && v <= hi ? std::optional<std::int64_t>(v) : std::nullopt;
}

}  // namespace

std::optional<LockfileBody> LockfileBody::parse(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return std::nullopt;
    try {
        LockfileBody b;
        b.state = j.at("state").get<std::string>();
        if (b.state != "running" && b.state != "frozen")
            return std::nullopt;
        auto pid = int_field(j, "pid", 1, std::numeric_limits<int>::max());
        if (!pid)
            return std::nullopt;
        b.holder.pid = static_cast<int>(*pid);
        b.holder.host = j.at("host").get<std::string>();
        b.holder.start_time = static_cast<std::uint64_t>(
            int_field(j, "process_start_time", 0, std::numeric_limits<std::int64_t>::max())
                .value_or(0));
        b.command = j.value("command", "");
        b.started_at = j.value("started_at", "");
        b.release = j.value("release", "");
        b.version = j.value("version", "");
        b.reason = j.value("reason", "");
        b.exit_code = static_cast<int>(int_field(j, "exit_code", 0, 255).value_or(0));
        return b;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

const char* LockfileStatus::name(Kind k) {
    switch (k) {
        case Kind::absent:
            return "absent";
        case Kind::running:
            return "running";
        case Kind::stale:
            return "stale";
        case Kind::frozen:
            return "frozen";
        case Kind::unreadable:
            return "unreadable";
    }
    return "absent";
}

LockfileStatus read_lockfile(const std::string& path) {
    LockfileStatus st;
    if (path.empty())
        return st;
    int err = 0;
    auto content = fs::read_file(path, &err);
    if (!content) {
        if (err != ENOENT) {
            st.kind = LockfileStatus::Kind::unreadable;
            st.detail = std::strerror(err);
        }
        return st;
    }
    st.body = LockfileBody::parse(*content);
    if (!st.body) {
        st.kind = LockfileStatus::Kind::unreadable;
        st.detail = "not a rollsafe lockfile (garbage or truncated)";
        return st;
    }
    if (st.body->state == "frozen") {
        st.kind = LockfileStatus::Kind::frozen;
        return st;
    }
    switch (liveness(st.body->holder)) {
        case Liveness::alive:
            st.kind = LockfileStatus::Kind::running;
            break;
        case Liveness::dead:
            st.kind = LockfileStatus::Kind::stale;
            st.detail = "process " + std::to_string(st.body->holder.pid) + " that wrote it is gone";
            break;
        case Liveness::unknown_other_host:
            st.kind = LockfileStatus::Kind::running;
            st.detail =
                "written on another host (" + st.body->holder.host + "); cannot check its process";
            break;
    }
    return st;
}

Lockfile::Lockfile(std::string path) : m_path(std::move(path)) {}

Lockfile::~Lockfile() {
    try {
        finish();
    } catch (...) {
    }
}

bool Lockfile::acquire(const std::string& command, const std::string& release, Millis wait) {
    if (m_path.empty())
        return true;  // lockfile.path = "" disables it
    try {
        fs::make_dirs(parent_of(m_path), 0700);
    } catch (const Error& e) {
        throw usage_error(std::string("lockfile: ") + e.what(),
                          "set lockfile.path to a writable place, or \"\" to disable it");
    }
    std::string guard = m_path + ".flock";
    m_fd = ::open(guard.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_fd < 0)
        throw usage_error("lockfile: cannot open " + guard + ": " + std::strerror(errno),
                          "set lockfile.path to a writable place, or \"\" to disable it");
    auto deadline = std::chrono::steady_clock::now() + wait;
    bool announced = false;
    while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            throw usage_error("lockfile: cannot lock " + guard + ": " + std::strerror(errno));
        if (!announced) {
            auto st = read_lockfile(m_path);
            log::info("waiting for the lockfile {} held by {} (pid {})", m_path,
                      st.body ? st.body->command : std::string("another rollsafe"),
                      st.body ? st.body->holder.pid : 0);
            announced = true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::close(m_fd);
            m_fd = -1;
            return false;
        }
        if (!interrupt::sleep_for(Millis(100)))
            interrupt::check();
    }
    m_found = read_lockfile(m_path);
    if (m_found.kind == LockfileStatus::Kind::stale)
        log::warn("stale lockfile {}: {} ({} started {}); taking it over", m_path, m_found.detail,
                  m_found.body->command, m_found.body->started_at);
    if (m_found.kind == LockfileStatus::Kind::unreadable)
        log::warn("lockfile {} is {}; replacing it", m_path, m_found.detail);
    m_held = true;
    m_body.state = "running";
    m_body.holder = ProcessIdentity::current();
    m_body.command = command;
    m_body.started_at = now_iso();
    m_body.release = release;
    write(m_body);
    return true;
}

void Lockfile::write(const LockfileBody& body) {
    try {
        fs::write_file_atomic(m_path, body.to_json().dump(2) + "\n", 0600);
    } catch (const Error& e) {
        throw usage_error(std::string("lockfile: ") + e.what(),
                          "set lockfile.path to a writable place, or \"\" to disable it");
    }
}

void Lockfile::set_release(const std::string& release) {
    if (!m_held || m_frozen)
        return;
    m_body.release = release;
    write(m_body);
}

void Lockfile::set_frozen(const std::string& reason, int exit_code, const std::string& version) {
    if (m_path.empty())
        return;
    m_frozen = true;
    LockfileBody b = m_body;
    if (b.started_at.empty()) {
        b.holder = ProcessIdentity::current();
        b.started_at = now_iso();
    }
    b.state = "frozen";
    b.reason = reason;
    b.exit_code = exit_code;
    b.version = version;
    write(b);
}

void Lockfile::finish() {
    if (m_held && !m_frozen)
        ::unlink(m_path.c_str());
    m_held = false;
    if (m_fd >= 0) {
        ::flock(m_fd, LOCK_UN);
        ::close(m_fd);
        m_fd = -1;
    }
}

}  // namespace rollsafe
