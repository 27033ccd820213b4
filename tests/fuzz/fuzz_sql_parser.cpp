// Fuzz target: the statement splitter (libpg_query behind parse_script), the drift normal form
// and fingerprints. Bad SQL comes back as a ParseError, never an exception; every statement's
// offset, line and column point into the script at the statement's own text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/sql/parser.h"

using namespace rollsafe;

namespace {

void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_sql_parser: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = sql::parse_script(text);
    if (parsed.error) {
        require(parsed.error->offset <= text.size(), "error offset past the end");
        require(parsed.error->line >= 1 && parsed.error->col >= 1, "error line/col below 1");
    }
    for (const auto& s : parsed.statements) {
        require(s.offset <= text.size(), "statement offset past the end");
        require(text.compare(s.offset, s.text.size(), s.text) == 0,
                "statement text is not the script's text at its offset");
        require(s.line >= 1 && s.col >= 1, "statement line/col below 1");
        (void)sql::fingerprint(s.text);
    }
    (void)sql::normalized_for_drift(text);
    for (std::size_t from : {std::size_t{0}, text.size() / 2, text.size()})
        require(sql::skip_space_and_comments(text, from) <= text.size(), "skip past the end");
    return 0;
}
