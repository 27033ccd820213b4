#include "core/base/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>

#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/base/toml_reader.h"

extern char** environ;

namespace rollsafe {
namespace {

enum class Kind { string, duration, integer, boolean, choice };

struct Key {
    const char* name;
    Kind kind;
    const char* choices;  // "a|b|c" for Kind::choice
    const char* help;
    std::function<void(Config&, const std::string&)> set_string;
    std::function<void(Config&, long long)> set_integer;
    std::function<void(Config&, bool)> set_bool;
    std::function<void(Config&, Millis)> set_duration;
    std::function<std::string(const Config&)> show;
};

#define STR_KEY(name, member, help)                                                           \
    Key {                                                                                     \
        name, Kind::string, "", help, [](Config& c, const std::string& v) { c.member = v; },  \
            nullptr, nullptr, nullptr, [](const Config& c) { return "\"" + c.member + "\""; } \
    }
#define CHOICE_KEY(name, member, choices, help)                                                   \
    Key {                                                                                         \
        name, Kind::choice, choices, help, [](Config& c, const std::string& v) { c.member = v; }, \
            nullptr, nullptr, nullptr, [](const Config& c) { return "\"" + c.member + "\""; }     \
    }
#define DUR_KEY(name, member, help)                                                 \
    Key {                                                                           \
        name, Kind::duration, "", help, nullptr, nullptr, nullptr,                  \
            [](Config& c, Millis v) { c.member = v; },                              \
            [](const Config& c) { return "\"" + format_duration(c.member) + "\""; } \
    }
#define INT_KEY(name, member, help)                                                           \
    Key {                                                                                     \
        name, Kind::integer, "", help, nullptr,                                               \
            [](Config& c, long long v) { c.member = static_cast<int>(v); }, nullptr, nullptr, \
            [](const Config& c) { return std::to_string(c.member); }                          \
    }
#define BOOL_KEY(name, member, help)                                                              \
    Key {                                                                                         \
        name, Kind::boolean, "", help, nullptr, nullptr, [](Config& c, bool v) { c.member = v; }, \
            nullptr, [](const Config& c) { return std::string(c.member ? "true" : "false"); }     \
    }

const std::vector<Key>& keys() {
    static const std::vector<Key> k = {
        STR_KEY("database.url", database_url,
                "PostgreSQL URL or key=value conninfo; keep the password out (use PGPASSFILE)"),
        DUR_KEY("database.connect_timeout", connect_timeout,
                "how long one connection attempt may take"),
        INT_KEY("database.connect_retries", connect_retries,
                "connection attempts before exit 10 UNAVAILABLE"),
        STR_KEY("migrations.dir", migrations_dir, "folder of migration scripts"),
        CHOICE_KEY("migrations.layout", layout, "auto|native|dbmate|flyway",
                   "file layout; auto detects it from the file names"),
        BOOL_KEY("migrations.allow_out_of_order", allow_out_of_order,
                 "apply versions older than the newest applied one"),
        STR_KEY("history.schema", history_schema,
                "schema holding rollsafe's history and lock tables"),
        STR_KEY("snapshot.dir", snapshot_dir, "where snapshots are written (created 0700)"),
        CHOICE_KEY("snapshot.mode", snapshot_mode, "touched|full|none",
                   "what to dump before a migration batch"),
        INT_KEY("snapshot.keep", snapshot_keep, "snapshots kept by `snapshot prune`"),
        DUR_KEY("snapshot.max_age", snapshot_max_age,
                "snapshots older than this are pruned (0: never)"),
        STR_KEY("snapshot.pg_bindir", pg_bindir,
                "folder with pg_dump and pg_restore; empty: search"),
        DUR_KEY("lock.wait", lock_wait, "how long to wait for another migrator (then exit 3)"),
        DUR_KEY("lock.lease", lock_lease,
                "lease of the migration lock; a dead holder loses it after this"),
        DUR_KEY("timeouts.lock", lock_timeout, "lock_timeout per statement, retried with backoff"),
        DUR_KEY("timeouts.statement", statement_timeout, "statement_timeout per statement"),
        DUR_KEY("timeouts.lock_retry_budget", lock_retry_budget,
                "total time spent retrying lock timeouts before exit 14 BUSY"),
        STR_KEY("lockfile.path", lockfile_path,
                "JSON lockfile for co-located containers and scripts"),
        BOOL_KEY("freeze.on_failed_clean", freeze_on_failed_clean,
                 "also freeze after a clean (rolled back) failure"),
        BOOL_KEY("freeze.on_rollback", freeze_on_rollback, "freeze after `rollback` runs downs"),
        CHOICE_KEY("check.level", check_level, "error|warn|off",
                   "what `up` does with blocking check findings"),
        INT_KEY("check.pg_version", pg_version,
                "PostgreSQL major version the rules assume (0: detect)"),
        STR_KEY("check.layers", check_layers,
                "layers `up` runs before applying: rules, diff, contracts, roundtrip (a scratch "
                "database for all but rules)"),
        INT_KEY("fleet.parallel", fleet_parallel,
                "with --targets: how many targets are worked on at once"),
        CHOICE_KEY("fleet.on_failure", fleet_on_failure, "stop|continue",
                   "with --targets: what the rest of a wave does when one of its targets fails"),
        INT_KEY("fleet.shard_count", fleet_shard_count,
                "with --targets: shards the fleet is split into (the Indexed Job's completions)"),
        DUR_KEY(
            "fleet.wave_wait", fleet_wave_wait,
            "with --targets and shards: how long a shard waits for earlier waves in other shards"),
        CHOICE_KEY("log.format", log_format, "text|json", "log format on stderr"),
    };
    return k;
}

std::string env_name(const std::string& key) {
    std::string out = "ROLLSAFE_";
    for (char c : key)
        out += (c == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string suggest(const std::string& key) {
    std::string best;
    std::size_t best_d = 4;
    for (const auto& k : keys()) {
        auto d = edit_distance(key, k.name);
        if (d < best_d) {
            best_d = d;
            best = k.name;
        }
    }
    if (best.empty()) {
        std::vector<std::string> names;
        for (const auto& k : keys())
            names.push_back(k.name);
        return "known keys: " + text::join(names, ", ") + " (docs/configuration.md)";
    }
    return "did you mean \"" + best + "\"?";
}

// Returns a hint for an unknown ROLLSAFE_ variable: the closest known variable, or the scheme.
std::string suggest_env(const std::string& var) {
    std::string best;
    std::size_t best_d = 4;
    for (const auto& k : keys()) {
        auto name = env_name(k.name);
        auto d = edit_distance(var, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    if (!best.empty())
        return "did you mean " + best + "?";
    return "rollsafe reads ROLLSAFE_<SECTION>_<KEY>, e.g. ROLLSAFE_LOCK_WAIT "
           "(docs/configuration.md)";
}

const Key* find_key(const std::string& name) {
    for (const auto& k : keys())
        if (name == k.name)
            return &k;
    return nullptr;
}

// Applies a textual value (from the environment, a flag, or a TOML string) to key; returns an
// error message or empty.
std::string apply_text(Config& c, const Key& k, const std::string& value) {
    switch (k.kind) {
        case Kind::string:
            // "sqlite:" URLs select the SQLite engine (core/engine/port.h); libpq never sees them.
            if (std::string(k.name) == "database.url" && !value.empty() &&
                !text::starts_with(text::to_lower(value), "sqlite:")) {
                try {
                    Dsn::parse(value);
                } catch (const Error& e) {
                    return e.what();
                }
            }
            k.set_string(c, value);
            return {};
        case Kind::choice: {
            auto choices = text::split(k.choices, '|');
            if (std::find(choices.begin(), choices.end(), value) == choices.end())
                return "must be one of " + text::join(choices, ", ") + ", not \"" + value + "\"";
            k.set_string(c, value);
            return {};
        }
        case Kind::duration: {
            auto d = parse_duration(value);
            if (!d)
                return "\"" + value + "\" is not a duration (use e.g. \"500ms\", \"60s\", \"15m\")";
            k.set_duration(c, *d);
            return {};
        }
        case Kind::integer: {
            if (value.empty() || value.size() > 9 ||
                !std::all_of(value.begin(), value.end(),
                             [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
                return "\"" + value + "\" is not a non-negative integer";
            k.set_integer(c, std::stoll(value));
            return {};
        }
        case Kind::boolean: {
            auto v = text::to_lower(value);
            if (v == "true" || v == "1" || v == "yes" || v == "on")
                k.set_bool(c, true);
            else if (v == "false" || v == "0" || v == "no" || v == "off")
                k.set_bool(c, false);
            else
                return "\"" + value + "\" is not a boolean (true or false)";
            return {};
        }
    }
    return {};
}

std::string kind_name(const Key& k) {
    switch (k.kind) {
        case Kind::string:
            return "a string";
        case Kind::choice:
            return "one of \"" + text::join(text::split(k.choices, '|'), "\", \"") + "\"";
        case Kind::duration:
            return "a duration string such as \"60s\"";
        case Kind::integer:
            return "an integer";
        case Kind::boolean:
            return "a boolean";
    }
    return "a value";
}

}  // namespace

const std::vector<std::string>& other_environment_variables() {
    static const std::vector<std::string> names = {
        "ROLLSAFE_CONFIG",       // the CLI: --config when the flag is not given
        "ROLLSAFE_EXAMPLE_DIR",  // `rollsafe demo`: where migrations-example/ is
    };
    return names;
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos)
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return env;
}

Config load_config(const ConfigSources& sources) {
    Config c;
    for (const auto& k : keys())
        c.origin[k.name] = "default";
    std::vector<Diagnostic> problems;

    // 1. rollsafe.toml
    int err = 0;
    auto content = fs::read_file(sources.config_path, &err);
    if (!content && (sources.config_path_explicit || err != ENOENT)) {
        throw usage_error(
            sources.config_path + ": cannot read configuration: " + std::strerror(err),
            sources.config_path_explicit ? "check the --config path" : "");
    }
    if (content) {
        c.config_path = sources.config_path;
        for (const auto& v : read_toml(*content, sources.config_path)) {
            const Key* k = find_key(v.key);
            Diagnostic d{sources.config_path, v.line, v.col, "", ""};
            if (!k) {
                if (v.type == TomlValue::Type::table)
                    continue;  // an empty [section] is harmless
                d.message = "unknown configuration key \"" + v.key + "\"";
                d.hint = suggest(v.key);
                problems.push_back(d);
                continue;
            }
            std::string msg;
            bool textual =
                k->kind == Kind::string || k->kind == Kind::choice || k->kind == Kind::duration;
            if (textual && v.type == TomlValue::Type::string) {
                msg = apply_text(c, *k, v.text);
            } else if (k->kind == Kind::integer && v.type == TomlValue::Type::integer) {
                if (v.integer < 0)
                    msg = "must not be negative";
                else if (v.integer > 999'999'999)
                    msg = "is too large (at most 999999999)";
                else
                    k->set_integer(c, v.integer);
            } else if (k->kind == Kind::boolean && v.type == TomlValue::Type::boolean) {
                k->set_bool(c, v.boolean);
            } else {
                msg = std::string("must be ") + kind_name(*k) + ", not " + toml_type_name(v.type);
            }
            if (!msg.empty()) {
                d.message = v.key + " " + msg;
                d.hint = k->help;
                problems.push_back(d);
            } else {
                c.origin[k->name] = sources.config_path + ":" + std::to_string(v.line);
            }
        }
    }

    // 2. environment: ROLLSAFE_<SECTION>_<KEY>, and DATABASE_URL below ROLLSAFE_DATABASE_URL
    auto apply_env = [&](const Key& k, const std::string& var) {
        auto it = sources.env.find(var);
        if (it == sources.env.end())
            return false;
        auto msg = apply_text(c, k, it->second);
        if (!msg.empty())
            problems.push_back({var, 0, 0, msg, k.help});
        else
            c.origin[k.name] = var;
        return true;
    };
    for (const auto& k : keys()) {
        if (std::string(k.name) == "database.url" && !sources.env.count(env_name(k.name))) {
            apply_env(k, "DATABASE_URL");
            continue;
        }
        apply_env(k, env_name(k.name));
    }
    for (const auto& [var, value] : sources.env) {
        if (!text::starts_with(var, "ROLLSAFE_") || text::starts_with(var, "ROLLSAFE_TEST_"))
            continue;
        const auto& others = other_environment_variables();
        if (std::find(others.begin(), others.end(), var) != others.end())
            continue;
        bool known = false;
        for (const auto& k : keys())
            known = known || env_name(k.name) == var;
        if (!known)
            problems.push_back({var, 0, 0, "unknown environment variable", suggest_env(var)});
    }

    // 3. flags
    for (const auto& [key, value] : sources.flags) {
        const Key* k = find_key(key);
        auto flag = sources.flag_names.count(key) ? sources.flag_names.at(key) : "--" + key;
        if (!k) {
            problems.push_back(
                {flag, 0, 0, "unknown configuration key \"" + key + "\"", suggest(key)});
            continue;
        }
        auto msg = apply_text(c, *k, value);
        if (!msg.empty())
            problems.push_back({flag, 0, 0, msg, k->help});
        else
            c.origin[k->name] = flag;
    }

    if (!problems.empty()) {
        std::string first = problems.front().location_and_message();
        std::string msg = problems.size() == 1 ? first
                                               : std::to_string(problems.size()) +
                                                     " configuration problems; first: " + first;
        throw Error(ExitCode::usage, msg, problems.front().hint, problems);
    }
    if (c.history_schema.empty() || c.history_schema.size() > 63)
        throw usage_error("history.schema must be 1 to 63 bytes long",
                          "PostgreSQL truncates identifiers longer than 63 bytes");
    return c;
}

std::vector<ConfigKeyInfo> config_keys() {
    Config defaults;
    std::vector<ConfigKeyInfo> out;
    for (const auto& k : keys()) {
        std::string type;
        switch (k.kind) {
            case Kind::string:
                type = "string";
                break;
            case Kind::choice:
                type = k.choices;
                break;
            case Kind::duration:
                type = "duration";
                break;
            case Kind::integer:
                type = "integer";
                break;
            case Kind::boolean:
                type = "boolean";
                break;
        }
        out.push_back({k.name, type, env_name(k.name), k.show(defaults), k.help});
    }
    return out;
}

std::string default_config_toml() {
    std::string out =
        "# rollsafe configuration. Precedence: this file < ROLLSAFE_* environment < flags.\n"
        "# Every key is documented in docs/configuration.md; unknown keys are errors.\n";
    std::string section;
    for (const auto& k : config_keys()) {
        auto dot = k.key.find('.');
        auto sec = k.key.substr(0, dot);
        if (sec != section) {
            out += "\n[" + sec + "]\n";
            section = sec;
        }
        out += "# " + k.help + " (" + k.type + ", env " + k.env + ")\n";
        auto name = k.key.substr(dot + 1);
        bool active = k.key == "migrations.dir" || k.key == "snapshot.dir" ||
                      k.key == "snapshot.mode" || k.key == "lock.wait" ||
                      k.key == "timeouts.lock" || k.key == "timeouts.statement" ||
                      k.key == "lockfile.path";
        if (k.key == "database.url") {
            out += "# url = \"postgres://app@localhost:5432/app\"   # no password here\n";
            continue;
        }
        out += std::string(active ? "" : "# ") + name + " = " + k.default_value + "\n";
    }
    return out;
}

}  // namespace rollsafe
