#include "core/snapshot/copy_connection.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "core/base/error.h"
#include "core/db/session.h"

namespace rollsafe::snapshot {
namespace {

std::string trimmed(const char* s) {
    std::string out = s ? s : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    if (out.rfind("ERROR:  ", 0) == 0)
        out = out.substr(8);
    return out;
}

}  // namespace

CopyConnection::CopyConnection(const Dsn& dsn, const std::string& application_name) {
    Dsn d = dsn;
    d.set("application_name", application_name);
    m_conn = PQconnectdb(d.conninfo().c_str());
    if (!m_conn || PQstatus(m_conn) != CONNECTION_OK) {
        std::string why = m_conn ? trimmed(PQerrorMessage(m_conn)) : "out of memory";
        if (m_conn)
            PQfinish(m_conn);
        m_conn = nullptr;
        throw Error(ExitCode::unavailable,
                    "cannot connect to " + dsn.display() + ": " + redact(why));
    }
    PGconn* conn = m_conn;
    m_hook = interrupt::on_interrupt([conn] {
        if (PGcancel* c = PQgetCancel(conn)) {
            char buf[256];
            PQcancel(c, buf, sizeof buf);
            PQfreeCancel(c);
        }
    });
}

CopyConnection::~CopyConnection() {
    m_hook = interrupt::Hook();
    if (m_conn)
        PQfinish(m_conn);
}

void CopyConnection::fail(const std::string& what, PGresult* result) {
    std::string message = result ? trimmed(PQresultErrorMessage(result)) : "";
    if (message.empty())
        message = trimmed(PQerrorMessage(m_conn));
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string sqlstate = state ? state : "";
    if (result)
        PQclear(result);
    bool lost = PQstatus(m_conn) != CONNECTION_OK;
    throw db::DbError(what.empty() ? message : what + ": " + message, sqlstate, lost);
}

void CopyConnection::exec(const std::string& sql) {
    PGresult* r = PQexec(m_conn, sql.c_str());
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail("", r);
    PQclear(r);
}

std::string CopyConnection::scalar(const std::string& sql) {
    PGresult* r = PQexec(m_conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail("", r);
    std::string out =
        PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return out;
}

void CopyConnection::copy_begin(const std::string& sql) {
    PGresult* r = PQexec(m_conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN)
        fail("", r);
    PQclear(r);
}

void CopyConnection::copy_put(std::string_view data) {
    if (PQputCopyData(m_conn, data.data(), static_cast<int>(data.size())) != 1)
        fail("COPY failed", nullptr);
}

long long CopyConnection::copy_end() {
    if (PQputCopyEnd(m_conn, nullptr) != 1)
        fail("COPY failed", nullptr);
    PGresult* r = PQgetResult(m_conn);
    // Drain what follows, so the connection stays usable (for ROLLBACK) whatever happened.
    while (PGresult* rest = PQgetResult(m_conn))
        PQclear(rest);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail("COPY failed", r);
    long long rows = std::atoll(PQcmdTuples(r));
    PQclear(r);
    return rows;
}

void CopyConnection::copy_abort(const std::string& why) {
    if (PQputCopyEnd(m_conn, why.c_str()) != 1)
        return;
    while (PGresult* rest = PQgetResult(m_conn))
        PQclear(rest);
}

}  // namespace rollsafe::snapshot
