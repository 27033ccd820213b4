#pragma once

#include <string>
#include <string_view>

namespace rollsafe {

// Returns the lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

// Incremental SHA-256 for large files.
class Sha256 {
  public:
    Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    // Returns the lower-case hex digest; the object must not be updated afterwards.
    std::string finish();

    // OpenSSL's SHA256_CTX (112 bytes), kept in the object without including OpenSSL here.
    struct State {
        alignas(8) unsigned char bytes[128];
    };

  private:
    State m_state;
};

// Returns the SHA-256 of a file's content; throws Error(INTERNAL) when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace rollsafe
