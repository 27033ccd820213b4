#include <pqxx/pqxx>

#include <thread>

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/db/session.h"

namespace rollsafe::db {
namespace {

// Routes server notices (e.g. "schema already exists, skipping") to the debug log.
class NoticeToLog : public pqxx::errorhandler {
  public:
    explicit NoticeToLog(pqxx::connection_base& c) : pqxx::errorhandler(c) {}
    bool operator()(const char msg[]) noexcept override {
        try {
            std::string m(msg);
            while (!m.empty() && m.back() == '\n')
                m.pop_back();
            log::debug("server: {}", m);
        } catch (...) {
        }
        return false;
    }
};

Result convert(const pqxx::result& r) {
    Result out;
    auto ncols = static_cast<std::size_t>(r.columns());
    for (std::size_t c = 0; c < ncols; ++c)
        out.columns.emplace_back(r.column_name(static_cast<pqxx::row::size_type>(c)));
    out.rows.reserve(r.size());
    for (const auto& row : r) {
        std::vector<Value> values;
        values.reserve(ncols);
        for (const auto& f : row) {
            if (f.is_null())
                values.emplace_back(std::nullopt);
            else
                values.emplace_back(std::string(f.c_str(), f.size()));
        }
        out.rows.push_back(std::move(values));
    }
    out.affected = static_cast<long>(r.affected_rows());
    return out;
}

std::string first_line(const std::string& s) {
    auto nl = s.find('\n');
    std::string out = s.substr(0, nl);
    while (!out.empty() && (out.back() == '\r' || out.back() == ' '))
        out.pop_back();
    return out;
}

std::string clean_message(const std::string& s) {
    std::string out = s;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    if (out.rfind("ERROR:  ", 0) == 0)
        out = out.substr(8);
    return out;
}

class PgSession : public Session {
  public:
    explicit PgSession(const std::string& conninfo) : m_conn(conninfo), m_notices(m_conn) {}

    Result exec(const std::string& sql) override {
        return guard([&] {
            pqxx::nontransaction tx(m_conn);
            return convert(tx.exec(sql));
        });
    }

    Result exec_params(const std::string& sql, const std::vector<Param>& params) override {
        return guard([&] {
            std::vector<const char*> raw;
            raw.reserve(params.size());
            for (const auto& p : params)
                raw.push_back(p ? p->c_str() : nullptr);
            pqxx::nontransaction tx(m_conn);
            return convert(tx.exec_params(sql, pqxx::prepare::make_dynamic_params(raw)));
        });
    }

    void cancel() override {
        try {
            m_conn.cancel_query();
        } catch (...) {
        }
    }

    int server_version() override { return m_conn.server_version(); }
    int backend_pid() override { return m_conn.backendpid(); }

  private:
    template <typename F>
    Result guard(F&& f) {
        try {
            return f();
        } catch (const pqxx::broken_connection& e) {
            throw DbError(
                "connection to the database was lost: " + first_line(clean_message(e.what())),
                "08006", true);
        } catch (const pqxx::insufficient_privilege& e) {
            // libpqxx 6 throws this one without its SQLSTATE.
            throw DbError(clean_message(e.what()), "42501", false);
        } catch (const pqxx::sql_error& e) {
            bool lost = e.sqlstate().rfind("08", 0) == 0 || e.sqlstate() == "57P01";
            throw DbError(clean_message(e.what()), e.sqlstate(), lost);
        } catch (const pqxx::in_doubt_error& e) {
            throw DbError(clean_message(e.what()), "08007", true);
        } catch (const pqxx::failure& e) {
            // libpqxx reports a lost connection during a query as a plain failure in some paths.
            bool lost = !m_conn.is_open();
            throw DbError(clean_message(e.what()), lost ? "08006" : "", lost);
        }
    }

