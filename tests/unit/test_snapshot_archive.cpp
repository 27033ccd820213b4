// The pieces of a table restore that need no database: reading pg_restore's table of contents,
// choosing the entries of one table by their dependency lines, moving its objects to a staging
// schema in pg_restore's SQL, splitting scripts, streaming COPY blocks; plus manifests,
// retention, the password file and the progress bar.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <ctime>
#include <fstream>

#include "core/base/error.h"
#include "core/base/fs.h"
#include "core/snapshot/manifest.h"
#include "core/snapshot/pg_tools.h"
#include "core/snapshot/progress.h"
#include "core/snapshot/script_stream.h"
#include "core/snapshot/sql_rewrite.h"
#include "core/snapshot/store.h"
#include "core/snapshot/toc.h"
#include "support/helpers.h"

using namespace rollsafe;
using namespace rollsafe::snapshot;

namespace {

// `pg_restore -l -v` of a full dump (PostgreSQL 15): orders has a sequence, a default, an index,
// a trigger, an FK to users, RLS, a policy, statistics, comments and a grant; items references
// orders; a view reads orders.
const char* kToc = R"(;
; Archive created at 2026-11-22 00:15:40 UTC
;     dbname: shop
;
; Selected TOC Entries:
;
3386; 0 0 ENCODING - ENCODING 
3389; 1262 16384 DATABASE - shop postgres
844; 1247 16387 TYPE public order_status postgres
221; 1255 16420 FUNCTION public touch() postgres
219; 1259 16423 TABLE public items postgres
218; 1259 16422 SEQUENCE public items_id_seq postgres
;	depends on: 219
217; 1259 16403 TABLE public orders postgres
;	depends on: 844 844
3390; 0 0 COMMENT public TABLE orders postgres
;	depends on: 217
3391; 0 0 COMMENT public COLUMN orders.status postgres
;	depends on: 217
3392; 0 0 ACL public TABLE orders postgres
;	depends on: 217
220; 1259 16435 VIEW public order_totals postgres
;	depends on: 217 217
216; 1259 16402 SEQUENCE public orders_id_seq postgres
;	depends on: 217
3393; 0 0 SEQUENCE OWNED BY public orders_id_seq postgres
;	depends on: 216
215; 1259 16392 TABLE public users postgres
3216; 2604 16406 DEFAULT public orders id postgres
;	depends on: 217 216 217
3383; 0 16423 TABLE DATA public items postgres
;	depends on: 219
3381; 0 16403 TABLE DATA public orders postgres
;	depends on: 217
3396; 0 0 SEQUENCE SET public orders_id_seq postgres
;	depends on: 216
3225; 2606 16413 CONSTRAINT public orders orders_pkey postgres
;	depends on: 217
3223; 2606 16399 CONSTRAINT public users users_pkey postgres
;	depends on: 215
3226; 1259 16419 INDEX public orders_user_idx postgres
;	depends on: 217
3229; 3381 16440 STATISTICS public orders_st postgres
;	depends on: 217 217
3232; 2620 16421 TRIGGER public orders orders_touch postgres
;	depends on: 217 221
3231; 2606 16430 FK CONSTRAINT public items items_order_id_fkey postgres
;	depends on: 3225 219 217
3230; 2606 16414 FK CONSTRAINT public orders orders_user_id_fkey postgres
;	depends on: 215 3223 217
3376; 0 16403 ROW SECURITY public orders postgres
;	depends on: 217
3377; 3256 16439 POLICY public orders p postgres
;	depends on: 217
)";

std::vector<int> ids(const std::vector<TocEntry>& entries) {
    std::vector<int> out;
    for (const auto& e : entries)
        out.push_back(e.id);
    return out;
}

}  // namespace

