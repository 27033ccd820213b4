// --version, and --help of rollsafe and of every command (each with examples); bad command
// lines exit 2 with a hint.
#include <gtest/gtest.h>

#include <sstream>

#include "core/base/text.h"
#include "support/helpers.h"

using namespace rollsafe;

namespace {

// The command names listed under "Subcommands:" in `rollsafe --help`.
std::vector<std::string> commands_in(const std::string& help) {
    std::vector<std::string> out;
    auto at = help.find("\nSubcommands:\n");
    if (at == std::string::npos)
        return out;
    std::istringstream lines(help.substr(at + 14));
    std::string line;
    while (std::getline(lines, line) && !line.empty()) {
        if (line.size() > 2 && line[0] == ' ' && line[2] != ' ') {
            auto name = std::string(text::trim(line));
            out.push_back(name.substr(0, name.find(' ')));
        }
    }
    return out;
}

}  // namespace

TEST(Help, VersionPrintsNameAndVersion) {
    auto r = test::run_cli({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, std::string("rollsafe ") + ROLLSAFE_VERSION + "\n");
}

TEST(Help, TopLevelHelpListsCommandsAndGlobalOptions) {
    auto r = test::run_cli({"--help"});
    EXPECT_EQ(r.code, 0);
    for (const char* part : {"--config", "--database-url", "--output", "--log-format",
                             "-v,--verbose", "docs/exit-codes.md"})
        EXPECT_NE(r.out.find(part), std::string::npos) << part;
    auto cmds = commands_in(r.out);
    for (const char* mine : {"init", "new", "validate", "sandbox"})
        EXPECT_NE(std::find(cmds.begin(), cmds.end(), mine), cmds.end()) << mine;
}

TEST(Help, EveryCommandHasHelpWithExamples) {
    auto cmds = commands_in(test::run_cli({"--help"}).out);
    ASSERT_GE(cmds.size(), 4u);
    for (const auto& cmd : cmds) {
        auto r = test::run_cli({cmd, "--help"});
        EXPECT_EQ(r.code, 0) << cmd;
        EXPECT_NE(r.out.find("Usage: rollsafe " + cmd), std::string::npos) << cmd << ":\n" << r.out;
        auto ex = r.out.find("\nExamples:\n  rollsafe ");
        EXPECT_NE(ex, std::string::npos) << cmd << " --help shows no examples:\n" << r.out;
        if (ex != std::string::npos) {
            EXPECT_NE(r.out.find(cmd, ex), std::string::npos) << cmd << "'s examples do not use it";
        }
    }
}

TEST(Help, BadCommandLinesExitTwoWithAHint) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"frobnicate"}, {"validate", "--no-such-flag"}, {"-o", "yaml", "validate"}}) {
        auto r = test::run_cli(args);
        EXPECT_EQ(r.code, 2) << text::join(args, " ");
        EXPECT_NE(r.err.find("hint: run `rollsafe --help`"), std::string::npos) << r.err;
    }
}
