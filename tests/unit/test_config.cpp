// Configuration: rollsafe.toml < ROLLSAFE_* environment < flags, and every error kind a user can
// make, each with its place and a hint.
#include <gtest/gtest.h>

#include "core/base/config.h"
#include "core/base/error.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

// Loads the configuration from a rollsafe.toml with `toml` (none when empty), env and flags.
Config load(const test::TempDir& dir, const std::string& toml,
            std::map<std::string, std::string> env = {},
            std::vector<std::pair<std::string, std::string>> flags = {}) {
    ConfigSources s;
    s.config_path = dir / "rollsafe.toml";
    if (!toml.empty())
        dir.write("rollsafe.toml", toml);
    s.env = std::move(env);
    s.flags = std::move(flags);
    s.flag_names = {{"lock.wait", "--lock-wait"},
                    {"snapshot.mode", "--snapshot-mode"},
                    {"database.url", "--database-url"}};
    return load_config(s);
}

// Returns the error load() throws (fails the test when it does not throw).
Error load_error(const test::TempDir& dir, const std::string& toml,
                 std::map<std::string, std::string> env = {},
                 std::vector<std::pair<std::string, std::string>> flags = {}) {
    try {
        load(dir, toml, std::move(env), std::move(flags));
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "load_config did not throw";
    return Error(ExitCode::ok, "");
}

}  // namespace

