#include "core/migrations/executable.h"

namespace rollsafe {
namespace {

std::string transaction_kind(const sql::Statement& s) {
    if (s.kind != "TransactionStmt")
        return {};
    return s.node()["TransactionStmt"].value("kind", "");
}

}  // namespace

std::vector<sql::Statement> executable_statements(const Script& script,
                                                  std::vector<Diagnostic>& problems) {
    std::vector<sql::Statement> out = script.statements;
    if (out.size() >= 2) {
        auto first = transaction_kind(out.front());
        auto last = transaction_kind(out.back());
        if ((first == "TRANS_STMT_BEGIN" || first == "TRANS_STMT_START") &&
            last == "TRANS_STMT_COMMIT") {
            out.erase(out.begin());
            out.pop_back();
        }
    }
    for (const auto& s : out) {
        auto kind = transaction_kind(s);
        if (kind.empty())
            continue;
        problems.push_back(
            {script.path, s.line, s.col,
             "transaction control (" + s.text.substr(0, 40) + ") inside a migration",
             "rollsafe runs each migration in one transaction (or statement by statement with "
             "-- rollsafe:no-transaction); remove it"});
    }
    return out;
}

std::vector<sql::Statement> executable_statements(const Script& script) {
    std::vector<Diagnostic> problems;
    auto out = executable_statements(script, problems);
    if (!problems.empty())
        throw Error(ExitCode::usage, problems.front().location_and_message(), problems.front().hint,
                    problems);
    return out;
}

}  // namespace rollsafe
