#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rollsafe::snapshot {

// One relation in a snapshot, with what the catalog said about it when it was dumped.
struct TableEntry {
    std::string schema, name;
    char kind = 'r';              // pg_class.relkind
    long long rows = -1;          // exact count in the dump's own MVCC snapshot; -1: no rows kept
    long long row_estimate = -1;  // pg_class.reltuples
    long long bytes = 0;          // pg_table_size (heap + TOAST)
    long long total_bytes = 0;    // pg_total_relation_size (with indexes)
    std::string why;              // why touched mode chose it

    // Returns "schema.name", quoted where needed.
    std::string qualified() const;
};

// The migration batch a snapshot guards.
struct BatchInfo {
    std::string direction;  // up, down
    std::string run_id;
    std::vector<std::string> migrations;  // "0003_add_status"
};

// The result of the last `snapshot verify` (or of the verification a restore ran).
struct Verification {
    std::string at;
    bool ok = false;
    std::string sha256;  // of the file that was verified
    std::string error;
    std::map<std::string, long long> rows;  // rows found per table in the full read
};

// The JSON manifest beside each archive (<id>.json next to <id>.dump).
struct Manifest {
    int format = 1;
    std::string id;
    std::string created_at;  // ISO 8601 UTC
    long long created_unix = 0;
    long long created_ms = 0;  // milliseconds since the epoch: orders snapshots taken in one second
    std::string database;      // user@host:port/dbname, never a password
    std::string dbname;
    std::string schema_version_before;
    std::string mode;                       // touched | full | tables
    std::vector<std::string> mode_reasons;  // why full was chosen over touched
    std::vector<TableEntry> tables;
    long long bytes = 0;
    std::string sha256;
    std::string pg_dump_version;
    int pg_dump_major = 0;
    std::string server_version;
    int server_version_num = 0;
    std::optional<BatchInfo> batch;
    std::string archive;  // file name of the archive, relative to the manifest
    long long duration_ms = 0;
    std::optional<Verification> verification;

    nlohmann::json to_json() const;
    // Parses a manifest; throws nlohmann::json::exception on a malformed document.
    static Manifest from_json(const nlohmann::json& doc);
    // Returns the entry for a table name ("orders" or "public.orders"), or nullopt; throws
    // Error(USAGE) when an unqualified name matches tables in several schemas.
    std::optional<TableEntry> find_table(const std::string& name) const;
};

}  // namespace rollsafe::snapshot
