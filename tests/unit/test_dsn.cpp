// Password redaction on every DSN form, and the password-free views of a parsed DSN.
#include <gtest/gtest.h>

#include "core/base/dsn.h"
#include "core/base/error.h"

using namespace rollsafe;

TEST(Redact, UrlUserInfo) {
    EXPECT_EQ(redact("postgres://app:s3cret@db:5432/shop"), "postgres://app:***@db:5432/shop");
    EXPECT_EQ(redact("postgresql://app:p%40ss@db/shop?sslmode=require"),
              "postgresql://app:***@db/shop?sslmode=require");
    // An unencoded '@' or '/' in the password still hides all of it.
    EXPECT_EQ(redact("postgres://app:p@ss@db/shop"), "postgres://app:***@db/shop");
    EXPECT_EQ(redact("postgres://app:pa/ss@db/shop"), "postgres://app:***@db/shop");
    EXPECT_EQ(redact("postgres://app:pw@h1:5432,h2:5433/shop"),
              "postgres://app:***@h1:5432,h2:5433/shop");
}

TEST(Redact, UrlQueryParameter) {
    EXPECT_EQ(redact("postgres://app@db/shop?password=s3cret&sslmode=require"),
              "postgres://app@db/shop?password=***&sslmode=require");
    EXPECT_EQ(redact("postgres://db/shop?sslmode=require&password=s3cret"),
              "postgres://db/shop?sslmode=require&password=***");
    EXPECT_EQ(redact("postgres://app:one@db/shop?password=two"),
              "postgres://app:***@db/shop?password=***");
}

TEST(Redact, KeyValueConninfo) {
    EXPECT_EQ(redact("host=db password=s3cret dbname=shop"), "host=db password=*** dbname=shop");
    EXPECT_EQ(redact("host=db password = s3cret dbname=shop"),
              "host=db password = *** dbname=shop");
    EXPECT_EQ(redact("PASSWORD=s3cret"), "PASSWORD=***");
    EXPECT_EQ(redact("PGPASSWORD=s3cret psql"), "PGPASSWORD=*** psql");
}

TEST(Redact, QuotedKeyValueWithSpacesAndEscapes) {
    EXPECT_EQ(redact("host=db password='my secret pw' dbname=shop"),
              "host=db password=*** dbname=shop");
    EXPECT_EQ(redact("password='it\\'s a secret' user=app"), "password=*** user=app");
    EXPECT_EQ(redact("password=\"two words\" user=app"), "password=*** user=app");
}

TEST(Redact, PasswordsInsideLongerMessages) {
    EXPECT_EQ(redact("cannot reach \"postgres://app:s3cret@db/shop\": timeout"),
              "cannot reach \"postgres://app:***@db/shop\": timeout");
    EXPECT_EQ(redact("{\"url\":\"postgres://app:s3cret@db/shop\"}"),
              "{\"url\":\"postgres://app:***@db/shop\"}");
    EXPECT_EQ(redact("a postgres://u:one@a/x and host=b password=two, done"),
              "a postgres://u:***@a/x and host=b password=***, done");
}

TEST(Redact, LeavesTextWithoutPasswordsAlone) {
    for (const std::string s : {"postgres://app@db:5432/shop", "host=db user=app dbname=shop",
                                "password authentication failed for user \"app\"",
                                "mail me at someone@example.com", ""}) {
        EXPECT_EQ(redact(s), s);
    }
}

TEST(Dsn, ParsesUrlAndHidesThePasswordFromEveryView) {
    auto d = Dsn::parse("postgres://app:s3cret@db.internal:6432/shop?sslmode=require");
    EXPECT_EQ(d.get("user"), "app");
    EXPECT_EQ(d.get("password"), "s3cret");
    EXPECT_EQ(d.get("host"), "db.internal");
    EXPECT_EQ(d.get("port"), "6432");
    EXPECT_EQ(d.get("dbname"), "shop");
    EXPECT_EQ(d.get("sslmode"), "require");
    EXPECT_EQ(d.display(), "app@db.internal:6432/shop");
    EXPECT_EQ(d.conninfo_without_password(),
              "dbname=shop host=db.internal port=6432 sslmode=require user=app");
    EXPECT_NE(d.conninfo().find("password=s3cret"), std::string::npos);
}