TEST(SnapshotArchive, TocEntriesWithKindsAndDependencies) {
    auto toc = parse_toc(kToc);
    ASSERT_EQ(toc.size(), 27u);
    const auto& data =
        *std::find_if(toc.begin(), toc.end(), [](const TocEntry& e) { return e.id == 3383; });
    EXPECT_EQ(data.id, 3383);
    EXPECT_EQ(data.desc, "TABLE DATA");
    EXPECT_EQ(data.schema, "public");
    EXPECT_EQ(data.tag, "items");
    EXPECT_EQ(data.deps, std::vector<int>{219});
    auto owned =
        std::find_if(toc.begin(), toc.end(), [](const TocEntry& e) { return e.id == 3393; });
    EXPECT_EQ(owned->desc, "SEQUENCE OWNED BY");
    EXPECT_EQ(owned->tag, "orders_id_seq");
    auto fk = std::find_if(toc.begin(), toc.end(), [](const TocEntry& e) { return e.id == 3230; });
    EXPECT_EQ(fk->desc, "FK CONSTRAINT");
    EXPECT_EQ(fk->tag, "orders orders_user_id_fkey");
    EXPECT_EQ(fk->deps, (std::vector<int>{215, 3223, 217}));
}

TEST(SnapshotArchive, SelectsEverythingThatBelongsToTheTableAndNothingElse) {
    auto sel = select_table(parse_toc(kToc), "public", "orders");
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->table.id, 217);
    EXPECT_EQ(ids(sel->pre), (std::vector<int>{217, 3390, 3391, 3392, 216, 3393, 3216}));
    EXPECT_EQ(ids(sel->data), std::vector<int>{3381});
    EXPECT_EQ(ids(sel->sequence_sets), std::vector<int>{3396});
    EXPECT_EQ(ids(sel->post), (std::vector<int>{3225, 3226, 3229, 3232, 3376, 3377}));
    EXPECT_EQ(ids(sel->foreign_keys), std::vector<int>{3230});
    EXPECT_EQ(ids(sel->sequences), std::vector<int>{216});
    EXPECT_EQ(ids(sel->statistics), std::vector<int>{3229});
    // The view and the FK of items depend on orders but belong elsewhere.
    EXPECT_EQ(ids(sel->others), (std::vector<int>{220, 3231}));
    EXPECT_FALSE(select_table(parse_toc(kToc), "public", "nope"));
    EXPECT_EQ(list_file({sel->table}), "217; 1259 16403 TABLE public orders postgres\n");
}

TEST(SnapshotArchive, MovesOnlyTheRestoredRelationsToTheStagingSchema) {
    std::set<QualifiedName> names = {
        {"public", "orders"}, {"public", "orders_id_seq"}, {"public", "orders_st"}};
    auto move = [&](const std::string& sql) { return move_to_schema(sql, names, "stage"); };
    EXPECT_EQ(move("CREATE TABLE public.orders (\n    id bigint NOT NULL,\n    status "
                   "public.order_status DEFAULT "
                   "'new'::public.order_status\n)"),
              "CREATE TABLE \"stage\".orders (\n    id bigint NOT NULL,\n    status "
              "public.order_status DEFAULT "
              "'new'::public.order_status\n)");
    EXPECT_EQ(move("ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id"),
              "ALTER SEQUENCE \"stage\".orders_id_seq OWNED BY \"stage\".orders.id");
    EXPECT_EQ(move("ALTER TABLE ONLY public.orders ALTER COLUMN id SET DEFAULT "
                   "nextval('public.orders_id_seq'::regclass)"),
              "ALTER TABLE ONLY \"stage\".orders ALTER COLUMN id SET DEFAULT "
              "nextval('\"stage\".\"orders_id_seq\"'::regclass)");
    EXPECT_EQ(move("SELECT pg_catalog.setval('public.orders_id_seq', 3, true)"),
              "SELECT pg_catalog.setval('\"stage\".\"orders_id_seq\"', 3, true)");
    EXPECT_EQ(move("CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW "
                   "EXECUTE FUNCTION "
                   "public.orders()"),
              "CREATE TRIGGER orders_touch BEFORE UPDATE ON \"stage\".orders FOR EACH ROW EXECUTE "
              "FUNCTION "
              "public.orders()");
    EXPECT_EQ(move("ALTER TABLE ONLY public.orders ADD CONSTRAINT f FOREIGN KEY (parent) "
                   "REFERENCES public.orders(id)"),
              "ALTER TABLE ONLY \"stage\".orders ADD CONSTRAINT f FOREIGN KEY (parent) REFERENCES "
              "\"stage\".orders(id)");
    EXPECT_EQ(move("ALTER TABLE ONLY public.orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES "
                   "public.users(id)"),
              "ALTER TABLE ONLY \"stage\".orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES "
              "public.users(id)");
    EXPECT_EQ(move("COMMENT ON COLUMN public.orders.status IS 'public.orders stays in text'"),
              "COMMENT ON COLUMN \"stage\".orders.status IS 'public.orders stays in text'");
    EXPECT_EQ(move("CREATE STATISTICS public.orders_st ON user_id, status FROM public.orders"),
              "CREATE STATISTICS \"stage\".orders_st ON user_id, status FROM \"stage\".orders");
    EXPECT_EQ(move("GRANT SELECT ON TABLE \"public\".\"orders\" TO reader"),
              "GRANT SELECT ON TABLE \"stage\".\"orders\" TO reader");
    std::set<QualifiedName> mixed = {{"Shop", "Order Items"}};
    EXPECT_EQ(
        move_to_schema("CREATE INDEX i ON \"Shop\".\"Order Items\" USING btree (x)", mixed, "s"),
        "CREATE INDEX i ON \"s\".\"Order Items\" USING btree (x)");
}

