// Fuzz target: the lockfile reader. Whatever is at lockfile.path (another program's file,
// a truncated write, garbage), read_lockfile classifies it and never throws; a body it accepts
// survives a write/read round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/engine/lockfile.h"
#include "fuzz_support.h"

using namespace rollsafe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (auto body = LockfileBody::parse(text)) {
        auto again = LockfileBody::parse(body->to_json().dump(2));
        if (!again || again->to_json() != body->to_json())
            std::abort();
    }
    static const std::string path = fuzz::scratch_dir() + "/rollsafe.lock";
    fuzz::write_plain(path, text);
    auto st = read_lockfile(path);
    (void)LockfileStatus::name(st.kind);
    return 0;
}
