#pragma once

// Hidden hazards: breakage that the catalog does not record as a dependency, so neither static
// rules nor a plain catalog diff see it - a trigger function that reads or writes a column the
// table no longer has, an SQL function whose body no longer compiles.

#include <set>
#include <string>
#include <vector>

#include "core/db/session.h"

namespace rollsafe::compat {

struct Hazard {
    std::string key;      // stable identity, to tell hazards a migration introduced from older ones
    std::string object;   // "trigger public.orders.orders_touch" or "function public.f(integer)"
    std::string message;  // what breaks, with PostgreSQL's own error text where it gave one
};

// Returns the NEW./OLD. fields a PL/pgSQL trigger function uses (from its CREATE FUNCTION text,
// parsed with libpg_query): "new.updated_at", "old.status". Empty when it does not parse.
std::vector<std::string> trigger_record_fields(const std::string& function_definition);

// Finds the hidden hazards of the connected database: PL/pgSQL trigger functions whose NEW/OLD
// fields are not columns of the table the trigger is on, and LANGUAGE sql functions that the
// server's validator rejects. Schemas in `exclude` are left out. Throws db::DbError.
std::vector<Hazard> find_hidden_hazards(db::Session& session, const std::set<std::string>& exclude);

}  // namespace rollsafe::compat
