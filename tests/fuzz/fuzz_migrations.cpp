// Fuzz target: the migrations reader with its directives and file names. The input is a small
// folder: sections split by a line "--8<--", each a file name on its first line and the file's
// content after it; the folder is read in the layout the first byte picks. Problems are
// diagnostics (validate's list, or one Error(USAGE)); nothing may crash or throw anything else.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/migrations/directive.h"
#include "core/migrations/migration.h"
#include "core/migrations/reader.h"
#include "fuzz_support.h"

using namespace rollsafe;

namespace {

// Empties dir (files only: the target writes nothing else).
void clear(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return;
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..")
            names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names)
        ::unlink((dir + "/" + n).c_str());
}

// A file name made safe for one folder level (no '/', no NUL, not "." or "..", bounded).
std::string safe_name(std::string name) {
    for (char& c : name)
        if (c == '/' || c == '\0')
            c = '_';
    if (name.size() > 200)
        name.resize(200);
    if (name.empty() || name == "." || name == "..")
        name = "_";
    return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    static const char* layouts[] = {"auto", "native", "dbmate", "flyway"};
    std::string layout = layouts[data[0] % 4];
    std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);

    static const std::string dir = [] {
        std::string d = fuzz::scratch_dir() + "/migrations";
        ::mkdir(d.c_str(), 0700);
        return d;
    }();
    clear(dir);

    const std::string cut = "\n--8<--\n";
    std::size_t pos = 0;
    for (int files = 0; files < 8 && pos <= input.size(); ++files) {
        auto end = input.find(cut, pos);
        auto section = input.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        auto nl = section.find('\n');
        auto name = safe_name(section.substr(0, nl));
        auto content = nl == std::string::npos ? std::string() : section.substr(nl + 1);
        fuzz::write_plain(dir + "/" + name, content);

        // The pieces on their own, as other commands call them.
        std::vector<Diagnostic> problems;
        (void)parse_directives(content, name, 1, problems);
        (void)Version::parse(name.substr(0, name.find('_')));
        if (end == std::string::npos)
            break;
        pos = end + cut.size();
    }

    std::vector<Diagnostic> problems;
    auto set = read_migrations(dir, layout, problems, true);
    for (const auto& m : set.migrations) {
        (void)m.id();
        (void)m.irreversible();
        for (const auto& s : m.up.statements)
            (void)m.up.where(s);
    }
    for (const auto& d : problems)
        (void)d.location_and_message();
    // The unparsed path (status) then ensure_parsed, and the throwing overload.
    try {
        auto lazy = read_migrations(dir, layout, false);
        for (auto& m : lazy.migrations) {
            std::vector<Diagnostic> more;
            ensure_parsed(m.up, more);
        }
    } catch (const Error&) {
    }
    return 0;
}
