#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "core/base/duration.h"

namespace rollsafe::snapshot {

// Returns a size for people: "512 B", "1.5 MB", "2.0 GB".
std::string human_bytes(long long bytes);

// Progress of long work (dumps, reads, restores) in bytes against an expected total: a bar on
// stderr when it is a terminal, shown once the work has run for a second; otherwise a log line
// every ten seconds. Quick work shows nothing.
class Progress {
  public:
    using Clock = std::chrono::steady_clock;
    struct Options {
        bool terminal = false;
        Millis delay{1000};
        Millis log_interval{10000};
        std::function<void(const std::string&)> draw;  // writes a bar line (with '\r', no newline)
        std::function<void(const std::string&)> log;   // writes a log line
        std::function<Clock::time_point()> now = [] { return Clock::now(); };
    };
    // Returns options for this process: a bar when stderr is a terminal and logs are text.
    static Options for_this_process();

    Progress(std::string label, long long total_bytes, Options options = for_this_process());
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // Records the bytes done so far and redraws or logs when it is time.
    void update(long long done_bytes);
    // Sets the expected total (when it becomes known later).
    void set_total(long long total_bytes) { m_total = total_bytes; }
    // Ends the bar line (if one was drawn).
    void finish();
    // True once the work has run long enough for progress to show.
    bool visible() const { return m_shown; }

    // Returns the bar text for a state (exposed for tests).
    static std::string bar(const std::string& label, long long done, long long total,
                           Millis elapsed);

  private:
    std::string m_label;
    long long m_total;
    long long m_done = 0;
    Options m_options;
    Clock::time_point m_start;
    Clock::time_point m_last_log;
    bool m_shown = false;
    bool m_finished = false;
};

}  // namespace rollsafe::snapshot
