#include "core/migrations/releases.h"

#include <cerrno>
#include <cstring>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/base/toml_reader.h"

namespace rollsafe {

const Release* ReleaseFile::find(const std::string& name) const {
    for (const auto& r : releases)
        if (r.name == name)
            return &r;
    return nullptr;
}

std::string releases_path_for(const std::string& migrations_dir) {
    std::string dir = migrations_dir;
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    auto slash = dir.rfind('/');
    if (slash == std::string::npos)
        return "releases.toml";
    return dir.substr(0, slash) + "/releases.toml";
}

ReleaseFile read_releases(const std::string& path) {
    ReleaseFile out;
    out.path = path;
    int err = 0;
    auto content = fs::read_file(path, &err);
    if (!content) {
        if (err == ENOENT)
            return out;
        throw usage_error(path + ": cannot read: " + std::strerror(err));
    }
    out.exists = true;
    std::vector<Diagnostic> problems;
    for (const auto& v : read_toml(*content, path)) {
        if (!text::starts_with(v.key, "releases.")) {
            if (v.key == "releases" && v.type == TomlValue::Type::table)
                continue;
            problems.push_back({path, v.line, v.col, "unknown key \"" + v.key + "\"",
                                "releases.toml holds one [releases] table: \"v1.0.0\" = \"0002\""});
            continue;
        }
        std::string name = v.key.substr(9);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
            name = name.substr(1, name.size() - 2);
        std::optional<Version> version;
        if (v.type == TomlValue::Type::string)
            version = Version::parse(v.text);
        if (v.type == TomlValue::Type::integer)
            version = Version::parse(v.text);
        if (!version) {
            problems.push_back({path, v.line, v.col,
                                "release \"" + name + "\" needs a migration version, not " +
                                    (v.type == TomlValue::Type::string ? "\"" + v.text + "\""
                                                                       : toml_type_name(v.type)),
                                "e.g. \"v1.0.0\" = \"0002\""});
            continue;
        }
        out.releases.push_back({name, *version, v.line});
    }
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
    return out;
}

}  // namespace rollsafe
