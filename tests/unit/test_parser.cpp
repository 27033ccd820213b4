// The statement splitter (PostgreSQL's own parser via libpg_query) and drift normalisation.
#include <gtest/gtest.h>

#include "core/sql/parser.h"

using namespace rollsafe;

namespace {

std::vector<std::string> texts(const sql::ParsedScript& p) {
    std::vector<std::string> out;
    for (const auto& s : p.statements)
        out.push_back(s.text);
    return out;
}

}  // namespace

TEST(Splitter, SplitsOnSemicolonsAndKeepsPositions) {
    auto p = sql::parse_script("CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n  SELECT 2");
    ASSERT_FALSE(p.error);
    EXPECT_EQ(texts(p), (std::vector<std::string>{"CREATE TABLE a (id int)",
                                                  "INSERT INTO a VALUES (1)", "SELECT 2"}));
    EXPECT_EQ(p.statements[0].line, 1);
    EXPECT_EQ(p.statements[0].col, 1);
    EXPECT_EQ(p.statements[1].line, 2);
    EXPECT_EQ(p.statements[2].line, 3);
    EXPECT_EQ(p.statements[2].col, 3);
    EXPECT_EQ(p.statements[0].kind, "CreateStmt");
    EXPECT_EQ(p.statements[1].kind, "InsertStmt");
    EXPECT_EQ(p.statements[2].kind, "SelectStmt");
    EXPECT_TRUE(p.statements[0].node().contains("CreateStmt"));
}

TEST(Splitter, SemicolonsInsideDollarQuotesDoNotSplit) {
    const std::string body =
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n"
        "  NEW.updated_at := now(); -- a comment; with a semicolon\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$fn$";
    auto p = sql::parse_script(body + ";\nDO $$ BEGIN PERFORM 1; END $$;\n");
    ASSERT_FALSE(p.error);
    ASSERT_EQ(p.statements.size(), 2u);
    EXPECT_EQ(p.statements[0].text, body);
    EXPECT_EQ(p.statements[0].kind, "CreateFunctionStmt");
    EXPECT_EQ(p.statements[1].text, "DO $$ BEGIN PERFORM 1; END $$");
    EXPECT_EQ(p.statements[1].line, 7);
    EXPECT_EQ(p.statements[1].kind, "DoStmt");
}

TEST(Splitter, BeginAtomicBodyIsOneStatement) {
    const std::string fn =
        "CREATE FUNCTION order_total(o bigint) RETURNS numeric LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT sum(amount) FROM payments WHERE order_id = o;\n"
        "  SELECT 1;\n"
        "END";
    auto p = sql::parse_script("CREATE TABLE payments (order_id bigint, amount numeric);\n" + fn +
                               ";\nSELECT order_total(1);\n");
    ASSERT_FALSE(p.error) << p.error->message;
    ASSERT_EQ(p.statements.size(), 3u);
    EXPECT_EQ(p.statements[1].text, fn);
    EXPECT_EQ(p.statements[1].line, 2);
    EXPECT_EQ(p.statements[2].text, "SELECT order_total(1)");
    EXPECT_EQ(p.statements[2].line, 7);
}

TEST(Splitter, CommentsAroundStatementsAreNotPartOfThem) {
    auto p = sql::parse_script(
        "-- leading comment; with a semicolon\n"
        "/* block /* nested */ comment; */\n"
        "SELECT 1 -- trailing; comment\n"
        ";\n"
        "SELECT 'a -- not a comment' /* gone */;\n"
        "SELECT 3\n"
        "-- the end; really\n");
    ASSERT_FALSE(p.error);
    EXPECT_EQ(texts(p),
              (std::vector<std::string>{"SELECT 1", "SELECT 'a -- not a comment'", "SELECT 3"}));
    EXPECT_EQ(p.statements[0].line, 3);
    EXPECT_EQ(p.statements[0].col, 1);
    EXPECT_EQ(p.statements[2].line, 6);
}

TEST(Splitter, CommentsInsideAStatementStay) {
    auto p = sql::parse_script("SELECT 1, -- first\n  2;");
    ASSERT_EQ(p.statements.size(), 1u);
    EXPECT_EQ(p.statements[0].text, "SELECT 1, -- first\n  2");
}

TEST(Splitter, ColumnsCountCharactersNotBytes) {
    auto p = sql::parse_script("SELECT 'é'; SELECT 2;\nSELECT 'ü', 'ö'; SELEC 3;");
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->line, 2);
    EXPECT_EQ(p.error->col, 18);
    EXPECT_EQ(p.error->message, "syntax error at or near \"SELEC\"");
    p = sql::parse_script("SELECT 'é'; SELECT 2;");
    ASSERT_EQ(p.statements.size(), 2u);
    EXPECT_EQ(p.statements[1].col, 13);
    EXPECT_EQ(p.statements[1].offset, 13u);  // bytes: 'é' takes two
}

TEST(Splitter, CrlfLineEnds) {
    auto p = sql::parse_script("SELECT 1;\r\nSELECT\r\n  2;\r\n\r\n  SELECT 3;\r\n");
    ASSERT_FALSE(p.error);
    ASSERT_EQ(p.statements.size(), 3u);
    EXPECT_EQ(p.statements[0].text, "SELECT 1");
    EXPECT_EQ(p.statements[1].text, "SELECT\r\n  2");
    EXPECT_EQ(p.statements[1].line, 2);
    EXPECT_EQ(p.statements[2].line, 5);
    EXPECT_EQ(p.statements[2].col, 3);
    auto bad = sql::parse_script("SELECT 1;\r\nSELECT 1 +;\r\n");
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->line, 2);
    EXPECT_EQ(bad.error->col, 11);
}

