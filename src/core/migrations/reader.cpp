#include "core/migrations/reader.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "core/base/fs.h"
#include "core/base/parallel.h"
#include "core/base/text.h"

namespace rollsafe {
namespace {

enum class Kind { native_up, native_down, flyway_up, flyway_undo, dbmate, unknown };

struct FileName {
    std::string file;  // bare file name
    std::string path;  // dir/file
    Kind kind = Kind::unknown;
    std::optional<Version> version;
    std::string name;
};

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
}

FileName classify(const std::string& dir, const std::string& file) {
    FileName f;
    f.file = file;
    f.path = dir + "/" + file;
    if (!text::ends_with(file, ".sql"))
        return f;
    std::string stem = file.substr(0, file.size() - 4);
    // Flyway: V1__name.sql, U1__name.sql, V1.2__name.sql
    if ((stem[0] == 'V' || stem[0] == 'U') && stem.find("__") != std::string::npos) {
        auto sep = stem.find("__");
        auto v = Version::parse(stem.substr(1, sep - 1));
        if (v && sep + 2 < stem.size()) {
            f.kind = stem[0] == 'V' ? Kind::flyway_up : Kind::flyway_undo;
            f.version = v;
            f.name = stem.substr(sep + 2);
            return f;
        }
    }
    auto us = stem.find('_');
    if (us == std::string::npos || !all_digits(stem.substr(0, us)))
        return f;
    f.version = Version::parse(stem.substr(0, us));
    std::string rest = stem.substr(us + 1);
    if (text::ends_with(rest, ".up")) {
        f.kind = Kind::native_up;
        f.name = rest.substr(0, rest.size() - 3);
    } else if (text::ends_with(rest, ".down")) {
        f.kind = Kind::native_down;
        f.name = rest.substr(0, rest.size() - 5);
    } else if (rest.find('.') == std::string::npos) {
        f.kind = Kind::dbmate;
        f.name = rest;
    }
    if (f.name.empty())
        f.kind = Kind::unknown;
    return f;
}

std::string layout_of(Kind k) {
    switch (k) {
        case Kind::native_up:
        case Kind::native_down:
            return "native";
        case Kind::flyway_up:
        case Kind::flyway_undo:
            return "flyway";
        case Kind::dbmate:
            return "dbmate";
        case Kind::unknown:
            return "";
    }
    return "";
}

// Reads a script file of the open folder dir_fd, checking that it is valid UTF-8; strips a
// UTF-8 byte-order mark.
std::optional<std::string> read_script_file(int dir_fd, const FileName& f,
                                            std::vector<Diagnostic>& problems) {
    const std::string& path = f.path;
    int err = 0;
    auto content = fs::read_file_at(dir_fd, f.file, &err);
    if (!content) {
        std::string hint = err == EACCES   ? "check the file's permissions"
                           : err == EISDIR ? "a folder has a migration's name; rename or remove it"
                           : err == ELOOP  ? "a symbolic link loop; point the link at a real file"
                                           : "";
        problems.push_back({path, 1, 1, std::string("cannot read: ") + std::strerror(err), hint});
        return std::nullopt;
    }
    if (text::starts_with(*content, "\xEF\xBB\xBF"))
        content->erase(0, 3);
    auto bad = text::find_invalid_utf8(*content);
    if (bad != std::string::npos) {
        auto lc = text::line_col_at(*content, bad);
        problems.push_back({path, lc.line, lc.col, "not valid UTF-8",
                            "save the file as UTF-8 (PostgreSQL scripts must be UTF-8 here)"});
        return std::nullopt;
    }
    if (content->find('\0') != std::string::npos) {
        auto lc = text::line_col_at(*content, content->find('\0'));
        problems.push_back(
            {path, lc.line, lc.col, "contains a NUL byte", "this looks like a binary file"});
        return std::nullopt;
    }
    return content;
}

// Splits a dbmate file into its up and down sections (with their first lines).
struct DbmateSections {
    std::optional<std::pair<std::string, int>> up, down;
    bool up_no_transaction = false, down_no_transaction = false;
};

DbmateSections split_dbmate(const std::string& content) {
    DbmateSections s;
    int line = 1;
    std::size_t pos = 0;
    std::optional<std::pair<std::string, int>>* current = nullptr;
    while (pos <= content.size()) {
        auto nl = content.find('\n', pos);
        auto raw = content.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        auto l = text::trim(raw);
        bool is_up = text::starts_with(l, "-- migrate:up");
        bool is_down = text::starts_with(l, "-- migrate:down");
        if (is_up || is_down) {
            current = is_up ? &s.up : &s.down;
            *current = std::make_pair(std::string(), line + 1);
            bool notx = l.find("transaction:false") != std::string_view::npos;
            (is_up ? s.up_no_transaction : s.down_no_transaction) = notx;
        } else if (current) {
            (*current)->first += raw;
            if (nl != std::string::npos)
                (*current)->first += '\n';
        }
        if (nl == std::string::npos)
            break;
        pos = nl + 1;
        ++line;
    }
    return s;
}

Script script_with_notx(Script s, bool no_transaction) {
    if (no_transaction && !s.no_transaction()) {
        Directive d;
        d.key = "no-transaction";
        d.line = s.first_line - 1;
        d.col = 1;
        s.directives.push_back(d);
    }
    return s;
}

}  // namespace

