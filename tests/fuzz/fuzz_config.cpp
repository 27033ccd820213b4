// Fuzz target: rollsafe.toml through read_toml and load_config. The contract is that bad
// configuration throws rollsafe::Error (USAGE) with file:line; any other exception, a crash or
// a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/config.h"
#include "core/base/error.h"
#include "core/base/toml_reader.h"
#include "fuzz_support.h"

using namespace rollsafe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        for (const auto& v : read_toml(text, "rollsafe.toml"))
            (void)toml_type_name(v.type);
    } catch (const Error&) {
    }
    static const std::string path = fuzz::scratch_dir() + "/rollsafe.toml";
    fuzz::write_plain(path, text);
    ConfigSources sources;
    sources.config_path = path;
    sources.config_path_explicit = true;
    try {
        (void)load_config(sources);
    } catch (const Error&) {
    }
    return 0;
}