TEST(Config, DefaultsWhenNothingIsSet) {
    test::TempDir dir;
    auto c = load(dir, "");
    EXPECT_EQ(c.migrations_dir, "migrations");
    EXPECT_EQ(c.lock_wait, Millis(60'000));
    EXPECT_EQ(c.lock_timeout, Millis(1'000));
    EXPECT_EQ(c.snapshot_mode, "touched");
    EXPECT_EQ(c.config_path, "");
    EXPECT_EQ(c.origin.at("lock.wait"), "default");
}

TEST(Config, FileThenEnvironmentThenFlagEachLaterOneWins) {
    test::TempDir dir;
    const std::string toml =
        "[lock]\n"
        "wait = \"10s\"\n"
        "[snapshot]\n"
        "mode = \"full\"\n"
        "keep = 3\n"
        "[timeouts]\n"
        "statement = \"5m\"\n";

    auto file_only = load(dir, toml);
    EXPECT_EQ(file_only.lock_wait, Millis(10'000));
    EXPECT_EQ(file_only.snapshot_mode, "full");
    EXPECT_EQ(file_only.origin.at("lock.wait"), (dir / "rollsafe.toml") + ":2");

    auto with_env =
        load(dir, toml, {{"ROLLSAFE_LOCK_WAIT", "20s"}, {"ROLLSAFE_SNAPSHOT_MODE", "none"}});
    EXPECT_EQ(with_env.lock_wait, Millis(20'000));
    EXPECT_EQ(with_env.snapshot_mode, "none");
    EXPECT_EQ(with_env.snapshot_keep, 3);  // untouched by the environment: still the file's
    EXPECT_EQ(with_env.origin.at("lock.wait"), "ROLLSAFE_LOCK_WAIT");

    auto with_flag = load(dir, toml, {{"ROLLSAFE_LOCK_WAIT", "20s"}}, {{"lock.wait", "30s"}});
    EXPECT_EQ(with_flag.lock_wait, Millis(30'000));
    EXPECT_EQ(with_flag.statement_timeout, Millis(300'000));
    EXPECT_EQ(with_flag.origin.at("lock.wait"), "--lock-wait");
}

TEST(Config, DatabaseUrlFromDatabaseUrlUnlessRollsafeVariableIsSet) {
    test::TempDir dir;
    auto c = load(dir, "", {{"DATABASE_URL", "postgres://app@db/shop"}});
    EXPECT_EQ(c.database_url, "postgres://app@db/shop");
    c = load(dir, "",
             {{"DATABASE_URL", "postgres://app@db/shop"},
              {"ROLLSAFE_DATABASE_URL", "host=other dbname=x"}});
    EXPECT_EQ(c.database_url, "host=other dbname=x");
    c = load(dir, "", {{"DATABASE_URL", "postgres://app@db/shop"}},
             {{"database.url", "postgres://flag@db/x"}});
    EXPECT_EQ(c.database_url, "postgres://flag@db/x");
}

TEST(Config, UnknownKeyNamesFileAndLineAndSuggestsTheClosestKey) {
    test::TempDir dir;
    auto e = load_error(dir, "[lock]\nwait = \"5s\"\n\n[timeouts]\nstatment = \"1m\"\n");
    EXPECT_EQ(e.code(), ExitCode::usage);
    ASSERT_EQ(e.diagnostics().size(), 1u);
    const auto& d = e.diagnostics()[0];
    EXPECT_EQ(d.file, dir / "rollsafe.toml");
    EXPECT_EQ(d.line, 5);
    EXPECT_EQ(d.col, 1);  // the key, not its value
    EXPECT_NE(d.message.find("unknown configuration key \"timeouts.statment\""), std::string::npos);
    EXPECT_EQ(d.hint, "did you mean \"timeouts.statement\"?");
    EXPECT_NE(std::string(e.what()).find(dir / "rollsafe.toml:5:1: "), std::string::npos);
    // Dotted keys and inline tables are found at their place too.
    e = load_error(dir, "lock.wiat = \"5s\"\n[snapshot]\nkeep = 1\ntimeouts = { lok = \"1s\" }\n");
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].line, 1);
    EXPECT_EQ(e.diagnostics()[1].message, "unknown configuration key \"snapshot.timeouts.lok\"");
    EXPECT_EQ(e.diagnostics()[1].line, 4);
}

TEST(Config, UnknownKeyFarFromAnyKeyListsTheKnownOnes) {
    test::TempDir dir;
    auto e = load_error(dir, "colour = true\n");
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].line, 1);
    EXPECT_NE(e.diagnostics()[0].hint.find("known keys: database.url"), std::string::npos);
}

TEST(Config, WrongTypeSaysWhatWasExpected) {
    test::TempDir dir;
    auto e = load_error(dir, "[snapshot]\nkeep = \"ten\"\n");
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].line, 2);
    EXPECT_EQ(e.diagnostics()[0].message, "snapshot.keep must be an integer, not a string");
    EXPECT_FALSE(e.diagnostics()[0].hint.empty());

    e = load_error(dir, "[lock]\nwait = 60\n");
    EXPECT_EQ(e.diagnostics().at(0).message,
              "lock.wait must be a duration string such as \"60s\", not an integer");
    e = load_error(dir, "[freeze]\non_rollback = \"yes\"\n");
    EXPECT_EQ(e.diagnostics().at(0).message, "freeze.on_rollback must be a boolean, not a string");
}

TEST(Config, BadValuesAreRejected) {
    test::TempDir dir;
    auto e = load_error(dir, "[snapshot]\nmode = \"everything\"\n");
    EXPECT_EQ(e.diagnostics().at(0).line, 2);
    EXPECT_EQ(e.diagnostics().at(0).message,
              "snapshot.mode must be one of touched, full, none, not \"everything\"");

    e = load_error(dir, "[snapshot]\nkeep = -1\n");
    EXPECT_EQ(e.diagnostics().at(0).message, "snapshot.keep must not be negative");
    e = load_error(dir, "[snapshot]\nkeep = 10000000000\n");
    EXPECT_NE(e.diagnostics().at(0).message.find("too large"), std::string::npos);

    // libpq rejects this URL and quotes it in its message: the password must not come along.
    e = load_error(dir, "[database]\nurl = \"postgres://app:Hunter2@[::1/shop\"\n");
    EXPECT_EQ(e.diagnostics().at(0).line, 2);
    EXPECT_NE(e.diagnostics().at(0).message.find("invalid database URL"), std::string::npos);
    EXPECT_NE(e.diagnostics().at(0).message.find("app:***@"), std::string::npos);
    EXPECT_EQ(e.diagnostics().at(0).message.find("Hunter2"), std::string::npos);
}

TEST(Config, BadDurationShowsTheExpectedForm) {
    test::TempDir dir;
    auto e = load_error(dir, "[timeouts]\nlock = \"soon\"\n");
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].line, 2);
    EXPECT_EQ(e.diagnostics()[0].message,
              "timeouts.lock \"soon\" is not a duration (use e.g. \"500ms\", \"60s\", \"15m\")");
}

TEST(Config, TomlSyntaxErrorHasLineAndColumn) {
    test::TempDir dir;
    auto e = load_error(dir, "[lock]\nwait = \"5s\n");
    EXPECT_EQ(e.code(), ExitCode::usage);
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].file, dir / "rollsafe.toml");
    EXPECT_EQ(e.diagnostics()[0].line, 2);
    EXPECT_GT(e.diagnostics()[0].col, 0);
    EXPECT_EQ(e.diagnostics()[0].hint, "check the TOML syntax near this position");
}

TEST(Config, DuplicateKeyIsASyntaxErrorAtTheSecondDefinition) {
    test::TempDir dir;
    auto e = load_error(dir, "[lock]\nwait = \"5s\"\nwait = \"6s\"\n");
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].line, 3);
    EXPECT_NE(e.diagnostics()[0].message.find("wait"), std::string::npos);
}

