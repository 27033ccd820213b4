#pragma once

// Classification of catalog changes for blue/green deploys: for each difference between the
// schema before and after a migration, does the app written for the schema before it (the old
// app) keep working, and is the schema after it sound for the new app?

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/catalog/catalog.h"
#include "core/compat/compat.h"

namespace rollsafe::compat {

// Returns the classification of one change. `before` and `after` are the catalogs it came from
// (a column's table, a table's row security, ...). Never throws.
ClassifiedChange classify_change(const CatalogChange& change, const Catalog& before, const Catalog& after);

// Classifies every change of a diff, leaving out the ones a bigger change implies (the columns,
// constraints, indexes and triggers of a table that was added or removed).
std::vector<ClassifiedChange> classify_diff(const Catalog& before, const Catalog& after, const std::string& migration);

// True when a column type change only makes room for more values (varchar(20) -> varchar(50) or
// text, integer -> bigint, numeric(8,2) -> numeric(12,2), real -> double precision, ...).
bool type_widened(const std::string& before, const std::string& after);

// Parses an aclitem[] text ("{app=arw/owner,=r/owner}") into grantee -> privilege letters
// (grant options dropped; "" is PUBLIC). An empty or NULL ACL gives an empty map.
std::map<std::string, std::set<char>> parse_acl(const std::string& acl);

// Returns "grantee: letters" for each privilege `after` no longer has.
std::vector<std::string> privileges_revoked(const std::string& before_acl, const std::string& after_acl);

// Parses enum labels as the catalog holds them ("'a', 'b'") into a list.
std::vector<std::string> parse_enum_labels(const std::string& labels);

}  // namespace rollsafe::compat
