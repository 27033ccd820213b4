#include "core/sqlite/soci_backend.h"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

namespace rollsafe::sqlite {

std::unique_ptr<soci::session> open_soci_session(const std::string& connect_string) {
    return std::make_unique<soci::session>(*soci::factory_sqlite3(), connect_string);
}

void* native_handle(soci::session& session) {
    return static_cast<soci::sqlite3_session_backend*>(session.get_backend())->conn_;
}

int result_code(const soci::soci_error& error) {
    if (auto* e = dynamic_cast<const soci::sqlite3_soci_error*>(&error))
        return e->result();
    return 1;
}

}  // namespace rollsafe::sqlite
