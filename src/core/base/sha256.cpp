#include "core/base/sha256.h"

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/base/error.h"

namespace rollsafe {
namespace {

// OpenSSL 3 looks EVP_sha256() up in its provider table on every init; fetched once, the
// digest is shared (status hashes thousands of scripts). Never freed: it lives as long as the
// process.
const EVP_MD* sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md)
        return md;
#endif
    return EVP_sha256();
}

}  // namespace

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), sha256_md(), nullptr);
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
}

void Sha256::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data, size);
}

std::string Sha256::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
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
