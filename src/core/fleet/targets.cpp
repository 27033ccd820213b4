#include "core/fleet/targets.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/base/toml_reader.h"

namespace rollsafe::fleet {
namespace {

const char* kTargetKeysHint = "a [[target]] has name, url (or service), wave and labels";

// Names end up in logs, metrics labels and Kubernetes manifests: keep them to a safe alphabet.
bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 63 || !std::isalnum(static_cast<unsigned char>(s[0])))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

struct Draft {
    Target target;
    bool has_name = false;
    int wave_line = 0, wave_col = 0;
    int url_line = 0, url_col = 0;
    int first_line = 0;
};

// Splits "target[12].labels.region" into 12 and "labels.region"; false when it is not that shape.
bool split_target_key(const std::string& key, std::size_t& index, std::string& rest) {
    if (!text::starts_with(key, "target["))
        return false;
    auto close = key.find(']');
    if (close == std::string::npos || close == 7)
        return false;
    std::string digits = key.substr(7, close - 7);
    if (!std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return false;
    index = static_cast<std::size_t>(std::stoul(digits));
    rest = close + 1 < key.size() && key[close + 1] == '.' ? key.substr(close + 2)
                                                           : key.substr(close + 1);
    return true;
}

}  // namespace

std::string Target::database_url() const {
    return url.empty() ? "service=" + service : url;
}

Config target_config(const Config& base, const Target& target) {
    Config c = base;
    c.database_url = target.database_url();
    c.origin["database.url"] = "target " + target.name;
    return c;
}

TargetsFile parse_targets(const std::string& text, const std::string& origin) {
    TargetsFile out;
    out.path = origin;
    std::vector<Diagnostic> problems;
    auto problem = [&](const TomlValue& v, std::string message, std::string hint) {
        problems.push_back({origin, v.line, v.col, std::move(message), std::move(hint)});
    };
    std::vector<Draft> drafts;
    bool have_order = false;
    for (const auto& v : read_toml(text, origin)) {
        std::size_t index = 0;
        std::string rest;
        if (split_target_key(v.key, index, rest)) {
            if (drafts.size() <= index)
                drafts.resize(index + 1);
            auto& d = drafts[index];
            if (d.first_line == 0 || v.line < d.first_line)
                d.first_line = v.line;
            if (rest.empty())
                continue;  // an empty [[target]]: reported below
            const bool is_string = v.type == TomlValue::Type::string;
            if (rest == "name" || rest == "url" || rest == "service" || rest == "wave") {
                if (!is_string) {
                    problem(v, rest + " must be a string, not " + toml_type_name(v.type),
                            kTargetKeysHint);
                    continue;
                }
                if (rest == "name") {
                    d.target.name = v.text;
                    d.has_name = true;
                    if (!valid_name(v.text))
                        problem(v, "target name \"" + v.text + "\" is not valid",
                                "use 1 to 63 letters, digits, '-', '_' or '.', starting with a "
                                "letter or digit");
                } else if (rest == "url") {
                    d.target.url = v.text;
                    d.url_line = v.line;
                    d.url_col = v.col;
                } else if (rest == "service") {
                    d.target.service = v.text;
                    if (!valid_name(v.text))
                        problem(v, "service name \"" + v.text + "\" is not valid",
                                "a pg_service.conf section name: letters, digits, '-', '_' or '.'");
                } else {
                    d.target.wave = v.text;
                    d.wave_line = v.line;
                    d.wave_col = v.col;
                    if (!valid_name(v.text))
                        problem(
                            v, "wave name \"" + v.text + "\" is not valid",
                            "use letters, digits, '-', '_' or '.', e.g. \"canary\" or \"wave-1\"");
                }
            } else if (rest == "labels" && v.type == TomlValue::Type::table) {
                continue;  // labels = {}
            } else if (text::starts_with(rest, "labels.")) {
                std::string label = rest.substr(7);
                if (!is_string) {
                    problem(
                        v,
                        "label \"" + label + "\" must be a string, not " + toml_type_name(v.type),
                        "quote the value: " + label + " = \"" + v.text + "\"");
                } else if (label == "name" || label == "wave") {
                    problem(v,
                            "\"" + label + "\" cannot be a label: --select " + label +
                                "=... already means the target's " + label,
                            "rename the label");
                } else {
                    d.target.labels[label] = v.text;
                }
            } else {
                problem(v, "unknown target key \"" + rest + "\"", kTargetKeysHint);
            }
            continue;
        }
        if (v.key == "waves.order") {
            if (v.type != TomlValue::Type::array) {
                problem(v,
                        "waves.order must be an array of wave names, not " +
                            std::string(toml_type_name(v.type)),
                        "e.g. order = [\"canary\", \"wave-1\"]");
                continue;
            }
            have_order = true;
            std::set<std::string> seen;
            for (const auto& w : v.items) {
                if (!valid_name(w))
                    problem(v, "wave name \"" + w + "\" is not valid",
                            "use letters, digits, '-', '_' or '.'");
                else if (!seen.insert(w).second)
                    problem(v, "wave \"" + w + "\" is listed twice in waves.order",
                            "list each wave once");
                else
                    out.wave_order.push_back(w);
            }
            continue;
        }
        if ((v.key == "waves" || v.key.empty()) && v.type == TomlValue::Type::table)
            continue;  // empty [waves] or file
        if (v.key == "target" || text::starts_with(v.key, "target.")) {
            problem(v, "targets must be an array of tables: write [[target]] before each one",
                    kTargetKeysHint);
            continue;
        }
        problem(v, "unknown key \"" + v.key + "\"",
                "a targets file holds [[target]] tables and [waves] order");
    }

    std::map<std::string, int> first_line_of;
    std::set<std::string> waves_used;
    for (auto& d : drafts) {
        auto& t = d.target;
        t.line = d.first_line;
        auto at = [&](int line, int col, std::string message, std::string hint) {
            problems.push_back({origin, line ? line : d.first_line, line ? col : 1,
                                std::move(message), std::move(hint)});
        };
        std::string who = t.name.empty() ? "a target" : "target \"" + t.name + "\"";
        if (!d.has_name)
            at(0, 0, "a target has no name", "add name = \"...\" (unique in the file)");
        if (d.has_name && !t.name.empty()) {
            auto [it, fresh] = first_line_of.emplace(t.name, t.line);
            if (!fresh)
                at(0, 0, "target name \"" + t.name + "\" is used twice",
                   "names must be unique; the first is at line " + std::to_string(it->second));
        }
        if (t.url.empty() == t.service.empty()) {
            at(0, 0, who + " needs exactly one of url and service",
               "url = \"postgres://app@db:5432/shop\" or service = \"shop-eu-1\" "
               "(pg_service.conf)");
        } else if (!t.url.empty()) {
            try {
                auto dsn = Dsn::parse(t.url);
                auto password = dsn.get("password");
                if (password && !password->empty())
                    at(d.url_line, d.url_col, who + ": the url carries a password",
                       "keep passwords out of the targets file: use a PGPASSFILE (~/.pgpass) or a "
                       "service file");
            } catch (const Error& e) {
                at(d.url_line, d.url_col, who + ": " + e.what(),
                   "a postgres:// URL or key=value conninfo");
            }
        }
        if (d.wave_line && !have_order)
            at(d.wave_line, d.wave_col,
               who + " names wave \"" + t.wave + "\" but the file has no [waves] order",
               "add [waves] order = [...] listing the waves in the order they run");
        else if (d.wave_line && std::find(out.wave_order.begin(), out.wave_order.end(), t.wave) ==
                                    out.wave_order.end())
            at(d.wave_line, d.wave_col, who + ": wave \"" + t.wave + "\" is not in [waves] order",
               out.wave_order.empty() ? "list it in [waves] order"
                                      : "waves.order lists " + text::join(out.wave_order, ", "));
        waves_used.insert(t.wave);
        out.targets.push_back(t);
    }
    if (drafts.empty() && problems.empty())
        problems.push_back({origin, 0, 0, "no targets",
                            "add a [[target]] table with name and url for each database"});
    if (waves_used.count(kDefaultWave) && std::find(out.wave_order.begin(), out.wave_order.end(),
                                                    kDefaultWave) == out.wave_order.end())
        out.wave_order.push_back(kDefaultWave);  // targets without a wave run last

    if (!problems.empty()) {
        std::stable_sort(problems.begin(), problems.end(),
                         [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
        std::string first = problems.front().location_and_message();
        std::string msg = problems.size() == 1
                              ? first
                              : std::to_string(problems.size()) +
                                    " problems in the targets file; first: " + first;
        throw Error(ExitCode::usage, msg, problems.front().hint, problems);
    }
    return out;
}

TargetsFile read_targets(const std::string& path) {
    int err = 0;
    auto content = fs::read_file(path, &err);
    if (!content)
        throw usage_error(path + ": cannot read the targets file: " + std::strerror(err),
                          "check the --targets path");
    return parse_targets(*content, path);
}

Selector parse_selector(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        throw usage_error("--select \"" + text + "\" is not label=value",
                          "e.g. --select region=eu, --select wave=canary or --select name=eu-1");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<Target> select_targets(const TargetsFile& file,
                                   const std::vector<Selector>& selectors) {
    std::map<std::string, std::set<std::string>> wanted;  // key -> accepted values
    for (const auto& s : selectors)
        wanted[s.key].insert(s.value);
    auto value_of = [](const Target& t, const std::string& key) -> const std::string* {
        if (key == "name")
            return &t.name;
        if (key == "wave")
            return &t.wave;
        auto it = t.labels.find(key);
        return it == t.labels.end() ? nullptr : &it->second;
    };
    for (const auto& [key, values] : wanted) {
        bool known = std::any_of(file.targets.begin(), file.targets.end(),
                                 [&](const Target& t) { return value_of(t, key) != nullptr; });
        if (!known) {
            std::set<std::string> labels;
            for (const auto& t : file.targets)
                for (const auto& [k, v] : t.labels)
                    labels.insert(k);
            throw usage_error(
                "--select " + key + "=...: no target in " + file.path + " has a label \"" + key +
                    "\"",
                labels.empty()
                    ? std::string("select by name=... or wave=...")
                    : "labels in the file: " +
                          text::join(std::vector<std::string>(labels.begin(), labels.end()), ", ") +
                          " (and name, wave)");
        }
    }
    std::vector<Target> out;
    for (const auto& t : file.targets) {
        bool match = true;
        for (const auto& [key, values] : wanted) {
            const std::string* v = value_of(t, key);
            match = match && v && values.count(*v);
        }
        if (match)
            out.push_back(t);
    }
    if (out.empty()) {
        std::vector<std::string> terms;
        for (const auto& s : selectors)
            terms.push_back(s.key + "=" + s.value);
        throw usage_error(
            "no target in " + file.path + " matches --select " + text::join(terms, " --select "),
            "terms with different labels must all match; repeat a label for alternatives");
    }
    return out;
}

}  // namespace rollsafe::fleet
