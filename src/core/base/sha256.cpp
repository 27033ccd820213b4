#include "core/base/sha256.h"

// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP, but EVP costs what status
// cannot afford: the first EVP digest loads openssl.cnf and the default provider (1.5-2.5 ms
// here, on the thread that reads the scripts) and each EVP hash of a short script takes three
// times as long. The low-level functions use the same CPU instructions (SHA-NI, AVX2).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#if defined(OPENSSL_NO_DEPRECATED_3_0)
#error \
    "rollsafe hashes with OpenSSL's SHA256_* functions: build against an OpenSSL with its deprecated 3.0 API (Debian's has it)"
#endif

#include <new>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/base/error.h"

namespace rollsafe {

static_assert(sizeof(SHA256_CTX) <= sizeof(Sha256::State), "Sha256::State too small");
static_assert(alignof(SHA256_CTX) <= alignof(Sha256::State), "Sha256::State misaligned");

namespace {
SHA256_CTX* ctx(Sha256::State& state) {
    return std::launder(reinterpret_cast<SHA256_CTX*>(state.bytes));
}
}  // namespace

Sha256::Sha256() {
    SHA256_Init(::new (static_cast<void*>(m_state.bytes)) SHA256_CTX);
}

void Sha256::update(const void* data, std::size_t size) {
    SHA256_Update(ctx(m_state), data, size);
}

std::string Sha256::finish() {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, ctx(m_state));
    static const char* hex = "0123456789abcdef";
    std::string out(2 * SHA256_DIGEST_LENGTH, '0');
    for (std::size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.finish();
}

std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(ExitCode::internal, path + ": cannot open: " + std::strerror(errno));
    Sha256 h;
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto got = in.gcount();
        if (got > 0)
            h.update(buf.data(), static_cast<std::size_t>(got));
    }
    if (in.bad())
        throw Error(ExitCode::internal, path + ": read failed");
    return h.finish();
}

}  // namespace rollsafe