TEST(Dsn, ParsesKeyValueWithAQuotedPassword) {
    auto d = Dsn::parse("host=/run/pg port=5432 user=app password='a b\\'c' dbname=shop");
    EXPECT_EQ(d.get("password"), "a b'c");
    EXPECT_EQ(d.display(), "app@/run/pg:5432/shop");
    EXPECT_EQ(d.conninfo_without_password().find("password"), std::string::npos);
    // conninfo() quotes values so that libpq reads back the same thing.
    auto again = Dsn::parse(d.conninfo());
    EXPECT_EQ(again.params(), d.params());
    EXPECT_EQ(redact(d.conninfo()).find("a b"), std::string::npos);
}

TEST(Dsn, EmptyMeansLibpqDefaultsAndDisplayShowsThem) {
    for (const char* v : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"})
        ::unsetenv(v);
    auto d = Dsn::parse("");
    EXPECT_TRUE(d.params().empty());
    EXPECT_EQ(d.display(), "(default host)/(default db)");
    ::setenv("PGHOST", "db.internal", 1);
    ::setenv("PGPORT", "6432", 1);
    ::setenv("PGUSER", "app", 1);
    EXPECT_EQ(d.display(), "app@db.internal:6432/app");
    ::setenv("PGDATABASE", "shop", 1);
    EXPECT_EQ(d.display(), "app@db.internal:6432/shop");
    EXPECT_EQ(Dsn::parse("host=other dbname=x").display(), "app@other:6432/x");
    ::setenv("PGSERVICE", "prod", 1);
    EXPECT_EQ(d.display(), "service prod");
    for (const char* v : {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"})
        ::unsetenv(v);
}

TEST(Dsn, InvalidDsnIsAUsageErrorWithoutThePassword) {
    try {
        Dsn::parse("postgres://app:s3cret@[::1/shop");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        std::string msg = e.what();
        EXPECT_EQ(msg.rfind("invalid database URL: ", 0), 0u) << msg;
        EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
    }
    EXPECT_THROW(Dsn::parse("host=db password='unterminated"), Error);
    EXPECT_THROW(Dsn::parse("nokey"), Error);
}

// Found by tests/fuzz (fuzz_dsn): a password with a ',' (or ';', ')', '&', '#', '"') went into
// conninfo() unquoted, and redact() ends an unquoted password at those characters, so the rest
// of it was printed.
TEST(Dsn, FuzzRegressionPasswordWithARedactStopCharacterIsRedactedWhole) {
    auto dsn = Dsn::parse(
        "postgres://app:,om,h2saA@h1,h2safe password=*** xshop us/e(ire&Hpppshop "
        "us/nam\xC0\xC0\xC0\xC0\xC0"
        "e=rollsafe");
    ASSERT_EQ(dsn.get("password").value_or(""), ",om,h2saA");
    EXPECT_EQ(redact(dsn.conninfo()).find("h2saA"), std::string::npos) << redact(dsn.conninfo());
    for (const std::string pw :
         {"ab,cd,ef", "ab;cdef", "ab)cdef", "ab&cdef", "ab#cdef", "ab\"cd"}) {
        Dsn d;
        d.set("host", "db");
        d.set("password", pw);
        auto shown = redact(d.conninfo());
        EXPECT_EQ(shown.find(pw.substr(3)), std::string::npos) << shown;
        EXPECT_EQ(Dsn::parse(d.conninfo()).get("password").value_or(""), pw);  // still libpq's
    }
}
