#include "core/migrations/directive.h"

#include <algorithm>
#include <cctype>

#include "core/base/duration.h"
#include "core/base/text.h"

namespace rollsafe {

const std::vector<std::string>& known_directive_keys() {
    static const std::vector<std::string> keys = {
        "no-transaction", "lock-timeout", "statement-timeout", "snapshot", "allow", "irreversible",
    };
    return keys;
}

namespace {

bool valid_rule_id(const std::string& id) {
    if (id.empty())
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '*';
    });
}

// Parses the part after "rollsafe:" of one line; returns an error message or empty.
std::string parse_one(std::string_view body, Directive& d) {
    std::size_t i = 0;
    while (i < body.size() && (std::isalnum(static_cast<unsigned char>(body[i])) || body[i] == '-'))
        ++i;
    d.key = text::to_lower(body.substr(0, i));
    if (i < body.size() && body[i] == '=') {
        std::size_t j = ++i;
        if (j < body.size() && body[j] == '"') {
            auto close = body.find('"', j + 1);
            if (close == std::string_view::npos)
                return "unterminated quoted value";
            d.value = std::string(body.substr(j + 1, close - j - 1));
            i = close + 1;
        } else {
            while (i < body.size() && !std::isspace(static_cast<unsigned char>(body[i])))
                ++i;
            d.value = std::string(body.substr(j, i - j));
        }
    }
    auto rest = text::trim(body.substr(i));
    if (!rest.empty()) {
        if (!text::starts_with(rest, "reason="))
            return "unexpected text \"" + std::string(rest) + "\"";
        auto r = rest.substr(7);
        if (r.empty() || r.front() != '"')
            return "reason must be quoted: reason=\"...\"";
        auto close = r.find('"', 1);
        if (close == std::string_view::npos)
            return "unterminated reason";
        d.reason = std::string(r.substr(1, close - 1));
        if (!text::trim(r.substr(close + 1)).empty())
            return "unexpected text after the reason";
    }
    const auto& keys = known_directive_keys();
    if (std::find(keys.begin(), keys.end(), d.key) == keys.end())
        return "unknown directive \"" + d.key + "\" (known: " + text::join(keys, ", ") + ")";
    if (d.key == "no-transaction" && !d.value.empty())
        return "no-transaction takes no value";
    if (d.key == "lock-timeout" || d.key == "statement-timeout") {
        if (!parse_duration(d.value))
            return d.key + " needs a duration such as 2s or 10m, not \"" + d.value + "\"";
    }
    if (d.key == "snapshot" && d.value != "none" && d.value != "touched" && d.value != "full")
        return "snapshot must be none, touched or full, not \"" + d.value + "\"";
    if (d.key == "allow") {
        if (!valid_rule_id(d.value))
            return "allow needs a rule id, e.g. allow=drop-column reason=\"...\"";
        if (text::trim(d.reason).empty())
            return "allow=" + d.value + " needs a reason=\"...\" for reviewers";
    }
    if (d.key == "irreversible" && text::trim(d.reason).empty())
        return "irreversible needs a reason=\"...\" explaining why there is no down script";
    return {};
}

}  // namespace

std::vector<Directive> parse_directives(const std::string& text, const std::string& path,
                                        int first_line, std::vector<Diagnostic>& problems) {
    std::vector<Directive> out;
    int line = first_line;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        auto raw = std::string_view(text).substr(
            pos, nl == std::string::npos ? std::string::npos : nl - pos);
        auto l = text::trim(raw);
        if (text::starts_with(l, "--")) {
            auto body = text::trim(l.substr(2));
            if (text::starts_with(body, "rollsafe:")) {
                Directive d;
                d.line = line;
                d.col = static_cast<int>(raw.find("--")) + 1;
                auto err = parse_one(body.substr(9), d);
                if (!err.empty()) {
                    problems.push_back(
                        {path, d.line, d.col, "bad directive: " + err,
                         "directives look like -- rollsafe:lock-timeout=2s (docs/migrations.md)"});
                } else {
                    out.push_back(d);
                }
            }
        }
        if (nl == std::string::npos)
            break;
        pos = nl + 1;
        ++line;
    }
    return out;
}

}  // namespace rollsafe