const Migration* MigrationSet::find(const Version& v) const {
    // read_migrations sorts by version: a binary search first (status looks up every applied
    // version), then a scan for sets put together in another order.
    auto it = std::lower_bound(migrations.begin(), migrations.end(), v,
                               [](const Migration& m, const Version& x) { return m.version < x; });
    if (it != migrations.end() && it->version == v)
        return &*it;
    for (const auto& m : migrations)
        if (m.version == v)
            return &m;
    return nullptr;
}

MigrationSet read_migrations(const std::string& dir, const std::string& layout, bool parse) {
    std::vector<Diagnostic> problems;
    auto set = read_migrations(dir, layout, problems, parse);
    if (!problems.empty()) {
        std::string msg = problems.size() == 1
                              ? problems.front().location_and_message()
                              : std::to_string(problems.size()) + " problems in " + dir +
                                    "; first: " + problems.front().location_and_message();
        throw Error(ExitCode::usage, msg, "run `rollsafe validate` to see them all", problems);
    }
    return set;
}

MigrationSet read_migrations(const std::string& dir, const std::string& layout,
                             std::vector<Diagnostic>& problems, bool parse) {
    MigrationSet set;
    set.dir = dir;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        problems.push_back(
            {dir, 0, 0, std::string("migrations folder cannot be read: ") + std::strerror(errno),
             "create it with `rollsafe init`, or point --migrations at it"});
        return set;
    }
    if (!S_ISDIR(st.st_mode)) {
        problems.push_back(
            {dir, 0, 0, "migrations path is not a folder", "point --migrations at a folder"});
        return set;
    }
    // The folder stays open while the files are read: they are opened relative to it.
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
        problems.push_back({dir, 0, 0, std::string("cannot list: ") + std::strerror(errno), ""});
        return set;
    }
    const int dir_fd = ::dirfd(d.get());
    std::vector<std::string> names;
    while (auto* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || name[0] == '.')
            continue;
        if (!text::ends_with(name, ".sql"))
            continue;
        names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());  // strings move cheaply; FileNames do not
    std::vector<FileName> files;
    files.reserve(names.size());
    for (const auto& name : names)
        files.push_back(classify(dir, name));

    // Decide the layout.
    std::string chosen = layout;
    if (chosen == "auto") {
        std::map<std::string, int> counts;
        for (const auto& f : files)
            if (f.kind != Kind::unknown)
                counts[layout_of(f.kind)]++;
        if (counts.size() > 1) {
            std::vector<std::string> kinds;
            for (auto& [k, n] : counts)
                kinds.push_back(k + " (" + std::to_string(n) + " files)");
            problems.push_back({dir, 0, 0, "mixed file layouts: " + text::join(kinds, ", "),
                                "keep one layout per folder, or set migrations.layout"});
            return set;
        }
        chosen = counts.empty() ? "native" : counts.begin()->first;
    }
    set.layout = chosen;

    struct Pair {  // the files of one version, in `files`
        const FileName* up = nullptr;
        const FileName* down = nullptr;
    };
    std::map<std::string, Pair> by_version;  // key: version.key()
    for (const auto& f : files) {
        if (f.kind == Kind::unknown || layout_of(f.kind) != chosen) {
            std::string expected = chosen == "native" ? "<version>_<name>.up.sql / .down.sql"
                                   : chosen == "flyway"
                                       ? "V<version>__<name>.sql / U<version>__<name>.sql"
                                       : "<version>_<name>.sql";
            problems.push_back({f.path, 1, 1, "file name does not follow the " + chosen + " layout",
                                "expected " + expected});
            continue;
        }
        auto& slot = by_version[f.version->key()];
        bool is_down = f.kind == Kind::native_down || f.kind == Kind::flyway_undo;
        auto& target = is_down ? slot.down : slot.up;
        if (target) {
            problems.push_back({f.path, 1, 1,
                                "duplicate version " + f.version->text() + ": also " + target->path,
                                "every migration needs its own version; rename one of them"});
            continue;
        }
        target = &f;
    }

    // Reading, hashing and parsing each migration is independent of the others: spread it over
    // the cores (a project of 1,000 migrations spent most of `status` here), then merge the
    // results in version order, so messages come out as they would from one thread.
    struct Loaded {
        bool ok = false;  // the migration in the slot beside it is complete
        std::vector<Diagnostic> problems, warnings;
    };
    auto load = [&](const Pair& pair, Migration& m) {
        Loaded out;
        auto& problems = out.problems;
        if (!pair.up && pair.down) {
            problems.push_back({pair.down->path, 1, 1, "down script without an up script",
                                "add the up script or remove this file"});
            return out;
        }
        if (!pair.up)
            return out;
        const auto& f = *pair.up;
        if (pair.down && pair.down->name != f.name) {
            problems.push_back({pair.down->path, 1, 1,
                                "down script name \"" + pair.down->name +
                                    "\" differs from its up \"" + f.name + "\"",
                                "name both files alike"});
        }
        const auto problems_before = problems.size();
        auto content = read_script_file(dir_fd, f, problems);
        if (!content)
            return out;
        m.version = *f.version;
        m.name = f.name;
        if (chosen == "dbmate") {
            auto sections = split_dbmate(*content);
            if (!sections.up) {
                problems.push_back({f.path, 1, 1, "no \"-- migrate:up\" section",
                                    "dbmate files start with -- migrate:up"});
                return out;
            }
            m.up = script_with_notx(
                make_script(f.path, sections.up->first, sections.up->second, problems, parse),
                sections.up_no_transaction);
            if (sections.down) {
                m.down = script_with_notx(make_script(f.path, sections.down->first,
                                                      sections.down->second, problems, parse),
                                          sections.down_no_transaction);
            }
        } else {
            m.up = make_script(f.path, *content, 1, problems, parse);
            if (pair.down) {
                if (auto down = read_script_file(dir_fd, *pair.down, problems))
                    m.down = make_script(pair.down->path, *down, 1, problems, parse);
            }
        }
        // An up script of only comments is a scaffold nobody filled in (a parse error, already
        // reported, also leaves no statements).
        if (has_no_statements(m.up) && problems_before == problems.size()) {
            problems.push_back({f.path, m.up.first_line, 1, "the up script has no SQL statements",
                                "write the migration, or delete the file"});
        }
        if (!m.down && !m.irreversible() && !(pair.down && !m.down)) {
            problems.push_back(
                {f.path, 1, 1, "up script without a down script",
                 "add " +
                     std::string(chosen == "native" ? f.version->text() + "_" + f.name + ".down.sql"
                                 : chosen == "flyway"
                                     ? "U" + f.version->text() + "__" + f.name + ".sql"
                                     : "a -- migrate:down section") +
                     ", or mark it -- rollsafe:irreversible reason=\"...\""});
        }
        if (m.down && has_no_statements(*m.down)) {
            out.warnings.push_back(
                {m.down->path, m.down->first_line, 1,
                 "down script of " + m.id() + " has no statements (undo does nothing)", ""});
        }
        out.ok = true;
        return out;
    };
    // In version order before loading: sorting the loaded migrations moved whole scripts around.
    std::vector<const Pair*> pairs;
    pairs.reserve(by_version.size());
    for (const auto& entry : by_version)
        pairs.push_back(&entry.second);
    auto version_of = [](const Pair* p) -> const Version& {
        return p->up ? *p->up->version : *p->down->version;
    };
    std::sort(pairs.begin(), pairs.end(),
              [&](const Pair* a, const Pair* b) { return version_of(a) < version_of(b); });
    // Each migration is built in its final slot (moving a thousand of them cost more than
    // reading their files); the slots of those that could not be loaded are closed up after.
    std::vector<Migration> migrations(pairs.size());
    std::vector<Loaded> loaded(pairs.size());
    parallel_for(pairs.size(), [&](std::size_t i) { loaded[i] = load(*pairs[i], migrations[i]); });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        auto& l = loaded[i];
        problems.insert(problems.end(), l.problems.begin(), l.problems.end());
        set.warnings.insert(set.warnings.end(), l.warnings.begin(), l.warnings.end());
        if (!l.ok)
            continue;
        if (kept != i)
            migrations[kept] = std::move(migrations[i]);
        ++kept;
    }
    migrations.resize(kept);
    set.migrations = std::move(migrations);
    return set;
}

}  // namespace rollsafe
