#include "core/base/text.h"

#include <algorithm>
#include <cctype>

namespace rollsafe::text {

std::string_view trim(std::string_view s) {
    const char* ws = " \t\r\n\f\v";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos)
        return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i)
            out += sep;
        out += parts[i];
    }
    return out;
}

std::size_t find_invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    const auto n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len;
        unsigned int cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + len > n)
            return i;
        for (std::size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Reject overlong forms, surrogates and values beyond U+10FFFF.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += len;
    }
    return std::string_view::npos;
}

LineCol line_col_at(std::string_view s, std::size_t byte_offset) {
    LineCol lc;
    byte_offset = std::min(byte_offset, s.size());
    for (std::size_t i = 0; i < byte_offset; ++i) {
        char c = s[i];
        if (c == '\n') {
            ++lc.line;
            lc.col = 1;
        } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            ++lc.col;  // count characters: skip UTF-8 continuation bytes
        }
    }
    return lc;
}

std::size_t byte_offset_of_char(std::string_view s, std::size_t char_index) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
            continue;
        if (chars == char_index)
            return i;
        ++chars;
    }
    return s.size();
}

std::string_view line_text(std::string_view s, int line) {
    if (line < 1)
        return {};
    std::size_t start = 0;
    for (int l = 1; l < line; ++l) {
        auto nl = s.find('\n', start);
        if (nl == std::string_view::npos)
            return {};
        start = nl + 1;
    }
    auto end = s.find('\n', start);
    auto out =
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!out.empty() && out.back() == '\r')
        out.remove_suffix(1);
    return out;
}

std::string quote_ident(std::string_view ident) {
    std::string out = "\"";
    for (char c : ident) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string quote_literal(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

}  // namespace rollsafe::text
