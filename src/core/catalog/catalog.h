#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/db/session.h"

namespace rollsafe {

// The schema of a database as a flat map of objects, each with canonical attributes:
// "relation:public.orders" (kind table, view, materialized view, sequence, ...; a view also
// names the columns it reads), "column:public.orders.note" (type, not_null, default, identity,
// generated, acl), "constraint:public.orders.orders_pkey" (definition, validated),
// "index:public.orders_created_at_idx" (definition, valid), "enum:public.order_status" (labels),
// "function:public.f(integer)" (result, language, body, acl), "trigger:public.orders.t",
// "sequence:public.s", "policy:public.orders.p", "domain:public.email", "schema:reporting",
// "extension:btree_gist". Identifiers in keys are quoted as quote_ident() quotes them.
// Used to fingerprint the schema a release was deployed with, to verify a rollback, and to diff
// schema states for blue/green checks.
struct Catalog {
    std::map<std::string, nlohmann::json> objects;

    // Returns a SHA-256 over the canonical form (stable across runs and servers of one major).
    std::string fingerprint() const;
    nlohmann::json to_json() const;
    static Catalog from_json(const nlohmann::json& j);
};

// Reads the catalog of the connected database, leaving out system schemas, objects owned by
// extensions, and the schemas named in `exclude` (rollsafe's own). Throws DbError.
Catalog read_catalog(db::Session& session, const std::set<std::string>& exclude);

// One difference between two catalogs, named for people.
struct CatalogChange {
    std::string kind;       // "added", "removed", "changed"
    std::string object;     // "column:public.orders.note"
    std::string attribute;  // for "changed": which attribute ("type", "not_null", ...)
    std::string before, after;
    // Returns e.g. "column public.orders.note: type text -> varchar(100)".
    std::string describe() const;
};

// Returns the differences from `before` to `after`, in object order.
std::vector<CatalogChange> diff_catalogs(const Catalog& before, const Catalog& after);

}  // namespace rollsafe
