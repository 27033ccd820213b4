#include <gtest/gtest.h>

#include "core/catalog/catalog.h"

using namespace rollsafe;

TEST(CatalogDiff, NamesAddedRemovedAndChangedAttributes) {
    Catalog before, after;
    before.objects["column:public.users.email"] = {{"type", "text"}, {"not_null", "t"}};
    before.objects["index:public.users_email_idx"] = {{"definition", "CREATE INDEX ..."},
                                                      {"valid", "t"}};
    after.objects["column:public.users.email"] = {{"type", "character varying(100)"},
                                                  {"not_null", "t"}};
    after.objects["column:public.users.phone"] = {{"type", "text"}, {"not_null", "f"}};
    auto changes = diff_catalogs(before, after);
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0].describe(),
              "column public.users.email: type text -> character varying(100)");
    EXPECT_EQ(changes[1].describe(), "index public.users_email_idx: removed");
    EXPECT_EQ(changes[2].describe(), "column public.users.phone: added");
    EXPECT_TRUE(diff_catalogs(after, after).empty());
}

TEST(CatalogDiff, FingerprintIsStableAndSensitive) {
    Catalog a;
    a.objects["relation:public.t"] = {{"kind", "table"}};
    auto b = Catalog::from_json(a.to_json());
    EXPECT_EQ(a.fingerprint(), b.fingerprint());
    b.objects["relation:public.t"]["kind"] = "view";
    EXPECT_NE(a.fingerprint(), b.fingerprint());
}