TEST(SnapshotArchive, SplitsScriptsAroundQuotesCommentsAndMetaCommands) {
    std::string script =
        "\\restrict abc123\n--\n-- Name: orders; Type: TABLE\n--\nSET lock_timeout = 0;\n"
        "CREATE TABLE public.t (a text DEFAULT 'x;y', b text CHECK (b <> $q$;$q$));\n"
        "COMMENT ON TABLE public.t IS E'it\\'s; fine';\n/* block; */\n\\unrestrict abc123\n";
    auto stmts = split_script(script);
    ASSERT_EQ(stmts.size(), 3u);
    EXPECT_EQ(stmts[0], "SET lock_timeout = 0");
    EXPECT_EQ(stmts[1],
              "CREATE TABLE public.t (a text DEFAULT 'x;y', b text CHECK (b <> $q$;$q$))");
    EXPECT_EQ(stmts[2], "COMMENT ON TABLE public.t IS E'it\\'s; fine'");
    EXPECT_EQ(first_keyword(stmts[1]), "CREATE");
    EXPECT_EQ(split_qualified_name("public.\"Order \"\"X\"\"\""),
              (std::vector<std::string>{"public", "Order \"X\""}));
    EXPECT_EQ(split_qualified_name("Public.Orders"),
              (std::vector<std::string>{"public", "orders"}));
}

TEST(SnapshotArchive, StreamsCopyBlocksAcrossChunkBoundaries) {
    std::string script =
        "SET x = 1;\nCOPY public.\"Odd Name\" (id, note) FROM "
        "stdin;\n1\ta\\nb\n2\t\\N\n3\tc\n\\.\n\n"
        "COPY public.empty (id) FROM stdin;\n\\.\nSELECT 1;\n";
    for (std::size_t chunk : {1u, 3u, 7u, 1000u}) {
        std::vector<std::string> tables;
        std::vector<long long> counts;
        std::string data;
        ScriptStream s({[&](const std::vector<std::string>& t, const std::string& cols) {
                            tables.push_back(t.back() + cols);
                        },
                        [&](std::string_view rows) { data.append(rows); },
                        [&](long long n) { counts.push_back(n); }});
        for (std::size_t i = 0; i < script.size(); i += chunk)
            s.feed(std::string_view(script).substr(i, chunk));
        EXPECT_EQ(tables, (std::vector<std::string>{"Odd Name(id, note)", "empty(id)"})) << chunk;
        EXPECT_EQ(counts, (std::vector<long long>{3, 0})) << chunk;
        EXPECT_EQ(data, "1\ta\\nb\n2\t\\N\n3\tc\n") << chunk;
        EXPECT_FALSE(s.inside_copy());
    }
    ScriptStream truncated({nullptr, nullptr, nullptr});
    truncated.feed("COPY public.t (a) FROM stdin;\n1\n2\n");
    EXPECT_TRUE(truncated.inside_copy());
}

