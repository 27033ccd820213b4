#include "core/compat/scratch.h"

#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <set>

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/sandbox/pg_sandbox.h"

namespace rollsafe::compat {
namespace {

std::string run_prefix() {
    static std::atomic<int> runs{0};
    std::random_device rd;
    return "rollsafe_scratch_" + std::to_string(::getpid()) + "_" + std::to_string(runs++) + "_" +
           std::to_string(rd() % 100000);
}

db::ConnectOptions scratch_connect_options() {
    db::ConnectOptions o;
    o.retries = 1;
    o.application_name = "rollsafe-check";
    return o;
}

// Databases made on a server, dropped when the scratch goes away.
class Databases {
public:
    explicit Databases(std::function<std::unique_ptr<db::Session>()> admin) : m_admin(std::move(admin)) {}

    void create(const std::string& name, const std::string& template_db) {
        std::lock_guard<std::mutex> g(m_mutex);
        session().exec("CREATE DATABASE " + text::quote_ident(name) + " TEMPLATE " + text::quote_ident(template_db));
        m_made.insert(name);
    }

    void drop(const std::string& name) {
        std::lock_guard<std::mutex> g(m_mutex);
        session().exec("DROP DATABASE IF EXISTS " + text::quote_ident(name) + " WITH (FORCE)");
        m_made.erase(name);
    }

    void drop_all() noexcept {
        std::lock_guard<std::mutex> g(m_mutex);
        for (const auto& name : m_made) {
            try {
                session().exec("DROP DATABASE IF EXISTS " + text::quote_ident(name) + " WITH (FORCE)");
            } catch (const std::exception& e) {
                log::warn("could not drop the scratch database {}: {}", name, e.what());
            }
        }
        m_made.clear();
    }

private:
    db::Session& session() {
        if (!m_session) m_session = m_admin();
        return *m_session;
    }

    std::function<std::unique_ptr<db::Session>()> m_admin;
    std::unique_ptr<db::Session> m_session;
    std::set<std::string> m_made;
    std::mutex m_mutex;
};

class EmbeddedScratch : public Scratch {
public:
    explicit EmbeddedScratch(const std::string& bindir)
        : m_sandbox([&] {
              SandboxOptions o;
              o.bindir = bindir;
              return o;
          }()),
          m_prefix(run_prefix()),
          m_databases([this] { return db::connect(Dsn::parse(m_sandbox.conninfo()), scratch_connect_options()); }) {
        auto s = db::connect(Dsn::parse(m_sandbox.conninfo()), scratch_connect_options());
        m_version = s->exec("SHOW server_version").get(0, 0);
    }
    // The sandbox goes away with its databases: nothing to drop one by one.

    std::string description() const override {
        return "embedded PostgreSQL " + m_version + " (PgSandbox, ready in " + std::to_string(m_sandbox.startup_time().count()) +
               " ms)";
    }
    Dsn dsn(const std::string& database) const override { return Dsn::parse(m_sandbox.conninfo(database)); }
    void create_database(const std::string& name, const std::string& template_db) override {
        m_databases.create(name, template_db);
    }
    void drop_database(const std::string& name) override { m_databases.drop(name); }
    bool may_create_roles() const override { return true; }
    std::string name(const std::string& suffix) const override { return m_prefix + "_" + suffix; }
    Millis startup_time() const override { return m_sandbox.startup_time(); }
    std::string bindir() const override { return m_sandbox.bindir(); }

private:
    PgSandbox m_sandbox;
    std::string m_prefix;
    std::string m_version;
    Databases m_databases;
};

class DevScratch : public Scratch {
public:
    explicit DevScratch(const std::string& url)
        : m_admin_dsn(Dsn::parse(url)),
          m_prefix(run_prefix()),
          m_databases([this] { return db::connect(m_admin_dsn, scratch_connect_options()); }) {
        auto s = db::connect(m_admin_dsn, scratch_connect_options());
        m_version = s->exec("SHOW server_version").get(0, 0);
    }
    ~DevScratch() override { m_databases.drop_all(); }

    std::string description() const override {
        return "dev server " + m_admin_dsn.display() + " (PostgreSQL " + m_version + ")";
    }
    Dsn dsn(const std::string& database) const override {
        Dsn d = m_admin_dsn;
        d.set("dbname", database);
        return d;
    }
    void create_database(const std::string& name, const std::string& template_db) override {
        m_databases.create(name, template_db);
    }
    void drop_database(const std::string& name) override { m_databases.drop(name); }
    bool may_create_roles() const override { return false; }
    std::string name(const std::string& suffix) const override { return m_prefix + "_" + suffix; }
    Millis startup_time() const override { return Millis{0}; }
    std::string bindir() const override { return ""; }

private:
    Dsn m_admin_dsn;
    std::string m_prefix;
    std::string m_version;
    Databases m_databases;
};

}  // namespace

std::unique_ptr<Scratch> open_embedded_scratch(const std::string& server_bindir) {
    return std::make_unique<EmbeddedScratch>(server_bindir);
}

std::unique_ptr<Scratch> open_dev_scratch(const std::string& url) {
    return std::make_unique<DevScratch>(url);
}

std::unique_ptr<db::Session> connect_scratch(const Scratch& scratch, const std::string& database) {
    return db::connect(scratch.dsn(database), scratch_connect_options());
}

}  // namespace rollsafe::compat
