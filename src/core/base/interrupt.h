#pragma once

#include <functional>
#include <memory>

#include "core/base/duration.h"

namespace rollsafe::interrupt {

enum class Mode {
    cooperative,       // set the flag and run hooks; the program unwinds and exits 13 itself
    exit_after_hooks,  // run hooks, then end the process (test binaries, `rollsafe sandbox`)
};

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and starts a watcher thread that
// receives them; ignores SIGPIPE (writes to a closed pipe fail with EPIPE instead). Call first
// thing in main(), before other threads start, so they inherit the mask.
void install(Mode mode = Mode::cooperative);

// Returns true once SIGINT/SIGTERM/SIGHUP has arrived.
bool requested();
// Returns the signal that arrived, or 0.
int signal_number();
// Throws Error(INTERRUPTED) when a signal has arrived.
void check();
// Sleeps for d or until a signal arrives; returns false when interrupted.
bool sleep_for(Millis d);
// Marks the process as interrupted (tests and fencing use it to stop work the same way).
void request(int signal_number);

// A registered hook; unregisters on destruction.
class Hook {
  public:
    Hook() = default;
    explicit Hook(long id) : m_id(id) {}
    Hook(Hook&& other) noexcept : m_id(other.m_id) { other.m_id = 0; }
    Hook& operator=(Hook&& other) noexcept;
    Hook(const Hook&) = delete;
    Hook& operator=(const Hook&) = delete;
    ~Hook();

  private:
    long m_id = 0;
};

// Runs fn on the watcher thread when a signal arrives (cancel a query, stop a child). fn must be
// thread-safe and quick. Returns the registration; keep it alive as long as fn is valid: its
// destructor waits for a running fn to return.
[[nodiscard]] Hook on_interrupt(std::function<void()> fn);

}  // namespace rollsafe::interrupt
