#pragma once

// Scratch databases for the dynamic compatibility layers: an embedded PgSandbox started once per
// run, or scratch databases created (and dropped) on a server the user names with --dev-url.
// Each trial is a `CREATE DATABASE ... TEMPLATE <before>`: the schema before the pending
// migrations is built once and copied cheaply.

#include <memory>
#include <string>
#include <vector>

#include "core/base/dsn.h"
#include "core/base/duration.h"
#include "core/db/session.h"

namespace rollsafe::compat {

class Scratch {
public:
    virtual ~Scratch() = default;
    // Returns a description for people: "embedded PostgreSQL 15.4 (PgSandbox)".
    virtual std::string description() const = 0;
    // Returns how to reach one database of the scratch server.
    virtual Dsn dsn(const std::string& database) const = 0;
    // Creates a database, empty (template0) or as a copy of another; it is dropped when the
    // scratch goes away. Throws db::DbError.
    virtual void create_database(const std::string& name, const std::string& template_db = "template0") = 0;
    // Drops a database made by create_database (forcing out its sessions).
    virtual void drop_database(const std::string& name) = 0;
    // True when roles may be created on the server (the embedded one: it is ours alone).
    virtual bool may_create_roles() const = 0;
    // Returns a unique database name for this run with the given suffix ("before", "trial1").
    virtual std::string name(const std::string& suffix) const = 0;
    // Time it took to have the server ready (0 for a dev server).
    virtual Millis startup_time() const = 0;
    // Folder of the server's programs (pg_restore for a dump); "" when unknown.
    virtual std::string bindir() const = 0;
};

// Starts an embedded PgSandbox; server_bindir "" searches for the binaries. Throws Error.
std::unique_ptr<Scratch> open_embedded_scratch(const std::string& server_bindir);

// Uses the server of `url` (its database is only used to connect; the user needs CREATEDB).
// Throws Error(UNAVAILABLE) when the server cannot be reached.
std::unique_ptr<Scratch> open_dev_scratch(const std::string& url);

// A connection to a scratch database that is closed before the database is copied or dropped.
std::unique_ptr<db::Session> connect_scratch(const Scratch& scratch, const std::string& database);

}  // namespace rollsafe::compat