TEST(Splitter, ByteOrderMarkIsIgnored) {
    const std::string text = "\xEF\xBB\xBFSELECT 1;\nSELECT 2;";
    auto p = sql::parse_script(text);
    ASSERT_FALSE(p.error) << p.error->message;
    ASSERT_EQ(p.statements.size(), 2u);
    EXPECT_EQ(p.statements[0].text, "SELECT 1");
    EXPECT_EQ(p.statements[0].col, 1);
    EXPECT_EQ(p.statements[0].offset, 3u);  // offsets stay offsets into the text given
    EXPECT_EQ(text.substr(p.statements[1].offset, 8), "SELECT 2");
    auto bad = sql::parse_script("\xEF\xBB\xBFSELEC 1;");
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->line, 1);
    EXPECT_EQ(bad.error->col, 1);
}

TEST(Splitter, SyntaxErrorGivesPostgresMessageAndPosition) {
    auto p = sql::parse_script("CREATE TABLE t (\n  id int,\n  name text,,\n);\n");
    ASSERT_TRUE(p.error);
    EXPECT_TRUE(p.statements.empty());
    EXPECT_EQ(p.error->message, "syntax error at or near \",\"");
    EXPECT_EQ(p.error->line, 3);
    EXPECT_EQ(p.error->col, 13);
    auto eof = sql::parse_script("SELECT (1");
    ASSERT_TRUE(eof.error);
    EXPECT_EQ(eof.error->message, "syntax error at end of input");
}

TEST(Splitter, EmptyAndCommentOnlyScriptsHaveNoStatements) {
    EXPECT_TRUE(sql::parse_script("").statements.empty());
    EXPECT_TRUE(sql::parse_script("  \n-- nothing\n/* here */\n").statements.empty());
    EXPECT_FALSE(sql::parse_script("-- nothing\n").error);
}

TEST(Drift, WhitespaceAndCommentChangesAreEqual) {
    const std::string a = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
    const std::string b =
        "-- users of the shop\n"
        "CREATE TABLE users (\n"
        "    id    bigint PRIMARY KEY,   /* surrogate key */\n"
        "    email text NOT NULL\n"
        ");\r\n\r\n";
    EXPECT_EQ(sql::normalized_for_drift(a), sql::normalized_for_drift(b));
    EXPECT_EQ(sql::normalized_for_drift("\xEF\xBB\xBF" + a), sql::normalized_for_drift(a));
}

TEST(Drift, RealChangesDiffer) {
    const std::string base = "CREATE TABLE users (id bigint, email text);";
    for (const std::string changed : {
             "CREATE TABLE users (id bigint, email varchar(200));",
             "CREATE TABLE users (id int, email text);",
             "CREATE TABLE users (id bigint, email text, name text);",
             "CREATE TABLE usersx (id bigint, email text);",
         }) {
        EXPECT_NE(sql::normalized_for_drift(base), sql::normalized_for_drift(changed)) << changed;
    }
    // Whitespace inside quotes is content, not layout.
    EXPECT_NE(sql::normalized_for_drift("SELECT 'a b';"),
              sql::normalized_for_drift("SELECT 'a  b';"));
    EXPECT_NE(sql::normalized_for_drift("SELECT $$a b$$;"),
              sql::normalized_for_drift("SELECT $$a  b$$;"));
    EXPECT_NE(sql::normalized_for_drift("SELECT \"a b\" FROM t;"),
              sql::normalized_for_drift("SELECT \"a  b\" FROM t;"));
    // A comment marker inside a string is not a comment.
    EXPECT_NE(sql::normalized_for_drift("SELECT '-- x';"),
              sql::normalized_for_drift("SELECT '-- y';"));
    // Tokens that would merge if the space were dropped stay apart.
    EXPECT_NE(sql::normalized_for_drift("SELECT a b;"), sql::normalized_for_drift("SELECT ab;"));
}

TEST(Drift, DirectiveChangesDiffer) {
    const std::string sql = "CREATE INDEX CONCURRENTLY i ON t (c);\n";
    auto plain = sql::normalized_for_drift(sql);
    auto notx = sql::normalized_for_drift("-- rollsafe:no-transaction\n" + sql);
    EXPECT_NE(plain, notx);
    EXPECT_NE(sql::normalized_for_drift("-- rollsafe:lock-timeout=1s\n" + sql),
              sql::normalized_for_drift("-- rollsafe:lock-timeout=5s\n" + sql));
    // Spelling of the same directive does not matter; surrounding comments do not either.
    EXPECT_EQ(notx,
              sql::normalized_for_drift("--rollsafe:no-transaction\n-- why: big table\n" + sql));
}

// Found by tests/fuzz (fuzz_sql_parser): libpg_query copied an invalid UTF-8 byte into its
// JSON parse tree and nlohmann::json threw on it; parse_script never throws for bad input.
TEST(Splitter, FuzzRegressionInvalidUtf8IsAParseErrorNotAnException) {
    const std::string text =
        "-- fill them in.\nUPDATE payments SET provider\xFF_ref = 'legacy-' || id WHERE "
        "provider_ref IS NULL;\n";
    sql::ParsedScript parsed;
    ASSERT_NO_THROW(parsed = sql::parse_script(text));
    ASSERT_TRUE(parsed.error);
    EXPECT_EQ(parsed.error->message, "invalid byte sequence for encoding \"UTF8\"");
    EXPECT_EQ(parsed.error->line, 2);
    EXPECT_EQ(parsed.error->col, 29);
    EXPECT_EQ(parsed.error->offset, text.find('\xFF'));
    EXPECT_TRUE(parsed.statements.empty());
}
