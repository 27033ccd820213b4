#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rollsafe::snapshot {

// One entry of an archive's table of contents, as `pg_restore -l -v` lists it.
struct TocEntry {
    int id = 0;
    std::string desc;    // "TABLE", "TABLE DATA", "FK CONSTRAINT", "SEQUENCE OWNED BY", ...
    std::string rest;    // "<schema> <tag> <owner>" as printed
    std::string schema;  // best-effort split of rest ("-" when none)
    std::string tag;
    std::vector<int> deps;  // dump ids this entry depends on ("; depends on:" lines)
    std::string line;       // the listing line, for -L list files
};

// Parses `pg_restore -l -v` output: entries with their dependency lines.
std::vector<TocEntry> parse_toc(const std::string& listing);

// The entries that rebuild one table, in restore order, split by when they run.
struct TableSelection {
    TocEntry table;
    std::vector<TocEntry> pre;   // the table, its owned sequences, defaults, comments, grants
    std::vector<TocEntry> data;  // TABLE DATA
    std::vector<TocEntry> sequence_sets;
    std::vector<TocEntry> post;  // constraints, indexes, triggers, policies, rules, statistics
    std::vector<TocEntry> foreign_keys;  // the table's own FKs (and their comments)
    std::vector<TocEntry> sequences;     // SEQUENCE entries among pre
    std::vector<TocEntry> statistics;    // STATISTICS entries among post
    std::vector<TocEntry>
        others;  // entries of other objects that depend on the table (views, FKs of other tables)

    // Returns every selected entry except the data.
    std::vector<TocEntry> definitions() const;
};

// Selects a table and everything that belongs to it by following the dependency lines: owned
// sequences, defaults, constraints, indexes, triggers, policies, rules, statistics, comments,
// grants, its data and sequence values. Returns nullopt when the archive has no such table.
std::optional<TableSelection> select_table(const std::vector<TocEntry>& toc,
                                           const std::string& schema, const std::string& name);

// Returns the text of a -L list file holding these entries, in this order.
std::string list_file(const std::vector<TocEntry>& entries);

}  // namespace rollsafe::snapshot
