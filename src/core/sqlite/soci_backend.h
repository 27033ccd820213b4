#pragma once

// The only file that includes SOCI's sqlite3 backend header: it wraps <sqlite3.h> in its own
// namespace (sqlite_api), which clashes with the plain C API the rest of core/sqlite uses.

#include <memory>
#include <string>

namespace soci {
class session;
class soci_error;
}  // namespace soci

namespace rollsafe::sqlite {

// Opens a SOCI session with the sqlite3 backend ("db=... timeout=..."); throws soci_error.
std::unique_ptr<soci::session> open_soci_session(const std::string& connect_string);
// The backend's native sqlite3* handle (as void*: the same C object, another declaration).
void* native_handle(soci::session& session);
// SQLite's result code of a SOCI error, or 1 (SQLITE_ERROR) when it is not the sqlite3 backend's.
int result_code(const soci::soci_error& error);

}  // namespace rollsafe::sqlite
