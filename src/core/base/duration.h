#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rollsafe {

using Millis = std::chrono::milliseconds;

// Parses "250ms", "2s", "15m", "1h", "1h30m" or a bare number of seconds; nullopt when malformed.
std::optional<Millis> parse_duration(std::string_view text);

// Formats a duration the way parse_duration reads it back ("1500ms", "2s", "15m").
std::string format_duration(Millis d);

// Formats a duration for people: "0.42s", "3m12s".
std::string human_duration(Millis d);

}  // namespace rollsafe
