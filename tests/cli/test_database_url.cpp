// Where the database comes from: --database-url, ROLLSAFE_DATABASE_URL, DATABASE_URL,
// rollsafe.toml, or libpq's own PG* variables and service file; URL and key=value forms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/helpers.h"

using namespace rollsafe;

namespace {

// A project with one pending migration; `status -o json` reads the database without changing it.
struct Project {
    test::TempDir dir;
    test::TestDb db;
    Project() {
        dir.write("migrations/0001_t.up.sql", "CREATE TABLE t (id int);\n");
        dir.write("migrations/0001_t.down.sql", "DROP TABLE t;\n");
    }
    std::string host() const { return test::cluster().dir(); }
    std::string port() const { return std::to_string(test::cluster().port()); }
    // What status reports as the database it read.
    std::string expected() const { return "postgres@" + host() + ":" + port() + "/" + db.name(); }

    nlohmann::json status(const std::vector<std::string>& flags,
                          const std::map<std::string, std::string>& env = {}) const {
        std::vector<std::string> args = {"status", "-o", "json"};
        args.insert(args.end(), flags.begin(), flags.end());
        test::CliOptions o;
        o.cwd = dir.path();
        o.env = env;
        o.env["ROLLSAFE_DATABASE_CONNECT_RETRIES"] = "1";
        auto r = test::run_cli(args, o);
        EXPECT_EQ(r.code, 0) << r.all();
        auto doc = nlohmann::json::parse(r.out, nullptr, false);
        if (doc.is_discarded())
            ADD_FAILURE() << r.out;
        return doc;
    }
};

// A URL for a database on a Unix socket: the folder goes percent-encoded in the host part.
const std::string kBadUrl = "postgres://nobody@127.0.0.1:1/nowhere";

}  // namespace

TEST(DatabaseUrl, FlagInUrlAndKeyValueForm) {
    Project p;
    auto doc = p.status({"--database-url", p.db.url()});
    EXPECT_EQ(doc.value("database", ""), p.expected());
    EXPECT_EQ(doc.at("counts").at("pending"), 1);
    doc = p.status({"--database-url", p.db.conninfo()});
    EXPECT_EQ(doc.value("database", ""), p.expected());
}

TEST(DatabaseUrl, EnvironmentAndFile) {
    Project p;
    EXPECT_EQ(p.status({}, {{"DATABASE_URL", p.db.url()}}).value("database", ""), p.expected());
    EXPECT_EQ(p.status({}, {{"ROLLSAFE_DATABASE_URL", p.db.conninfo()}, {"DATABASE_URL", kBadUrl}})
                  .value("database", ""),
              p.expected());
    p.dir.write("rollsafe.toml", "[database]\nurl = \"" + p.db.url() + "\"\n");
    EXPECT_EQ(p.status({}).value("database", ""), p.expected());
}

TEST(DatabaseUrl, FlagWinsOverEnvironmentWhichWinsOverFile) {
    Project p;
    p.dir.write("rollsafe.toml", "[database]\nurl = \"" + kBadUrl + "\"\n");
    EXPECT_EQ(p.status({}, {{"DATABASE_URL", p.db.url()}}).value("database", ""), p.expected());
    EXPECT_EQ(
        p.status({"--database-url", p.db.url()}, {{"DATABASE_URL", kBadUrl}}).value("database", ""),
        p.expected());
}

TEST(DatabaseUrl, LibpqVariablesWhenNothingElseIsSet) {
    Project p;
    auto doc = p.status({}, {{"PGHOST", p.host()},
                             {"PGPORT", p.port()},
                             {"PGUSER", "postgres"},
                             {"PGDATABASE", p.db.name()}});
    EXPECT_EQ(doc.value("database", ""), p.expected());
    EXPECT_EQ(doc.at("counts").at("pending"), 1);
}

TEST(DatabaseUrl, LibpqServiceFile) {
    Project p;
    auto services =
        p.dir.write("pg_service.conf", "[shop]\nhost=" + p.host() + "\nport=" + p.port() +
                                           "\nuser=postgres\ndbname=" + p.db.name() + "\n");
    auto doc = p.status({"--database-url", "service=shop"}, {{"PGSERVICEFILE", services}});
    EXPECT_EQ(doc.at("counts").at("pending"), 1);
    doc = p.status({}, {{"PGSERVICEFILE", services}, {"PGSERVICE", "shop"}});
    EXPECT_EQ(doc.value("database", ""), "service shop");
}
