// Classification of catalog changes for the old and the new app (src/core/compat/classify.cpp).
#include <gtest/gtest.h>

#include "core/compat/classify.h"

using namespace rollsafe;
using namespace rollsafe::compat;

namespace {

Catalog catalog(std::map<std::string, nlohmann::json> objects) {
    Catalog c;
    c.objects = std::move(objects);
    return c;
}

nlohmann::json column(const std::string& type, bool not_null = false, const char* def = nullptr) {
    return {{"type", type},
            {"not_null", not_null ? "t" : "f"},
            {"default", def ? nlohmann::json(def) : nlohmann::json(nullptr)},
            {"identity", nullptr},
            {"generated", nullptr}};
}

ClassifiedChange only(const std::vector<ClassifiedChange>& changes) {
    EXPECT_EQ(changes.size(), 1u);
    return changes.empty() ? ClassifiedChange{} : changes.front();
}

const nlohmann::json kTable = {{"kind", "table"}, {"row_security", "f"}};

}  // namespace

TEST(CompatClassify, DroppedColumnBreaksTheOldApp) {
    auto before = catalog({{"relation:public.t", kTable}, {"column:public.t.a", column("text")}, {"column:public.t.b", column("text")}});
    auto after = catalog({{"relation:public.t", kTable}, {"column:public.t.a", column("text")}});
    const auto& c = only(classify_diff(before, after, "0002_drop_b"));
    EXPECT_EQ(c.effect, "breaks-old");
    EXPECT_EQ(c.klass, "contract");
    EXPECT_FALSE(c.reverse);
    EXPECT_EQ(c.migration, "0002_drop_b");
    EXPECT_EQ(c.change.describe(), "column public.t.b: removed");
}

TEST(CompatClassify, NullableColumnIsExpandAndNotNullWithoutDefaultIsNot) {
    auto before = catalog({{"relation:public.t", kTable}});
    auto nullable = catalog({{"relation:public.t", kTable}, {"column:public.t.a", column("text")}});
    EXPECT_EQ(only(classify_diff(before, nullable, "m")).effect, "expand");
    auto with_default = catalog({{"relation:public.t", kTable}, {"column:public.t.a", column("text", true, "'x'::text")}});
    EXPECT_EQ(only(classify_diff(before, with_default, "m")).effect, "expand");
    auto required = catalog({{"relation:public.t", kTable}, {"column:public.t.a", column("text", true)}});
    const auto& c = only(classify_diff(before, required, "m"));
    EXPECT_EQ(c.effect, "breaks-old");
    EXPECT_EQ(c.klass, "contract");
}

TEST(CompatClassify, PartsOfAWholeTableAreNotListedTwice) {
    auto before = catalog({});
    auto after = catalog({{"relation:public.t", kTable},
                          {"column:public.t.a", column("bigint", true)},
                          {"constraint:public.t.t_pkey", {{"type", "p"}, {"definition", "PRIMARY KEY (a)"}, {"validated", "t"}}},
                          {"index:public.t_a_idx", {{"definition", "CREATE INDEX t_a_idx ON public.t USING btree (a)"}, {"valid", "t"}, {"on_table", "public.t"}}},
                          {"relation:public.t_a_seq", {{"kind", "sequence"}}},
                          {"sequence:public.t_a_seq", {{"owned_by", "public.t.a"}}}});
    const auto& c = only(classify_diff(before, after, "m"));
    EXPECT_EQ(c.change.object, "relation:public.t");
    EXPECT_EQ(c.effect, "expand");
}

TEST(CompatClassify, ReverseHazards) {
    // Enum value added: fine now, but the old app cannot read rows the new one writes with it.
    auto e1 = catalog({{"enum:public.status", {{"labels", "'new', 'paid'"}}}});
    auto e2 = catalog({{"enum:public.status", {{"labels", "'new', 'paid', 'refunded'"}}}});
    const auto& added = only(classify_diff(e1, e2, "m"));
    EXPECT_EQ(added.effect, "breaks-old");
    EXPECT_TRUE(added.reverse);
    EXPECT_NE(added.reason.find("'refunded'"), std::string::npos) << added.reason;
    // A label renamed is a plain break.
    auto e3 = catalog({{"enum:public.status", {{"labels", "'new', 'settled'"}}}});
    const auto& renamed = only(classify_diff(e1, e3, "m"));
    EXPECT_FALSE(renamed.reverse);
    EXPECT_EQ(renamed.klass, "contract");

    auto t = [](nlohmann::json col) { return catalog({{"relation:public.t", kTable}, {"column:public.t.a", col}}); };
    const auto& nn = only(classify_diff(t(column("text", true)), t(column("text", false)), "m"));
    EXPECT_TRUE(nn.reverse);
    EXPECT_EQ(nn.effect, "breaks-old");
    const auto& widened = only(classify_diff(t(column("character varying(20)")), t(column("character varying(50)")), "m"));
    EXPECT_TRUE(widened.reverse);
    EXPECT_EQ(widened.klass, "");
    const auto& narrowed = only(classify_diff(t(column("character varying(50)")), t(column("character varying(20)")), "m"));
    EXPECT_FALSE(narrowed.reverse);
    EXPECT_EQ(narrowed.klass, "contract");
    const auto& dropped_default = only(classify_diff(t(column("text", false, "'x'::text")), t(column("text")), "m"));
    EXPECT_TRUE(dropped_default.reverse);
    EXPECT_EQ(dropped_default.effect, "breaks-old");
    const auto& dropped_default_nn =
        only(classify_diff(t(column("text", true, "'x'::text")), t(column("text", true)), "m"));
    EXPECT_FALSE(dropped_default_nn.reverse);
    EXPECT_EQ(dropped_default_nn.klass, "contract");
}

