// Fuzz target: the DSN parser (libpq's PQconninfoParse behind Dsn::parse), its rendering back
// to conninfo, and the redactor every message passes through. Besides crashes it checks the
// one property that matters: a password read from a DSN does not survive redact() of the
// conninfo rollsafe builds from it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
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
    } catch (const Error& e) {
        return 0;
    }
    auto conninfo = dsn.conninfo();
    auto without = dsn.conninfo_without_password();
    (void)dsn.display();
    auto password = dsn.get("password");
    if (password && password->size() >= 6 && without.find(*password) == std::string::npos &&
        std::string("password=***").find(*password) == std::string::npos) {
        require(redact(conninfo).find(*password) == std::string::npos,
                "password survives redact(conninfo())", *password, conninfo);
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
