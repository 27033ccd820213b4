#include "core/migrations/scaffold.h"

#include <cctype>
#include <cstdio>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/migrations/reader.h"

namespace rollsafe {
namespace {

std::string sanitize(const std::string& name) {
    std::string out;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else if (!out.empty() && out.back() != '_')
            out += '_';
    }
    while (!out.empty() && out.back() == '_')
        out.pop_back();
    return out;
}

const char* kUpTemplate =
    "-- {id}: up\n"
    "-- Directives (optional): -- rollsafe:lock-timeout=2s, -- rollsafe:no-transaction,\n"
    "-- -- rollsafe:allow=<rule-id> reason=\"...\". See docs/migrations.md.\n"
    "\n";
const char* kDownTemplate =
    "-- {id}: down. Undo the up script exactly; `rollsafe check --layers roundtrip` verifies it.\n"
    "\n";

std::string fill(const char* tmpl, const std::string& id) {
    std::string s = tmpl;
    auto pos = s.find("{id}");
    if (pos != std::string::npos)
        s.replace(pos, 4, id);
    return s;
}

void write_new(const std::string& path, const std::string& content) {
    if (fs::exists(path))
        throw usage_error(path + " already exists");
    fs::write_file_atomic(path, content, 0644);
}

}  // namespace

std::string next_version(const std::string& dir, const std::string& layout, std::time_t now) {
    std::vector<Diagnostic> ignored;
    auto set = read_migrations(dir, layout, ignored);
    std::size_t width = 0;
    bool timestamps = false;
    Version max;
    bool any = false;
    for (const auto& m : set.migrations) {
        const auto& t = m.version.text();
        if (t.size() >= 12)
            timestamps = true;
        width = std::max(
            width, t.find_first_of("._") == std::string::npos ? t.size() : t.find_first_of("._"));
        if (!any || max < m.version)
            max = m.version;
        any = true;
    }
    if (timestamps) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        // A clock behind the newest migration (or two migrations in one second) must still
        // give a later version: then count up from the newest.
        auto stamp = Version::parse(buf);
        if (stamp && max < *stamp)
            return buf;
        std::string next = max.key();
        int i = static_cast<int>(next.size()) - 1;
        while (i >= 0 && next[static_cast<std::size_t>(i)] == '9')
            next[static_cast<std::size_t>(i--)] = '0';
        if (i < 0)
            next.insert(next.begin(), '1');
        else
            ++next[static_cast<std::size_t>(i)];
        return next;
    }
    if (!any)
        width = 4;  // 0001: sorts well in a file listing up to 9999
    unsigned long long next = 1;
    if (any)
        next = std::stoull(text::split(max.key(), '.').front()) + 1;
    std::string v = std::to_string(next);
    if (v.size() < width)
        v = std::string(width - v.size(), '0') + v;
    return v;
}

std::vector<std::string> create_migration(const std::string& dir, const std::string& layout_in,
                                          const std::string& raw_name, std::time_t now) {
    auto name = sanitize(raw_name);
    if (name.empty())
        throw usage_error("migration name \"" + raw_name + "\" has no letters or digits",
                          "e.g. rollsafe new add_orders_status");
    fs::make_dirs(dir, 0755);
    std::vector<Diagnostic> ignored;
    std::string layout = layout_in;
    if (layout == "auto") {
        auto set = read_migrations(dir, "auto", ignored);
        layout = set.layout.empty() ? "native" : set.layout;
    }
    auto version = next_version(dir, layout, now);
    auto id = version + "_" + name;
    std::vector<std::string> paths;
    if (layout == "dbmate") {
        paths.push_back(dir + "/" + id + ".sql");
        write_new(paths[0], "-- migrate:up\n" + fill(kUpTemplate, id) + "\n-- migrate:down\n" +
                                fill(kDownTemplate, id));
    } else if (layout == "flyway") {
        paths.push_back(dir + "/V" + version + "__" + name + ".sql");
        paths.push_back(dir + "/U" + version + "__" + name + ".sql");
        write_new(paths[0], fill(kUpTemplate, id));
        write_new(paths[1], fill(kDownTemplate, id));
    } else {
        paths.push_back(dir + "/" + id + ".up.sql");
        paths.push_back(dir + "/" + id + ".down.sql");
        write_new(paths[0], fill(kUpTemplate, id));
        write_new(paths[1], fill(kDownTemplate, id));
    }
    return paths;
}

}  // namespace rollsafe
