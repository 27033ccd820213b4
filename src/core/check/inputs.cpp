#include "core/check/inputs.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/sha256.h"
#include "core/base/text.h"

namespace rollsafe::check {
namespace {

std::optional<std::string> read_script(const std::string& path, std::vector<Diagnostic>& problems) {
    int err = 0;
    auto content = fs::read_file(path, &err);
    if (!content) {
        problems.push_back({path, 0, 0, std::string("cannot read: ") + std::strerror(err),
                            err == ENOENT ? "check the path" : ""});
        return std::nullopt;
    }
    if (text::starts_with(*content, "\xEF\xBB\xBF"))
        content->erase(0, 3);
    auto bad = text::find_invalid_utf8(*content);
    if (bad != std::string::npos) {
        auto lc = text::line_col_at(*content, bad);
        problems.push_back({path, lc.line, lc.col, "not valid UTF-8", "save the file as UTF-8"});
        return std::nullopt;
    }
    return content;
}

Script loose_script(const std::string& path, std::string content,
                    std::vector<Diagnostic>& problems) {
    Script s;
    s.path = path;
    s.first_line = 1;
    s.sha256 = sha256_hex(content);
    s.directives = parse_directives(content, path, 1, problems);
    s.text = std::move(content);
    return s;
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "dir/x.up.sql" -> "dir/x.down.sql"; "dir/x.sql" -> "dir/x.down.sql"; "" for a down file.
std::string down_path_of(const std::string& path) {
    if (text::ends_with(path, ".down.sql"))
        return {};
    if (text::ends_with(path, ".up.sql"))
        return path.substr(0, path.size() - 7) + ".down.sql";
    if (text::ends_with(path, ".sql"))
        return path.substr(0, path.size() - 4) + ".down.sql";
    return {};
}

}  // namespace

std::vector<Migration> read_sql_files(const std::vector<std::string>& paths,
                                      std::vector<Diagnostic>& problems) {
    std::vector<Migration> out;
    std::set<std::string> downs;
    for (const auto& p : paths) {
        auto d = down_path_of(p);
        if (!d.empty())
            downs.insert(d);
    }
    int ordinal = 0;
    for (const auto& path : paths) {
        if (is_dir(path)) {
            auto set = read_migrations(path, "auto", problems);
            for (auto& m : set.migrations)
                out.push_back(std::move(m));
            continue;
        }
        if (downs.count(path))
            continue;  // the down of another file given here
        ++ordinal;
        auto content = read_script(path, problems);
        if (!content)
            continue;
        Migration m;
        std::string file = base_name(path);
        std::string stem = file;
        for (const char* suffix : {".up.sql", ".sql"}) {
            if (text::ends_with(stem, suffix)) {
                stem = stem.substr(0, stem.size() - std::strlen(suffix));
                break;
            }
        }
        // "0042_add_orders" keeps its version; other names are numbered in command-line order.
        auto us = stem.find('_');
        std::optional<Version> v =
            us != std::string::npos ? Version::parse(stem.substr(0, us)) : std::nullopt;
        if (v) {
            m.version = *v;
            m.name = stem.substr(us + 1);
        } else {
            m.version = *Version::parse(std::to_string(ordinal));
            m.name = stem;
        }
        m.up = loose_script(path, std::move(*content), problems);
        auto down = down_path_of(path);
        if (!down.empty() && fs::exists(down)) {
            if (auto text = read_script(down, problems))
                m.down = loose_script(down, std::move(*text), problems);
        }
        out.push_back(std::move(m));
    }
    return out;
}

ReleaseRange select_release_range(const MigrationSet& set, const ReleaseFile& releases,
                                  const std::string& blue, const std::string& green) {
    const std::string& releases_path = releases.path;
    if (!releases.exists)
        throw usage_error(releases_path + ": no such file",
                          "--blue/--green read releases.toml ([releases] \"v1.0.0\" = \"0002\") "
                          "beside the migrations "
                          "folder; create it or pass --releases FILE");
    auto find = [&](const std::string& name) -> const Release* {
        if (name.empty())
            return nullptr;
        if (const Release* r = releases.find(name))
            return r;
        std::vector<std::string> known;
        for (const auto& r : releases.releases)
            known.push_back(r.name);
        throw usage_error(releases_path + ": no release \"" + name + "\"",
                          known.empty() ? std::string("add it under [releases]")
                                        : "known releases: " + text::join(known, ", "));
    };
    const Release* b = find(blue);
    const Release* g = find(green);
    for (const Release* r : {b, g}) {
        if (r && !set.find(r->version))
            throw usage_error(releases_path + ":" + std::to_string(r->line) + ": release \"" +
                                  r->name + "\" ships " + r->version.text() + ", but " + set.dir +
                                  " has no migration with that version",
                              "fix releases.toml or the migrations folder");
    }
    if (b && g && !(b->version < g->version))
        throw usage_error("release \"" + g->name + "\" (" + g->version.text() +
                              ") is not newer than \"" + b->name + "\" (" + b->version.text() + ")",
                          "--blue is the release running now, --green the one being deployed");
    ReleaseRange range;
    for (const auto& m : set.migrations) {
        if (b && m.version <= b->version) {
            range.applied.push_back(&m);
        } else if (!g || m.version <= g->version) {
            range.selected.push_back(&m);
        }
    }
    range.description =
        (b ? b->name + " (" + b->version.text() + ")" : std::string("the first migration")) +
        " -> " + (g ? g->name + " (" + g->version.text() + ")" : std::string("the last migration"));
    return range;
}

}  // namespace rollsafe::check