TEST(SnapshotArchive, ManifestRoundTripAndTableLookup) {
    Manifest m;
    m.id = "20260101-000000-abcdef";
    m.created_unix = 1767225600;
    m.mode = "touched";
    m.tables = {{"public", "orders", 'r', 3, 3, 8192, 16384, "ALTER TABLE"},
                {"audit", "orders", 'r', 1, 1, 0, 0, ""},
                {"public", "Mixed", 'r', 0, 0, 0, 0, ""}};
    m.batch = BatchInfo{"up", "run1", {"0004_x"}};
    m.verification = Verification{"2026-01-01T00:00:00Z", true, "ab", "", {{"public.orders", 3}}};
    auto back = Manifest::from_json(nlohmann::json::parse(m.to_json().dump()));
    EXPECT_EQ(back.to_json(), m.to_json());
    EXPECT_EQ(back.find_table("public.orders")->schema, "public");
    EXPECT_EQ(back.find_table("AUDIT.orders")->schema, "audit");
    EXPECT_EQ(back.find_table("\"Mixed\"")->name, "Mixed");
    EXPECT_EQ(back.find_table("Mixed")->name, "Mixed");
    EXPECT_FALSE(back.find_table("payments"));
    EXPECT_THROW(back.find_table("orders"), Error);  // in two schemas
}

TEST(SnapshotArchive, PruneKeepsTheNewestPerDatabaseAndHonoursMaxAge) {
    test::TempDir dir;
    SnapshotStore store(dir / "snaps");
    store.prepare();
    std::time_t now = 1767225600;
    auto add = [&](const std::string& id, const std::string& db, long long age_hours) {
        Manifest m;
        m.id = id;
        m.database = db;
        m.archive = id + ".dump";
        m.created_unix = now - age_hours * 3600;
        m.created_ms = m.created_unix * 1000;
        store.save(m);
        dir.write("snaps/" + id + ".dump", "x");
    };
    add("a1", "shop", 50);
    add("a2", "shop", 30);
    add("a3", "shop", 1);
    add("b1", "crm", 100);
    auto dry = store.prune(2, Millis(0), "", true, now);
    ASSERT_EQ(dry.removed.size(), 1u);
    EXPECT_EQ(dry.removed[0].id, "a1");
    EXPECT_TRUE(fs::exists(dir / "snaps/a1.dump"));
    // Older than two days goes too, but the newest of each database always stays.
    auto r = store.prune(10, std::chrono::hours(48), "", false, now);
    std::set<std::string> removed;
    for (const auto& m : r.removed)
        removed.insert(m.id);
    EXPECT_EQ(removed, (std::set<std::string>{"a1"}));
    EXPECT_FALSE(fs::exists(dir / "snaps/a1.dump"));
    EXPECT_FALSE(fs::exists(dir / "snaps/a1.json"));
    EXPECT_TRUE(fs::exists(dir / "snaps/b1.dump"));
    EXPECT_EQ(store.list().size(), 3u);
}