TEST(Config, UnknownRollsafeVariableIsAnErrorWithASuggestion) {
    test::TempDir dir;
    auto e = load_error(dir, "", {{"ROLLSAFE_LOCK_WIAT", "5s"}});
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].file, "ROLLSAFE_LOCK_WIAT");
    EXPECT_EQ(e.diagnostics()[0].message, "unknown environment variable");
    EXPECT_EQ(e.diagnostics()[0].hint, "did you mean ROLLSAFE_LOCK_WAIT?");
    // Variables read elsewhere are not keys; other programs' variables are ignored.
    EXPECT_NO_THROW(load(dir, "", {{"ROLLSAFE_CONFIG", "x.toml"}, {"ROLLSAFE_EXAMPLE_DIR", "/x"},
                                   {"ROLLSAFE_TEST_FAULT", "1"}, {"LOCK_WAIT", "x"}}));
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
    test::TempDir dir;
    auto e = load_error(dir, "", {{"ROLLSAFE_LOCK_WAIT", "forever"}});
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].location_and_message(),
              "ROLLSAFE_LOCK_WAIT: \"forever\" is not a duration (use e.g. \"500ms\", \"60s\", "
              "\"15m\")");
    e = load_error(dir, "", {{"ROLLSAFE_SNAPSHOT_KEEP", "many"}});
    EXPECT_EQ(e.diagnostics().at(0).message, "\"many\" is not a non-negative integer");
}

TEST(Config, BadFlagValueNamesTheFlag) {
    test::TempDir dir;
    auto e = load_error(dir, "", {}, {{"snapshot.mode", "all"}});
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].location_and_message(),
              "--snapshot-mode: must be one of touched, full, none, not \"all\"");
    EXPECT_FALSE(e.diagnostics()[0].hint.empty());
}

TEST(Config, MissingExplicitConfigFileIsAnError) {
    test::TempDir dir;
    ConfigSources s;
    s.config_path = dir / "nope.toml";
    s.config_path_explicit = true;
    try {
        load_config(s);
        FAIL() << "no error for a missing --config file";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        EXPECT_EQ(std::string(e.what()),
                  dir / "nope.toml: cannot read configuration: No such file or directory");
        EXPECT_EQ(e.hint(), "check the --config path");
    }
    // The default ./rollsafe.toml may be missing.
    s.config_path_explicit = false;
    EXPECT_NO_THROW(load_config(s));
}

TEST(Config, EveryProblemIsReportedTogether) {
    test::TempDir dir;
    auto e = load_error(dir, "[lock]\nwiat = \"5s\"\n[snapshot]\nmode = \"x\"\n",
                        {{"ROLLSAFE_NOPE", "1"}}, {{"lock.wait", "x"}});
    EXPECT_EQ(e.diagnostics().size(), 4u);
    EXPECT_EQ(std::string(e.what()).rfind("4 configuration problems; first: ", 0), 0u);
}

TEST(Config, EveryKeyHasAnEnvironmentVariableTypeAndHelp) {
    auto keys = config_keys();
    ASSERT_GE(keys.size(), 20u);
    for (const auto& k : keys) {
        EXPECT_FALSE(k.help.empty()) << k.key;
        EXPECT_FALSE(k.type.empty()) << k.key;
        EXPECT_EQ(k.env.rfind("ROLLSAFE_", 0), 0u) << k.key;
    }
}

TEST(Config, DocumentationListsEveryKey) {
    auto doc = test::read(std::string(ROLLSAFE_SOURCE_DIR) + "/docs/configuration.md");
    ASSERT_FALSE(doc.empty()) << "docs/configuration.md is missing";
    for (const auto& k : config_keys()) {
        EXPECT_NE(doc.find("`" + k.key + "`"), std::string::npos) << k.key << " is not documented";
        EXPECT_NE(doc.find("`" + k.env + "`"), std::string::npos) << k.env << " is not documented";
    }
}

TEST(Config, DocumentationListsTheOtherVariables) {
    auto doc = test::read(std::string(ROLLSAFE_SOURCE_DIR) + "/docs/configuration.md");
    for (const auto& v : other_environment_variables())
        EXPECT_NE(doc.find("`" + v + "`"), std::string::npos) << v << " is not documented";
}

TEST(Config, InitTemplateLoadsAndIsCommented) {
    test::TempDir dir;
    auto toml = default_config_toml();
    auto c = load(dir, toml);
    EXPECT_EQ(c.config_path, dir / "rollsafe.toml");
    EXPECT_EQ(c.migrations_dir, "migrations");
    EXPECT_NE(toml.find("# url = "), std::string::npos);
}
