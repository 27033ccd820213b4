#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rollsafe::log {

enum class Level { trace, debug, info, warn, error };
enum class Format { text, json };

struct Options {
    Format format = Format::text;
    int verbosity = 0;  // -1 quiet (warnings and errors), 0 normal, 1 debug, 2 trace
    bool color = true;  // text only; also off when NO_COLOR is set or stderr is not a terminal
};

using Fields = std::vector<std::pair<std::string, std::string>>;

// Sets up the process logger (stderr). Safe to call again to change the options.
void init(const Options& options);

// Writes one line (or one JSON object) after redacting passwords from message and fields.
void write(Level level, std::string_view message, const Fields& fields = {});

// Returns true when lines of this level are written: lets callers skip building costly messages.
bool enabled(Level level);

// Returns the format init() set (text until it is called).
Format format();

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::debug))
        write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

// Returns s as the body of a JSON string (quotes not included).
std::string json_escape(std::string_view s);

}  // namespace rollsafe::log