TEST(SnapshotArchive, StoreFolderIsTightenedTo0700AndTempFilesOfDeadWritersAreCleaned) {
    test::TempDir dir;
    std::string snaps = dir / "snaps";
    fs::make_dirs(snaps, 0755);
    SnapshotStore store(snaps);
    store.prepare();
    struct stat st {};
    ASSERT_EQ(::stat(snaps.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    {
        TempArchive live(snaps, "live");
        struct stat ts {};
        ASSERT_EQ(::stat(live.path().c_str(), &ts), 0);
        EXPECT_EQ(ts.st_mode & 0777, 0600u);
        // A dead writer's file has no lock on it.
        std::ofstream(snaps + "/.dead.dump.partial") << "half a dump";
        auto cleaned = store.clean_temp_files();
        EXPECT_EQ(cleaned, std::vector<std::string>{snaps + "/.dead.dump.partial"});
        EXPECT_TRUE(fs::exists(live.path()));  // still held by its writer
    }
    EXPECT_FALSE(fs::exists(snaps + "/.live.dump.partial"));  // not committed: removed
}

TEST(SnapshotArchive, PassFileIsPrivateEscapedAndRemoved) {
    std::string path, dir;
    {
        PassFile pf("s3cr:et\\pw");
        path = pf.path();
        dir = path.substr(0, path.rfind('/'));
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        ASSERT_EQ(::stat(dir.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u);
        EXPECT_EQ(test::read(path), "*:*:*:*:s3cr\\:et\\\\pw\n");
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(dir));

    ChildConnection conn(Dsn::parse("postgresql://app:hunter2@db.example:5432/shop"));
    ProcessSpec spec;
    spec.argv = {"pg_dump"};
    conn.apply(spec);
    for (const auto& a : spec.argv)
        EXPECT_EQ(a.find("hunter2"), std::string::npos) << a;
    EXPECT_NE(spec.argv.back().find("dbname=shop"), std::string::npos);
    ASSERT_EQ(spec.env.size(), 1u);
    EXPECT_EQ(spec.env[0].first, "PGPASSFILE");
    EXPECT_EQ(test::read(spec.env[0].second), "*:*:*:*:hunter2\n");
    EXPECT_EQ(spec.unset_env, std::vector<std::string>{"PGPASSWORD"});
    // A client key's passphrase never reaches argv either.
    ChildConnection ssl(Dsn::parse("host=db dbname=shop sslkey=/k sslpassword=keypass"));
    ProcessSpec s2;
    s2.argv = {"pg_dump"};
    ssl.apply(s2);
    EXPECT_EQ(s2.argv.back().find("keypass"), std::string::npos) << s2.argv.back();
    EXPECT_FALSE(ssl.has_passfile());
}

TEST(SnapshotArchive, ToolVersionsAreParsedAndOlderDumpsRefused) {
    auto v = parse_tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->first, 15);
    EXPECT_EQ(v->second, "15.20");
    EXPECT_EQ(parse_tool_version("pg_dump (PostgreSQL) 9.6.24")->first, 9);
    EXPECT_FALSE(parse_tool_version("garbage"));
    PgTool old{"/opt/pg14/bin/pg_dump", 14, "14.9"};
    try {
        require_tool_not_older(old, 150004, "15.4");
        FAIL() << "an older pg_dump was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::snapshot_failed);
        EXPECT_NE(std::string(e.what()).find("older than the server"), std::string::npos);
    }
    EXPECT_NO_THROW(require_tool_not_older(PgTool{"pg_dump", 16, "16.1"}, 150004, "15.4"));
}

TEST(SnapshotArchive, ProgressShowsABarOnATerminalAfterASecondAndLogLinesOtherwise) {
    Progress::Clock::time_point t{};
    std::vector<std::string> drawn, logged;
    Progress::Options o;
    o.terminal = true;
    o.draw = [&](const std::string& s) { drawn.push_back(s); };
    o.log = [&](const std::string& s) { logged.push_back(s); };
    o.now = [&] { return t; };
    {
        Progress p("snapshot", 1000, o);
        p.update(100);
        EXPECT_TRUE(drawn.empty());  // quick work shows nothing
        t += std::chrono::milliseconds(1500);
        p.update(500);
        ASSERT_EQ(drawn.size(), 1u);
        EXPECT_NE(drawn[0].find(" 50%"), std::string::npos) << drawn[0];
        EXPECT_NE(drawn[0].find("500 B of ~1000 B"), std::string::npos) << drawn[0];
    }
    EXPECT_EQ(drawn.back(), "\r\x1b[K");  // the bar line is cleared at the end
    o.terminal = false;
    Progress p("snapshot", 1000, o);
    for (int i = 0; i < 30; ++i) {
        t += std::chrono::seconds(1);
        p.update(i * 10);
    }
    EXPECT_EQ(logged.size(), 3u);  // at 1 s, then every 10 s
    EXPECT_EQ(human_bytes(1536), "1.5 kB");
    EXPECT_EQ(human_bytes(10LL << 30), "10.0 GB");
}
