#include "core/compat/probe.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

#include "core/base/error.h"
#include "core/db/session.h"

namespace rollsafe::compat {
namespace {

std::string field(const PGresult* r, int code) {
    const char* v = PQresultErrorField(r, code);
    return v ? v : "";
}

class Result {
public:
    explicit Result(PGresult* r) : m_r(r) {}
    ~Result() { PQclear(m_r); }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    PGresult* get() const { return m_r; }

private:
    PGresult* m_r;
};

class PqProbe : public StatementProbe {
public:
    explicit PqProbe(const Dsn& dsn) : m_conn(PQconnectdb(dsn.conninfo().c_str())) {
        if (!m_conn || PQstatus(m_conn) != CONNECTION_OK) {
            std::string why = m_conn ? PQerrorMessage(m_conn) : "out of memory";
            if (m_conn) PQfinish(m_conn);
            m_conn = nullptr;
            throw Error(ExitCode::unavailable, "cannot connect to the scratch database " + dsn.display() + ": " + why);
        }
        PQsetNoticeProcessor(m_conn, [](void*, const char*) {}, nullptr);
    }
    ~PqProbe() override {
        if (m_conn) PQfinish(m_conn);
    }

    ProbeOutcome describe(const std::string& sql) override {
        ProbeOutcome out;
        Result prep(PQprepare(m_conn, "", sql.c_str(), 0, nullptr));
        if (PQresultStatus(prep.get()) != PGRES_COMMAND_OK) {
            lost_check(prep.get());
            out.message = field(prep.get(), PG_DIAG_MESSAGE_PRIMARY);
            if (out.message.empty()) out.message = PQerrorMessage(m_conn);
            out.sqlstate = field(prep.get(), PG_DIAG_SQLSTATE);
            out.position = std::atoi(field(prep.get(), PG_DIAG_STATEMENT_POSITION).c_str());
            return out;
        }
        Result desc(PQdescribePrepared(m_conn, ""));
        if (PQresultStatus(desc.get()) != PGRES_COMMAND_OK) {
            lost_check(desc.get());
            out.message = field(desc.get(), PG_DIAG_MESSAGE_PRIMARY);
            out.sqlstate = field(desc.get(), PG_DIAG_SQLSTATE);
            return out;
        }
        out.ok = true;
        std::vector<std::pair<unsigned, int>> wanted;
        for (int i = 0; i < PQnparams(desc.get()); ++i) wanted.emplace_back(PQparamtype(desc.get(), i), -1);
        for (int i = 0; i < PQnfields(desc.get()); ++i) wanted.emplace_back(PQftype(desc.get(), i), PQfmod(desc.get(), i));
        resolve(wanted);
        for (int i = 0; i < PQnparams(desc.get()); ++i)
            out.parameter_types.push_back(m_types[{PQparamtype(desc.get(), i), -1}]);
        for (int i = 0; i < PQnfields(desc.get()); ++i) {
            ResultColumn c;
            c.name = PQfname(desc.get(), i);
            c.type_oid = PQftype(desc.get(), i);
            c.type = m_types[{c.type_oid, PQfmod(desc.get(), i)}];
            out.columns.push_back(std::move(c));
        }
        return out;
    }

    ProbeOutcome execute_and_roll_back(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                                       std::string* column) override {
        ProbeOutcome out;
        simple("BEGIN");
        // Off for this transaction only: FK checks (they are triggers) would fail on sample values.
        Result role(PQexec(m_conn, "SET LOCAL session_replication_role = replica"));
        std::vector<const char*> raw;
        for (const auto& p : params) raw.push_back(p ? p->c_str() : nullptr);
        Result r(PQexecParams(m_conn, sql.c_str(), static_cast<int>(raw.size()), nullptr, raw.data(), nullptr, nullptr, 0));
        auto status = PQresultStatus(r.get());
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            out.ok = true;
        } else {
            lost_check(r.get());
            out.message = field(r.get(), PG_DIAG_MESSAGE_PRIMARY);
            out.sqlstate = field(r.get(), PG_DIAG_SQLSTATE);
            if (column) *column = field(r.get(), PG_DIAG_COLUMN_NAME);
        }
        simple("ROLLBACK");
        return out;
    }

    std::vector<std::string> column(const std::string& sql, const std::vector<std::string>& params) override {
        std::vector<const char*> raw;
        for (const auto& p : params) raw.push_back(p.c_str());
        Result r(PQexecParams(m_conn, sql.c_str(), static_cast<int>(raw.size()), nullptr, raw.data(), nullptr, nullptr, 0));
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
            lost_check(r.get());
            throw db::DbError(field(r.get(), PG_DIAG_MESSAGE_PRIMARY), field(r.get(), PG_DIAG_SQLSTATE), false);
        }
        std::vector<std::string> out;
        for (int i = 0; i < PQntuples(r.get()); ++i)
            out.emplace_back(PQgetisnull(r.get(), i, 0) ? "" : PQgetvalue(r.get(), i, 0));
        return out;
    }

private:
    void simple(const char* sql) {
        Result r(PQexec(m_conn, sql));
        lost_check(r.get());
    }

    void lost_check(const PGresult*) {
        if (PQstatus(m_conn) != CONNECTION_OK)
            throw Error(ExitCode::unavailable, "lost the connection to the scratch database: " +
                                                   std::string(PQerrorMessage(m_conn)));
    }

    // Names the types not seen yet with format_type(), in one round trip.
    void resolve(const std::vector<std::pair<unsigned, int>>& wanted) {
        std::vector<std::pair<unsigned, int>> todo;
        for (const auto& w : wanted)
            if (!m_types.count(w) && std::find(todo.begin(), todo.end(), w) == todo.end()) todo.push_back(w);
        if (todo.empty()) return;
        std::string oids = "{", mods = "{";
        for (std::size_t i = 0; i < todo.size(); ++i) {
            oids += (i ? "," : "") + std::to_string(todo[i].first);
            mods += (i ? "," : "") + std::to_string(todo[i].second);
        }
        oids += "}";
        mods += "}";
        auto names = column(
            "SELECT format_type(t, CASE WHEN m < 0 THEN NULL ELSE m END) FROM unnest($1::oid[], $2::int[]) "
            "WITH ORDINALITY AS u(t, m, i) ORDER BY i",
            {oids, mods});
        for (std::size_t i = 0; i < todo.size(); ++i)
            m_types[todo[i]] = i < names.size() ? names[i] : std::to_string(todo[i].first);
    }

    PGconn* m_conn = nullptr;
    std::map<std::pair<unsigned, int>, std::string> m_types;
};

}  // namespace

std::unique_ptr<StatementProbe> connect_probe(const Dsn& dsn) {
    return std::make_unique<PqProbe>(dsn);
}

}  // namespace rollsafe::compat
