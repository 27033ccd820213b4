#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "core/base/dsn.h"
#include "core/base/interrupt.h"

struct pg_conn;
struct pg_result;

namespace rollsafe::snapshot {

// A plain libpq connection for bulk loads: statements and COPY ... FROM STDIN, which db::Session
// does not offer. Cancelled when a signal arrives. Every method throws db::DbError.
class CopyConnection {
  public:
    // Connects; throws Error(UNAVAILABLE) with a redacted message when it cannot.
    CopyConnection(const Dsn& dsn, const std::string& application_name);
    ~CopyConnection();
    CopyConnection(const CopyConnection&) = delete;
    CopyConnection& operator=(const CopyConnection&) = delete;

    // Runs one or more statements.
    void exec(const std::string& sql);
    // Returns the first column of the first row of a query ("" when none or NULL).
    std::string scalar(const std::string& sql);
    // Starts COPY ... FROM STDIN.
    void copy_begin(const std::string& sql);
    // Sends data in COPY text format.
    void copy_put(std::string_view data);
    // Ends the COPY and returns the number of rows the server loaded.
    long long copy_end();
    // Abandons a COPY in progress (the server raises an error in the transaction); never throws.
    void copy_abort(const std::string& why);

  private:
    [[noreturn]] void fail(const std::string& what, ::pg_result* result);

    ::pg_conn* m_conn = nullptr;
    interrupt::Hook m_hook;
};

}  // namespace rollsafe::snapshot
