#include "core/base/duration.h"

#include <cctype>
#include <cstdio>

namespace rollsafe {

std::optional<Millis> parse_duration(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    bool all_digits = true;
    for (char c : text)
        all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
    if (all_digits) {
        if (text.size() > 9)
            return std::nullopt;
        return Millis(std::stoll(std::string(text)) * 1000);
    }
    long long total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
            ++i;
        if (i == start || i - start > 9)
            return std::nullopt;
        long long n = std::stoll(std::string(text.substr(start, i - start)));
        std::size_t ustart = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
            ++i;
        auto unit = text.substr(ustart, i - ustart);
        if (unit == "ms")
            total += n;
        else if (unit == "s")
            total += n * 1000;
        else if (unit == "m" || unit == "min")
            total += n * 60'000;
        else if (unit == "h")
            total += n * 3'600'000;
        else if (unit == "d")
            total += n * 86'400'000;
        else
            return std::nullopt;
    }
    return Millis(total);
}

std::string format_duration(Millis d) {
    auto ms = d.count();
    if (ms % 3'600'000 == 0 && ms != 0)
        return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0 && ms != 0)
        return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0)
        return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string human_duration(Millis d) {
    long long ms = d.count();
    char buf[64];
    if (ms < 60'000) {
        std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000.0);
    } else if (ms < 3'600'000) {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", ms / 60'000, (ms / 1000) % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", ms / 3'600'000, (ms / 60'000) % 60);
    }
    return buf;
}

}  // namespace rollsafe