    pqxx::connection m_conn;
    NoticeToLog m_notices;
};

bool is_auth_failure(const std::string& msg) {
    return msg.find("password authentication failed") != std::string::npos ||
           msg.find("no password supplied") != std::string::npos ||
           msg.find("authentication failed") != std::string::npos ||
           // Missing CONNECT, a NOLOGIN role, an hba reject: retrying cannot help either.
           msg.find("permission denied for database") != std::string::npos ||
           msg.find("is not permitted to log in") != std::string::npos ||
           msg.find("no pg_hba.conf entry") != std::string::npos ||
           (msg.find("role \"") != std::string::npos &&
            msg.find("does not exist") != std::string::npos) ||
           (msg.find("database \"") != std::string::npos &&
            msg.find("does not exist") != std::string::npos);
}

}  // namespace

std::string Result::get(std::size_t row, std::size_t col, const std::string& fallback) const {
    const auto& v = rows.at(row).at(col);
    return v ? *v : fallback;
}

Value Result::at(std::size_t row, const std::string& column) const {
    for (std::size_t c = 0; c < columns.size(); ++c)
        if (columns[c] == column)
            return rows.at(row).at(c);
    throw std::out_of_range("no column " + column);
}

std::unique_ptr<Session> connect(const Dsn& dsn, const ConnectOptions& options) {
    Dsn d = dsn;
    if (!d.get("connect_timeout")) {
        auto secs = std::max<long long>(1, (options.connect_timeout.count() + 999) / 1000);
        d.set("connect_timeout", std::to_string(secs));
    }
    if (!d.get("application_name"))
        d.set("application_name", options.application_name);
    int attempts = std::max(1, options.retries);
    std::string last;
    Millis backoff{250};
    for (int i = 1; i <= attempts; ++i) {
        try {
            return std::make_unique<PgSession>(d.conninfo());
        } catch (const pqxx::broken_connection& e) {
            last = first_line(clean_message(e.what()));
        } catch (const std::exception& e) {
            last = first_line(clean_message(e.what()));
        }
        if (is_auth_failure(last)) {
            throw Error(ExitCode::usage, "cannot connect to " + dsn.display() + ": " + redact(last),
                        "check the user, database and password (PGPASSFILE or a service file)");
        }
        if (i < attempts) {
            log::debug("connection attempt {} of {} failed: {}", i, attempts, redact(last));
            if (!interrupt::sleep_for(backoff))
                interrupt::check();
            backoff = std::min(backoff * 2, Millis(4000));
        }
    }
    throw Error(ExitCode::unavailable,
                "cannot reach the database " + dsn.display() + " after " +
                    std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") + ": " +
                    redact(last),
                "check the host and port, and that the server runs; retrying later is safe");
}

namespace {

std::string begin_sql(const std::string& setup) {
    return setup.empty() ? "BEGIN" : "BEGIN; " + setup;
}

}  // namespace

Transaction::Transaction(Session& session, const std::string& setup) : m_session(session) {
    m_session.exec(begin_sql(setup));
}

Transaction::Transaction(Session& session, const std::string& setup, Deferred)
    : m_session(session), m_begin(begin_sql(setup)) {}

Transaction::~Transaction() {
    if (m_done || !m_begin.empty())
        return;  // committed, or nothing was ever sent
    try {
        m_session.exec("ROLLBACK");
    } catch (...) {
        // The connection may be gone; the server rolls back on its own then.
    }
}

std::string Transaction::with_begin(const std::string& sql) {
    if (m_begin.empty())
        return sql;
    // A newline before each ";": sql may end in a -- comment.
    std::string message = std::move(m_begin) + ";\n" + sql;
    m_begin.clear();
    return message;
}

Result Transaction::exec(const std::string& sql) {
    return m_session.exec(with_begin(sql));
}

void Transaction::commit(const std::string& last) {
    m_session.exec(with_begin(last.empty() ? "COMMIT" : last + "\n;\nCOMMIT"));
    m_done = true;
}

}  // namespace rollsafe::db
