#pragma once

// `--with-data`: rows written through the new release's contract INSERTs before the downs run
// must still be there, as the old release sees them, after the downs; otherwise the down loses
// data (data-loss-on-down).

#include <string>
#include <vector>

#include "core/catalog/catalog.h"
#include "core/compat/compat.h"
#include "core/db/session.h"

namespace rollsafe::compat {

struct SampleTable {
    std::string name;                       // quote_ident()ed schema.table
    std::vector<std::string> blue_columns;  // the columns the old release knows
    std::vector<std::string> green_columns; // columns only the new release knows
    std::vector<std::string> rows;          // the rows as the old release sees them (row text), sorted
    bool lost = false;
    std::string lost_by;                    // the migration whose down lost rows
    std::string lost_how;                   // "table dropped", "2 of 3 rows gone", ...
};

struct SampleRows {
    std::vector<SampleTable> tables;
    std::vector<std::string> notes;  // statements that could not insert, green-only tables
    int inserted = 0;
};

// Returns a text value of a parameter for a sample row: the newest referenced key for a
// foreign-key column, else a value of the parameter's type made unique by `n`; nullopt for
// types it has no value for.
std::optional<std::string> sample_value(db::Session& session, const std::string& table, const std::string& column,
                                        const std::string& type, int n);

// Runs every INSERT of `green` that works at state `state` once with sample values; returns
// what went in, seen with the columns of `before` (the old release's schema). Throws
// Error(UNAVAILABLE) when the connection is lost.
SampleRows insert_sample_rows(db::Session& session, const ContractRun& green, std::size_t state, const Catalog& before);

// Compares the rows after a down with the ones recorded; marks tables that lost rows with
// `migration`. Returns the tables newly found lossy.
std::vector<SampleTable*> check_sample_rows(db::Session& session, SampleRows& rows, const std::string& migration);

}  // namespace rollsafe::compat