TEST(CompatClassify, ValidatingAConstraintIsOneExpandChange) {
    nlohmann::json not_valid = {{"type", "c"}, {"definition", "CHECK ((a > 0)) NOT VALID"}, {"validated", "f"}};
    nlohmann::json valid = {{"type", "c"}, {"definition", "CHECK ((a > 0))"}, {"validated", "t"}};
    auto changes = classify_diff(catalog({{"constraint:public.t.c", not_valid}}), catalog({{"constraint:public.t.c", valid}}), "m");
    const auto& c = only(changes);
    EXPECT_EQ(c.change.attribute, "validated");
    EXPECT_EQ(c.effect, "expand");
}

TEST(CompatClassify, InvalidIndexBreaksTheNewApp) {
    auto after = catalog({{"index:public.i", {{"definition", "CREATE UNIQUE INDEX i ON public.t USING btree (a)"}, {"valid", "f"}, {"on_table", "public.t"}}}});
    const auto& c = only(classify_diff(catalog({}), after, "m"));
    EXPECT_EQ(c.effect, "breaks-new");
}

TEST(CompatClassify, RevokedPrivilegesBreakTheOldApp) {
    nlohmann::json granted = kTable;
    granted["acl"] = "{owner=arwdDxt/owner,app=arw/owner}";
    nlohmann::json revoked = kTable;
    revoked["acl"] = "{owner=arwdDxt/owner,app=r/owner}";
    const auto& c = only(classify_diff(catalog({{"relation:public.t", granted}}), catalog({{"relation:public.t", revoked}}), "m"));
    EXPECT_EQ(c.effect, "breaks-old");
    EXPECT_NE(c.reason.find("app: aw"), std::string::npos) << c.reason;
    const auto& g = only(classify_diff(catalog({{"relation:public.t", revoked}}), catalog({{"relation:public.t", granted}}), "m"));
    EXPECT_EQ(g.effect, "expand");
}

TEST(CompatClassify, RowSecurityAndPolicies) {
    nlohmann::json rls = kTable;
    rls["row_security"] = "t";
    const auto& on = only(classify_diff(catalog({{"relation:public.t", kTable}}), catalog({{"relation:public.t", rls}}), "m"));
    EXPECT_EQ(on.effect, "breaks-old");
    auto with_policy = catalog({{"relation:public.t", rls}, {"policy:public.t.p", {{"cmd", "SELECT"}}}});
    EXPECT_EQ(only(classify_diff(catalog({{"relation:public.t", rls}}), with_policy, "m")).effect, "breaks-old");
    auto off_policy = catalog({{"relation:public.t", kTable}, {"policy:public.t.p", {{"cmd", "SELECT"}}}});
    EXPECT_EQ(only(classify_diff(catalog({{"relation:public.t", kTable}}), off_policy, "m")).effect, "expand");
}

TEST(CompatClassify, TypeWidening) {
    EXPECT_TRUE(type_widened("character varying(20)", "character varying(50)"));
    EXPECT_TRUE(type_widened("character varying(20)", "text"));
    EXPECT_TRUE(type_widened("character varying(20)", "character varying"));
    EXPECT_TRUE(type_widened("integer", "bigint"));
    EXPECT_TRUE(type_widened("smallint", "integer"));
    EXPECT_TRUE(type_widened("integer", "numeric"));
    EXPECT_TRUE(type_widened("numeric(8,2)", "numeric(12,2)"));
    EXPECT_TRUE(type_widened("real", "double precision"));
    EXPECT_TRUE(type_widened("timestamp(3) with time zone", "timestamp(6) with time zone"));
    EXPECT_TRUE(type_widened("integer[]", "bigint[]"));
    EXPECT_FALSE(type_widened("bigint", "integer"));
    EXPECT_FALSE(type_widened("numeric(8,2)", "numeric(8,1)"));
    EXPECT_FALSE(type_widened("text", "character varying(10)"));
    EXPECT_FALSE(type_widened("integer", "text"));
    EXPECT_FALSE(type_widened("timestamp without time zone", "timestamp with time zone"));
    EXPECT_FALSE(type_widened("integer[]", "bigint"));
    EXPECT_FALSE(type_widened("bigint", "numeric(10,0)"));
}

TEST(CompatClassify, AclParsing) {
    auto acl = parse_acl("{postgres=arwdDxt/postgres,\"my role\"=r*/postgres,=r/postgres}");
    EXPECT_EQ(acl.size(), 3u);
    EXPECT_EQ(acl["my role"], (std::set<char>{'r'}));
    EXPECT_EQ(acl[""], (std::set<char>{'r'}));
    EXPECT_TRUE(parse_acl("").empty());
    EXPECT_EQ(privileges_revoked("{o=arw/o,=r/o}", "{o=arw/o}"), (std::vector<std::string>{"PUBLIC: r"}));
    // Back to the owner's defaults: the owner loses nothing, other grantees do.
    EXPECT_EQ(privileges_revoked("{o=arwdDxt/o,app=r/o}", ""), (std::vector<std::string>{"app: r"}));
}

TEST(CompatClassify, EnumLabels) {
    EXPECT_EQ(parse_enum_labels("'a', 'it''s', 'c, d'"), (std::vector<std::string>{"a", "it's", "c, d"}));
    EXPECT_TRUE(parse_enum_labels("").empty());
}
