#include "core/snapshot/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/base/log.h"

namespace rollsafe::snapshot {

std::string human_bytes(long long bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes < 0 ? 0 : bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%lld B", bytes < 0 ? 0 : bytes);
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

Progress::Options Progress::for_this_process() {
    Options o;
    o.terminal = ::isatty(STDERR_FILENO) != 0 && log::enabled(log::Level::info);
    o.draw = [](const std::string& line) {
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    };
    o.log = [](const std::string& line) { log::info("{}", line); };
    return o;
}

Progress::Progress(std::string label, long long total_bytes, Options options)
    : m_label(std::move(label)), m_total(total_bytes), m_options(std::move(options)) {
    m_start = m_options.now();
    m_last_log = m_start;
}

Progress::~Progress() {
    finish();
}

std::string Progress::bar(const std::string& label, long long done, long long total,
                          Millis elapsed) {
    const int width = 30;
    double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    if (frac > 0.99)
        frac = 0.99;  // catalog sizes are estimates: never claim done before it is
    int filled = static_cast<int>(frac * width);
    std::string b = label + " [";
    for (int i = 0; i < width; ++i)
        b += i < filled ? '=' : (i == filled ? '>' : ' ');
    char tail[96];
    std::snprintf(tail, sizeof tail, "] %3d%%  %s of ~%s  %.1fs", static_cast<int>(frac * 100),
                  human_bytes(done).c_str(), human_bytes(total).c_str(),
                  static_cast<double>(elapsed.count()) / 1000.0);
    return b + tail;
}

void Progress::update(long long done_bytes) {
    if (m_finished)
        return;
    m_done = done_bytes;
    auto now = m_options.now();
    auto elapsed = std::chrono::duration_cast<Millis>(now - m_start);
    if (elapsed < m_options.delay)
        return;
    if (m_options.terminal) {
        m_shown = true;
        if (m_options.draw)
            m_options.draw("\r" + bar(m_label, m_done, m_total, elapsed) + "\x1b[K");
    } else if (!m_shown || now - m_last_log >= m_options.log_interval) {
        m_shown = true;
        m_last_log = now;
        if (m_options.log)
            m_options.log(bar(m_label, m_done, m_total, elapsed));
    }
}

void Progress::finish() {
    if (m_finished)
        return;
    m_finished = true;
    if (m_shown && m_options.terminal && m_options.draw)
        m_options.draw("\r\x1b[K");
}

}  // namespace rollsafe::snapshot
