#include "core/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/base/dsn.h"

namespace rollsafe::log {
namespace {

std::mutex g_mutex;
Options g_options;
std::shared_ptr<spdlog::logger> g_logger;

spdlog::level::level_enum to_spdlog(Level l) {
    switch (l) {
        case Level::trace:
            return spdlog::level::trace;
        case Level::debug:
            return spdlog::level::debug;
        case Level::info:
            return spdlog::level::info;
        case Level::warn:
            return spdlog::level::warn;
        case Level::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

const char* level_name(Level l) {
    switch (l) {
        case Level::trace:
            return "trace";
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "info";
}

std::string utc_now_iso() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

spdlog::logger& logger() {
    if (!g_logger) {
        auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        g_logger = std::make_shared<spdlog::logger>("rollsafe", sink);
        g_logger->set_pattern("%^%v%$");
        g_logger->set_level(spdlog::level::info);
    }
    return *g_logger;
}

}  // namespace

void init(const Options& options) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_options = options;
    bool color = options.color && options.format == Format::text && !std::getenv("NO_COLOR") &&
                 isatty(STDERR_FILENO);
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
        color ? spdlog::color_mode::always : spdlog::color_mode::never);
    g_logger = std::make_shared<spdlog::logger>("rollsafe", sink);
    g_logger->set_pattern("%^%v%$");
    Level min = Level::info;
    if (options.verbosity < 0)
        min = Level::warn;
    if (options.verbosity == 1)
        min = Level::debug;
    if (options.verbosity >= 2)
        min = Level::trace;
    g_logger->set_level(to_spdlog(min));
    g_logger->flush_on(spdlog::level::trace);
}

bool enabled(Level level) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return logger().should_log(to_spdlog(level));
}

Format format() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_options.format;
}

void write(Level level, std::string_view message, const Fields& fields) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto& lg = logger();
    if (!lg.should_log(to_spdlog(level)))
        return;
    std::string safe = redact(message);
    std::string line;
    if (g_options.format == Format::json) {
        line = "{\"ts\":\"" + utc_now_iso() + "\",\"level\":\"" + level_name(level) +
               "\",\"msg\":\"" + json_escape(safe) + "\"";
        for (const auto& [k, v] : fields) {
            line += ",\"" + json_escape(k) + "\":\"" + json_escape(redact(v)) + "\"";
        }
        line += "}";
    } else {
        if (level == Level::warn)
            line = "warning: ";
        if (level == Level::error)
            line = "error: ";
        line += safe;
        for (const auto& [k, v] : fields)
            line += " " + k + "=" + redact(v);
    }
    lg.log(to_spdlog(level), "{}", line);
}

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out;
}

}  // namespace rollsafe::log
