#include "core/check/rules.h"

#include <algorithm>

namespace rollsafe::check {
namespace {

const char* const kAccessExclusive = "ACCESS EXCLUSIVE";

std::vector<RuleInfo> build_catalogue() {
    const auto E = Severity::error;
    const auto W = Severity::warning;
    std::vector<RuleInfo> r = {
        // --- blue/green: the old app breaks -------------------------------------------------
        {"drop-table",
         "Dropping a table the old app may still use",
         "blue-green",
         E,
         {"old-app", "loss"},
         {"contract"},
         kAccessExclusive,
         "DROP TABLE (and DROP FOREIGN TABLE) of a table that existed before this migration.",
         "Blue still reads and writes the table: each of its queries fails with \"relation does "
         "not "
         "exist\" as soon as the drop commits. The rows are gone; no down script can bring them "
         "back.",
         "Contract in two releases: (1) ship a release that no longer reads or writes the table "
         "and let "
         "the old release drain; (2) drop the table in a later migration, after a snapshot "
         "(`rollsafe snapshot create`) if its rows may still be needed.",
         {"ban-drop-table"}},
        {"drop-column",
         "Dropping a column the old app may still use",
         "blue-green",
         E,
         {"old-app", "loss"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE ... DROP COLUMN on a table that existed before this migration.",
         "Blue still names the column in SELECT lists, INSERTs and UPDATEs (and ORMs map every "
         "column): "
         "those statements fail with \"column does not exist\". The values are lost; a down script "
         "can "
         "re-add the column but not its data.",
         "Contract in two releases: (1) ship a release that neither reads nor writes the column "
         "(for ORMs, "
         "mark it ignored) and make it nullable or give it a default so inserts that omit it "
         "succeed; "
         "(2) drop the column in a later migration.",
         {"ban-drop-column"}},
        {"drop-schema",
         "Dropping a schema",
         "blue-green",
         E,
         {"old-app", "loss"},
         {"contract"},
         kAccessExclusive,
         "DROP SCHEMA of a schema that existed before this migration.",
         "Every table, view and function in the schema goes with it (CASCADE drops them silently): "
         "blue's "
         "queries on any of them fail and their data is lost.",
         "Move or retire the objects one by one with their own expand/contract steps; drop the "
         "empty "
         "schema last, without CASCADE, so that PostgreSQL refuses if anything is left.",
         {}},
        {"drop-database",
         "Dropping a database",
         "blue-green",
         E,
         {"old-app", "loss"},
         {"contract"},
         "",
         "DROP DATABASE in a migration.",
         "Everything in the database is lost and every connection to it fails. DROP DATABASE also "
         "cannot "
         "run inside a transaction block.",
         "Do not drop databases from migrations; decommission databases by hand, after a backup.",
         {"ban-drop-database"}},
        {"drop-object",
         "Dropping a view, function, type or sequence the old app may use",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         kAccessExclusive,
         "DROP VIEW, MATERIALIZED VIEW, FUNCTION, PROCEDURE, TYPE, DOMAIN, SEQUENCE or EXTENSION "
         "of an object "
         "that existed before this migration.",
         "Blue may still select from the view, call the function or cast to the type: those "
         "statements fail "
         "once the object is gone.",
         "Contract in two releases: ship a release that no longer uses the object, then drop it in "
         "a later "
         "migration.",
         {}},
        {"rename-table",
         "Renaming a table the old app uses",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE/VIEW ... RENAME TO and ALTER TABLE ... SET SCHEMA on a relation that existed "
         "before this "
         "migration (unless the same migration recreates the old name as a view).",
         "Blue still uses the old name: every query it runs against the table fails with "
         "\"relation does not "
         "exist\" from the moment the rename commits.",
         "Rename and keep the old name working: in the same migration `ALTER TABLE old RENAME TO "
         "new;` then "
         "`CREATE VIEW old AS SELECT * FROM new;` (a simple view is updatable, so blue keeps "
         "reading and "
         "writing); ship green using the new name; drop the view in a later release.",
         {"renaming-table"}},
        {"rename-column",
         "Renaming a column the old app uses",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE ... RENAME COLUMN on a column that existed before this migration.",
         "Blue still names the old column: its SELECTs, INSERTs and UPDATEs fail with \"column "
         "does not exist\" "
         "as soon as the rename commits.",
         "Expand/contract: (1) add the new column and keep both in sync (a trigger, or green "
         "writing both); "
         "(2) backfill the new column in batches; (3) ship a release that reads only the new "
         "column; "
         "(4) drop the old column in a later release.",
         {"renaming-column"}},
        {"rename-enum-value",
         "Renaming an enum value the old app writes",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         "",
         "ALTER TYPE ... RENAME VALUE on an enum that existed before this migration.",
         "Blue still writes and compares the old label: INSERTs with it fail with \"invalid input "
         "value for "
         "enum\" and `WHERE status = 'old'` silently matches nothing.",
         "Add the new value (`ALTER TYPE ... ADD VALUE`), ship a release that writes the new value "
         "and reads "
         "both, backfill rows in batches, and stop accepting the old value only when no release "
         "uses it "
         "(enum values cannot be dropped: for labels that change, prefer a lookup table).",
         {}},
        {"rename-object",
         "Renaming a schema, type, function or sequence the old app uses",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         "",
         "RENAME TO or SET SCHEMA of a schema, type, domain, function, procedure or sequence that "
         "existed "
         "before this migration.",
         "Blue still refers to the old name: casts, function calls and nextval() calls in its SQL "
         "fail.",
         "Create the object under the new name beside the old one (a wrapper function, a second "
         "sequence "
         "owned by the same column, ...), ship a release that uses the new name, then drop the old "
         "one.",
         {}},
        {"add-not-null-column-without-default",
         "Adding a NOT NULL column without a default",
         "blue-green",
         E,
         {"old-app", "new-app"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE ... ADD COLUMN ... NOT NULL with no DEFAULT (and not an identity or "
         "generated column) on "
         "a table that existed before this migration.",
         "On a table with rows PostgreSQL rejects it (the existing rows would be NULL), so the "
         "deploy fails. "
         "On an empty table it succeeds, and then every INSERT from blue, which does not know the "
         "column, "
         "fails with a not-null violation.",
         "Add the column nullable, or with a constant DEFAULT (no rewrite since PostgreSQL 11); "
         "backfill "
         "existing rows in batches; then add `CHECK (col IS NOT NULL) NOT VALID`, VALIDATE it in a "
         "later "
         "migration, and SET NOT NULL once no running release omits the column.",
         {"adding-required-field"}},
        {"set-not-null",
         "Setting NOT NULL on an existing column",
         "blue-green",
         E,
         {"old-app", "lock"},
         {"contract", "unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ALTER COLUMN ... SET NOT NULL on a table that existed before this "
         "migration.",
         "PostgreSQL scans the whole table under ACCESS EXCLUSIVE to prove there are no NULLs "
         "(unless a "
         "validated CHECK (col IS NOT NULL) constraint already proves it, PostgreSQL 12+): reads "
         "and writes "
         "wait for the scan. Blue's INSERTs that omit the column, or write NULL, fail from then "
         "on.",
         "(1) `ALTER TABLE t ADD CONSTRAINT t_col_not_null CHECK (col IS NOT NULL) NOT VALID;` (2) "
         "in a later "
         "migration `ALTER TABLE t VALIDATE CONSTRAINT t_col_not_null;` (SHARE UPDATE EXCLUSIVE: "
         "traffic "
         "continues); (3) once no running release writes NULL, `ALTER TABLE t ALTER COLUMN col SET "
         "NOT NULL;` "
         "(no scan on PostgreSQL 12+) and drop the CHECK constraint.",
         {"adding-not-nullable-field"}},
        {"drop-not-null",
         "Dropping NOT NULL the old app relies on",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL on a column that existed before this "
         "migration.",
         "Blue was written for a column that is never NULL (non-optional fields, joins and "
         "arithmetic "
         "without NULL handling). Once green writes NULLs, blue fails or misbehaves reading those "
         "rows.",
         "Ship a release that handles NULL in this column first; drop NOT NULL in a later release.",
         {"ban-drop-not-null"}},
        {"drop-default",
         "Dropping a default the old app relies on",
         "blue-green",
         E,
         {"old-app"},
         {"contract"},
         kAccessExclusive,
         "ALTER TABLE ... ALTER COLUMN ... DROP DEFAULT (or SET DEFAULT NULL) on a column that "
         "existed before "
         "this migration, or on a NOT NULL column added by it.",
         "Blue's INSERTs that omit the column relied on the default: they now store NULL, or fail "
         "if the "
         "column is NOT NULL.",
         "Ship a release that always sets the column explicitly; drop the default in a later "
         "release.",
         {}},
        {"change-column-type",
         "Changing a column's type",
         "blue-green",
         E,
         {"old-app", "lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ALTER COLUMN ... TYPE that is not binary-coercible (varchar(n) to text "
         "or to a larger "
         "n, numeric to more precision, cidr to inet and timestamp precision increases are; USING "
         "never is).",
         "PostgreSQL rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE: every "
         "read and write "
         "waits for the whole rewrite. A narrowing change (varchar(100) to varchar(20), bigint to "
         "integer, "
         "text to integer) also rejects values blue still writes, which makes the migration a "
         "contract "
         "change as well.",
         "Expand/contract: add a new column of the new type, keep it in sync with a trigger, "
         "backfill it in "
         "batches, switch the app to it, and drop the old column in a later release.",
         {"changing-column-type"}},
        {"add-enum-value",
         "Adding an enum value the old app cannot read",
         "blue-green",
         W,
         {"old-app"},
         {},
         "",
         "ALTER TYPE ... ADD VALUE on an enum that existed before this migration.",
         "The statement itself is cheap. But blue does not know the new value: once green writes "
         "it, blue's "
         "code that maps the enum (ORM enum types, exhaustive switches, JSON schemas) can fail "
         "reading those "
         "rows. Before PostgreSQL 12 ADD VALUE cannot run inside a transaction block.",
         "Ship a release that tolerates unknown values (or already knows the new one) before any "
         "release "
         "writes the new value.",
         {"require-enum-value-ordering"}},
        // --- locks ----------------------------------------------------------------------------
        {"add-check-without-not-valid",
         "Adding a CHECK constraint that validates every row under lock",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD CONSTRAINT ... CHECK without NOT VALID (or ADD COLUMN with a CHECK) "
         "on a table "
         "that existed before this migration.",
         "PostgreSQL checks every existing row while holding ACCESS EXCLUSIVE: reads and writes "
         "wait for the "
         "whole scan, and one bad row fails the deploy.",
         "`ADD CONSTRAINT c CHECK (...) NOT VALID` (instant; new and updated rows are checked), "
         "then in a "
         "separate migration `VALIDATE CONSTRAINT c` (SHARE UPDATE EXCLUSIVE: traffic continues).",
         {"constraint-missing-not-valid"}},
        {"add-foreign-key-without-not-valid",
         "Adding a foreign key that validates every row under lock",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         "SHARE ROW EXCLUSIVE",
         "ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY without NOT VALID, or ADD COLUMN ... "
         "REFERENCES, on a "
         "table that existed before this migration.",
         "PostgreSQL checks every row against the referenced table while holding SHARE ROW "
         "EXCLUSIVE on both "
         "tables: writes to either table wait for the whole scan.",
         "`ADD CONSTRAINT fk FOREIGN KEY (...) REFERENCES ... NOT VALID` (brief lock; new rows are "
         "checked), "
         "then in a separate migration `VALIDATE CONSTRAINT fk` (SHARE UPDATE EXCLUSIVE on the "
         "table, ROW "
         "SHARE on the referenced one: traffic continues).",
         {"adding-foreign-key-constraint", "constraint-missing-not-valid"}},
        {"validate-in-same-transaction",
         "Validating a constraint in the transaction that added it",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... VALIDATE CONSTRAINT in the same transaction as the ADD CONSTRAINT ... "
         "NOT VALID.",
         "The ADD took ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY) and keeps it "
         "until the "
         "transaction ends, so the validation scans the table under that lock: exactly what NOT "
         "VALID was "
         "meant to avoid. rollsafe runs each migration in one transaction.",
         "Move the VALIDATE CONSTRAINT to its own, later migration (or after a COMMIT in a "
         "no-transaction "
         "migration).",
         {}},
        {"add-unique-constraint",
         "Adding a UNIQUE constraint that builds its index under lock",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD CONSTRAINT ... UNIQUE (or ADD COLUMN ... UNIQUE) without USING INDEX "
         "on a table "
         "that existed before this migration.",
         "PostgreSQL builds the unique index while holding ACCESS EXCLUSIVE: reads and writes wait "
         "for the "
         "whole build.",
         "In a `-- rollsafe:no-transaction` migration `CREATE UNIQUE INDEX CONCURRENTLY t_col_key "
         "ON t (col);` "
         "then `ALTER TABLE t ADD CONSTRAINT t_col_key UNIQUE USING INDEX t_col_key;` (a brief "
         "lock).",
         {"disallowed-unique-constraint", "constraint-missing-not-valid"}},
        {"add-primary-key",
         "Adding a PRIMARY KEY that builds its index under lock",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD PRIMARY KEY (or ADD COLUMN ... PRIMARY KEY) without USING INDEX on a "
         "table that "
         "existed before this migration.",
         "PostgreSQL builds the unique index, and sets NOT NULL on the key columns with a full "
         "scan, while "
         "holding ACCESS EXCLUSIVE: reads and writes wait for all of it.",
         "Make the key columns NOT NULL safely (see set-not-null), `CREATE UNIQUE INDEX "
         "CONCURRENTLY t_pkey ON "
         "t (id);` in a no-transaction migration, then `ALTER TABLE t ADD CONSTRAINT t_pkey "
         "PRIMARY KEY USING "
         "INDEX t_pkey;`.",
         {"adding-serial-primary-key-field", "constraint-missing-not-valid"}},
        {"add-exclusion-constraint",
         "Adding an exclusion constraint to an existing table",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE on a table that existed before this "
         "migration.",
         "PostgreSQL builds the constraint's index while holding ACCESS EXCLUSIVE; exclusion "
         "constraints can "
         "neither be added NOT VALID nor use a prebuilt index, so there is no online way to add "
         "one.",
         "Create exclusion constraints together with their table. For an existing table, create a "
         "new table "
         "with the constraint and move rows in batches, or add it in a maintenance window and "
         "record why "
         "with `-- rollsafe:allow=add-exclusion-constraint reason=\"...\"`.",
         {"constraint-missing-not-valid"}},
        {"create-index-non-concurrent",
         "Creating an index without CONCURRENTLY",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         "SHARE",
         "CREATE INDEX without CONCURRENTLY on a table that existed before this migration.",
         "CREATE INDEX takes SHARE on the table: every INSERT, UPDATE and DELETE waits for the "
         "whole build.",
         "`CREATE INDEX CONCURRENTLY` in a migration marked `-- rollsafe:no-transaction`. If it "
         "fails it "
         "leaves an INVALID index: `DROP INDEX CONCURRENTLY IF EXISTS` it and run again.",
         {"require-concurrent-index-creation"}},
        {"drop-index-non-concurrent",
         "Dropping an index without CONCURRENTLY",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "DROP INDEX without CONCURRENTLY of an index that existed before this migration.",
         "DROP INDEX takes ACCESS EXCLUSIVE on the index's table: it waits behind every running "
         "query on the "
         "table and blocks every query queued behind it.",
         "`DROP INDEX CONCURRENTLY IF EXISTS` in a migration marked `-- rollsafe:no-transaction`.",
         {"require-concurrent-index-deletion"}},
        {"reindex-non-concurrent",
         "Rebuilding indexes without CONCURRENTLY",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         "SHARE (table), ACCESS EXCLUSIVE (index)",
         "REINDEX without CONCURRENTLY on an index, table, schema or database that existed before "
         "this "
         "migration.",
         "REINDEX blocks writes to the table (SHARE) and every query that would use the index "
         "(ACCESS "
         "EXCLUSIVE on the index) for the whole rebuild.",
         "`REINDEX ... CONCURRENTLY` (PostgreSQL 12+) in a `-- rollsafe:no-transaction` migration. "
         "Before 12: "
         "CREATE INDEX CONCURRENTLY a replacement, DROP INDEX CONCURRENTLY the old one, rename the "
         "new one.",
         {"require-concurrent-reindex"}},
        {"volatile-default",
         "Adding a column with a volatile default",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD COLUMN ... DEFAULT <volatile expression> (gen_random_uuid(), "
         "random(), "
         "clock_timestamp(), nextval(), or a function not known to be IMMUTABLE or STABLE) on a "
         "table that "
         "existed before this migration.",
         "A volatile default must be computed for every existing row, so PostgreSQL rewrites the "
         "whole table "
         "under ACCESS EXCLUSIVE. Constant and stable defaults (0, 'x', now()) are stored once in "
         "the catalog "
         "since PostgreSQL 11 and cost nothing.",
         "Add the column without a default (or with a constant one), `ALTER COLUMN ... SET DEFAULT "
         "<expression>` (applies to new rows only), then backfill existing rows in batches.",
         {"adding-field-with-default"}},
        {"add-column-default-rewrite",
         "Adding a column with a default before PostgreSQL 11",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD COLUMN ... DEFAULT <non-null value> on a table that existed before "
         "this "
         "migration, when the target is PostgreSQL 10 or older (--pg-version).",
         "Before PostgreSQL 11 every non-null default is written into every row: the table is "
         "rewritten under "
         "ACCESS EXCLUSIVE.",
         "Add the column without a default, SET DEFAULT in a second statement (new rows only), and "
         "backfill "
         "existing rows in batches. On PostgreSQL 11+ constant defaults are free.",
         {"adding-field-with-default"}},
        {"add-serial-column",
         "Adding a serial or identity column to an existing table",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD COLUMN of type serial/bigserial/smallserial, or GENERATED ... AS "
         "IDENTITY, on a "
         "table that existed before this migration.",
         "Every existing row needs a value from the sequence, so PostgreSQL rewrites the table "
         "under ACCESS "
         "EXCLUSIVE.",
         "Add a nullable bigint column; `ALTER TABLE t ALTER COLUMN c ADD GENERATED BY DEFAULT AS "
         "IDENTITY` "
         "(no rewrite: existing rows stay NULL); backfill existing rows in batches with nextval(); "
         "then make "
         "it NOT NULL safely (see set-not-null).",
         {"prefer-identity"}},
        {"stored-generated-column",
         "Adding a stored generated column to an existing table",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS (...) STORED on a table that existed "
         "before this "
         "migration.",
         "PostgreSQL computes the value for every existing row: a full table rewrite under ACCESS "
         "EXCLUSIVE.",
         "Add a plain nullable column, keep it current with a trigger, backfill it in batches; or "
         "compute the "
         "value in a view or in the query.",
         {"adding-field-with-default"}},
        {"set-logged-unlogged",
         "Switching a table between LOGGED and UNLOGGED",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... SET LOGGED or SET UNLOGGED on a table that existed before this "
         "migration.",
         "Both rewrite the whole table under ACCESS EXCLUSIVE (SET LOGGED also writes all of it to "
         "the WAL, "
         "which floods replicas).",
         "Create a new table with the wanted persistence and move rows in batches, or run it in a "
         "maintenance "
         "window and record why with an allow directive.",
         {}},
        {"set-tablespace",
         "Moving a table or index to another tablespace",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE, ALTER INDEX or ALTER MATERIALIZED VIEW ... SET TABLESPACE on a relation "
         "that existed "
         "before this migration.",
         "PostgreSQL copies every page of the relation to the new tablespace while holding ACCESS "
         "EXCLUSIVE: "
         "reads and writes wait for the whole copy.",
         "Move tables online with pg_repack --tablespace, or in a maintenance window recorded with "
         "an allow "
         "directive. Build new indexes where they belong from the start: `CREATE INDEX "
         "CONCURRENTLY ... "
         "TABLESPACE fast_ssd` in a no-transaction migration, then drop the old index "
         "concurrently.",
         {}},
        {"trigger-on-existing-table",
         "Creating a trigger on a table the old app writes",
         "lock",
         W,
         {"old-app", "lock"},
         {},
         "SHARE ROW EXCLUSIVE",
         "CREATE TRIGGER on a table that existed before this migration.",
         "CREATE TRIGGER takes SHARE ROW EXCLUSIVE (writes wait briefly), and from then on every "
         "write blue "
         "makes runs the trigger: blue does not expect its side effects, and an error in the "
         "trigger fails "
         "blue's INSERTs and UPDATEs.",
         "Write the trigger function so that it works for both releases' writes, test it against "
         "blue's "
         "statements, and keep rollsafe's lock_timeout in force.",
         {}},
        {"vacuum-full",
         "VACUUM FULL",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "VACUUM FULL of a table that existed before this migration (or of the whole database).",
         "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: reads and writes wait for the "
         "whole copy. "
         "VACUUM also cannot run inside a transaction block.",
         "Plain VACUUM (no blocking lock) to make space reusable; pg_repack or pg_squeeze to "
         "shrink a table "
         "online.",
         {}},
        {"cluster",
         "CLUSTER",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "CLUSTER of a table that existed before this migration (or of every clustered table).",
         "CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE: reads and writes wait "
         "for the "
         "whole rewrite.",
         "pg_repack --order-by reorders a table online; otherwise schedule a maintenance window "
         "and record "
         "why with an allow directive.",
         {}},
        {"truncate-cascade",
         "TRUNCATE ... CASCADE",
         "lock",
         E,
         {"lock", "loss"},
         {"unsafe-lock"},
         kAccessExclusive,
         "TRUNCATE ... CASCADE of a table that existed before this migration.",
         "CASCADE also empties every table with a foreign key to the named ones (and theirs, "
         "recursively), "
         "under ACCESS EXCLUSIVE on all of them: often far more data than intended is lost.",
         "Name every table to empty explicitly (`TRUNCATE a, b`) after checking what references "
         "them, or "
         "DELETE in batches.",
         {"ban-truncate-cascade"}},
        {"detach-partition-non-concurrent",
         "Detaching a partition without CONCURRENTLY",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "ALTER TABLE ... DETACH PARTITION without CONCURRENTLY on a partitioned table that "
         "existed before "
         "this migration.",
         "DETACH PARTITION takes ACCESS EXCLUSIVE on the parent: every query on the partitioned "
         "table waits.",
         "`ALTER TABLE parent DETACH PARTITION child CONCURRENTLY` (PostgreSQL 14+) in a "
         "`-- rollsafe:no-transaction` migration.",
         {"require-concurrent-partition-detach"}},
        {"domain-with-constraint",
         "Constraints on domains",
         "lock",
         E,
         {"lock", "new-app"},
         {"unsafe-lock"},
         "SHARE (every table using the domain)",
         "ALTER DOMAIN ... ADD CONSTRAINT without NOT VALID, or SET NOT NULL, on a domain that "
         "existed before "
         "this migration; CREATE DOMAIN with a CHECK or NOT NULL constraint (a warning).",
         "ALTER DOMAIN checks every column of every table that uses the domain while locking those "
         "tables "
         "against writes. A constraint created with the domain can only be changed later the same "
         "way.",
         "`ALTER DOMAIN d ADD CONSTRAINT c CHECK (...) NOT VALID` then `VALIDATE CONSTRAINT c` in "
         "a later "
         "migration. Better: put CHECK constraints on table columns, where they can be added NOT "
         "VALID and "
         "changed online.",
         {"ban-alter-domain-with-add-constraint", "ban-create-domain-with-constraint"}},
        {"unbatched-update",
         "Updating or deleting every row in one statement",
         "lock",
         E,
         {"lock", "data"},
         {"unsafe-lock"},
         "ROW EXCLUSIVE, plus a row lock on every row",
         "UPDATE or DELETE without a WHERE clause (or with WHERE true) on a table that existed "
         "before this "
         "migration.",
         "One statement locks every row until the migration's transaction commits: blue's writes "
         "to any row "
         "wait, the table bloats with dead rows, and replicas lag.",
         "Backfill in batches of a few thousand rows by key range, each batch in its own "
         "transaction (a "
         "`-- rollsafe:no-transaction` migration, or a job outside migrations).",
         {}},
        {"refresh-matview-non-concurrent",
         "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         kAccessExclusive,
         "REFRESH MATERIALIZED VIEW without CONCURRENTLY of a view that existed before this "
         "migration.",
         "The refresh holds ACCESS EXCLUSIVE on the materialized view: every read of it waits for "
         "the whole "
         "refresh.",
         "`REFRESH MATERIALIZED VIEW CONCURRENTLY` (the view needs a unique index).",
         {}},
        {"missing-lock-timeout",
         "A blocking lock taken with no lock_timeout",
         "lock",
         E,
         {"lock"},
         {"unsafe-lock"},
         "",
         "A statement that takes a lock conflicting with reads or writes on an existing table, "
         "while no "
         "lock_timeout is in force: the script turned rollsafe's off (SET lock_timeout = 0, RESET, "
         "SET ... "
         "DEFAULT), `-- rollsafe:lock-timeout=0` or timeouts.lock = 0 disabled it.",
         "The statement waits behind any long-running transaction on the table, and every query on "
         "the table "
         "queues behind it: even an instant ALTER TABLE becomes an outage. rollsafe normally sets "
         "lock_timeout (timeouts.lock) for every statement and retries with backoff.",
         "Remove the SET/RESET of lock_timeout (or set a few seconds: `SET lock_timeout = '2s'`) "
         "so the "
         "statement gives up and rollsafe retries instead of stalling traffic.",
         {"require-lock-timeout"}},
        // --- transactions ---------------------------------------------------------------------
        {"concurrent-in-transaction",
         "CONCURRENTLY inside a transaction",
         "transaction",
         E,
         {"new-app"},
         {},
         "",
         "CREATE INDEX / DROP INDEX / REINDEX CONCURRENTLY or DETACH PARTITION ... CONCURRENTLY in "
         "a migration "
         "rollsafe runs in a transaction (no `-- rollsafe:no-transaction`), or inside BEGIN ... "
         "COMMIT.",
         "These statements cannot run inside a transaction block: the migration fails (\"cannot "
         "run inside a "
         "transaction block\") and green's schema never arrives.",
         "Put `-- rollsafe:no-transaction` at the top of the migration and keep the concurrent "
         "statement "
         "alone in it (or with statements that are safe to run again).",
         {"ban-concurrent-index-creation-in-transaction"}},
        {"statement-fails-in-transaction",
         "A statement that cannot run in a transaction",
         "transaction",
         E,
         {"new-app"},
         {},
         "",
         "VACUUM, CREATE/DROP DATABASE, CREATE/DROP TABLESPACE, ALTER SYSTEM, REINDEX "
         "SCHEMA/DATABASE/SYSTEM, "
         "CLUSTER without a table and (before PostgreSQL 12) ALTER TYPE ... ADD VALUE in a "
         "migration rollsafe "
         "runs in a transaction.",
         "PostgreSQL refuses these inside a transaction block: the migration fails.",
         "Move the statement to a migration marked `-- rollsafe:no-transaction`.",
         {}},
        {"transaction-nesting",
         "Transaction control inside a migration",
         "transaction",
         E,
         {"new-app", "data"},
         {},
         "",
         "BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, PREPARE TRANSACTION or SAVEPOINT inside "
         "a migration. "
         "A BEGIN ... COMMIT around the whole script is accepted: rollsafe removes it and runs the "
         "script in "
         "its own transaction.",
         "rollsafe runs each migration in one transaction (or, with `-- rollsafe:no-transaction`, "
         "statement by "
         "statement) and records it in the same step. A COMMIT in the middle would end that "
         "transaction early, "
         "so a later failure leaves the migration half applied and unrecorded; a ROLLBACK would "
         "discard work "
         "rollsafe then records as applied. rollsafe therefore refuses such scripts (`up` exits "
         "2).",
         "Remove the transaction statements. Statements that need their own transactions go into "
         "separate "
         "migrations, each marked `-- rollsafe:no-transaction` where needed.",
         {"transaction-nesting"}},
        {"uncommitted-transaction",
         "A transaction that is never committed",
         "transaction",
         E,
         {"new-app"},
         {},
         "",
         "A no-transaction migration that runs BEGIN without a matching COMMIT.",
         "The statements after BEGIN are rolled back when the session ends: the migration is "
         "recorded as "
         "applied but its changes are gone.",
         "End the transaction with COMMIT.",
         {"ban-uncommitted-transaction"}},
        {"prefer-robust-statements",
         "Statements that fail when a no-transaction migration is re-run",
         "transaction",
         W,
         {"new-app"},
         {},
         "",
         "In a `-- rollsafe:no-transaction` migration, a CREATE without IF NOT EXISTS, a DROP "
         "without IF "
         "EXISTS, ADD/DROP COLUMN without IF [NOT] EXISTS (and similar) that is followed by more "
         "statements.",
         "Without a transaction every statement commits on its own. If a later statement fails, "
         "the earlier "
         "ones stay applied and `rollsafe repair` or a re-run executes them again: a "
         "non-idempotent statement "
         "then fails with \"already exists\" or \"does not exist\".",
         "Write IF NOT EXISTS / IF EXISTS / OR REPLACE, or give each no-transaction statement its "
         "own "
         "migration. For CREATE INDEX CONCURRENTLY run `DROP INDEX CONCURRENTLY IF EXISTS` first "
         "instead: IF "
         "NOT EXISTS would keep the INVALID index a failed build leaves behind.",
         {"prefer-robust-stmts"}},
        // --- analysis -------------------------------------------------------------------------
        {"unanalysable-statement",
         "A statement whose effect rollsafe cannot see",
         "analysis",
         W,
         {"old-app", "lock"},
         {"unknown"},
         "",
         "DO blocks, CALL of a procedure and EXECUTE of a prepared statement.",
         "They run code rollsafe cannot analyse (dynamic SQL in particular): the statement may "
         "drop, rename "
         "or lock anything, so the migration's class is unknown.",
         "Write schema changes as plain SQL statements so they can be checked. If the block only "
         "changes "
         "data, say so: `-- rollsafe:allow=unanalysable-statement reason=\"...\"`.",
         {}},
        {"unused-allow",
         "An allow directive that suppresses nothing",
         "analysis",
         W,
         {},
         {},
         "",
         "A `-- rollsafe:allow=<rule-id>` directive that names no known rule, or suppresses no "
         "finding.",
         "A typo in a rule id suppresses nothing; a stale allow silently hides a future finding of "
         "that rule "
         "in the same place.",
         "Fix the rule id, or remove the directive.",
         {}},
        // --- hygiene --------------------------------------------------------------------------
        {"json-column",
         "A json column instead of jsonb",
         "hygiene",
         W,
         {},
         {},
         "",
         "A column of type json (in CREATE TABLE, ADD COLUMN or ALTER COLUMN ... TYPE).",
         "json keeps the text and re-parses it on every access; it has no equality operator (no "
         "DISTINCT, "
         "GROUP BY or UNIQUE) and no GIN indexing. Changing it to jsonb later rewrites the table.",
         "Use jsonb.",
         {}},
        {"prefer-bigint",
         "integer or smallint instead of bigint",
         "hygiene",
         W,
         {},
         {},
         "",
         "A column of type integer, smallint, serial or smallserial.",
         "Keys and counters outgrow 2,147,483,647 sooner than expected, and widening the type "
         "later rewrites "
         "the table under ACCESS EXCLUSIVE.",
         "Use bigint (with alignment padding it rarely costs more space).",
         {"prefer-bigint-over-int", "prefer-bigint-over-smallint"}},
        {"prefer-identity",
         "serial instead of an identity column",
         "hygiene",
         W,
         {},
         {},
         "",
         "A column of type serial, bigserial or smallserial.",
         "serial is a sequence loosely attached to the column: its permissions, ownership and "
         "dumps need "
         "separate care, and the column's default can be changed by accident. Identity columns are "
         "the SQL "
         "standard replacement.",
         "`bigint GENERATED ALWAYS AS IDENTITY` (or BY DEFAULT when the app sets ids itself).",
         {"prefer-identity"}},
        {"prefer-text",
         "varchar(n) or char(n) instead of text",
         "hygiene",
         W,
         {},
         {},
         "",
         "A column of type varchar(n) or char(n).",
         "A length limit in the type is a schema change to lift, and lowering it rewrites the "
         "table; char(n) "
         "pads values with spaces. PostgreSQL stores text and varchar the same way.",
         "Use text, with `CHECK (length(col) <= n)` if the limit matters (a CHECK can be added NOT "
         "VALID and "
         "replaced online).",
         {"prefer-text-field", "ban-char-field"}},
        {"prefer-timestamptz",
         "timestamp without time zone",
         "hygiene",
         W,
         {},
         {},
         "",
         "A column of type timestamp (without time zone).",
         "timestamp stores a wall-clock reading without a zone: the same instant is stored "
         "differently by "
         "writers in different zones, and daylight-saving changes make values ambiguous.",
         "Use timestamptz, which stores an instant.",
         {"prefer-timestamp-tz"}},
        {"identifier-too-long",
         "An identifier longer than 63 bytes",
         "hygiene",
         W,
         {},
         {},
         "",
         "A table, column, index, constraint, type, function, schema or trigger name longer than "
         "63 bytes.",
         "PostgreSQL silently truncates identifiers to 63 bytes: two long names can collide, and "
         "tools that "
         "compare the name they wrote with the catalog see a different name.",
         "Keep names at most 63 bytes long.",
         {"identifier-too-long"}},
    };
    std::sort(r.begin(), r.end(), [](const RuleInfo& a, const RuleInfo& b) { return a.id < b.id; });
    return r;
}

}  // namespace

const std::vector<RuleInfo>& rules() {
    static const std::vector<RuleInfo> catalogue = build_catalogue();
    return catalogue;
}

const RuleInfo* find_rule(const std::string& id) {
    const auto& all = rules();
    auto it = std::lower_bound(all.begin(), all.end(), id,
                               [](const RuleInfo& r, const std::string& k) { return r.id < k; });
    return it != all.end() && it->id == id ? &*it : nullptr;
}

std::string rule_doc_path(const std::string& id) {
    return "docs/rules/" + id + ".md";
}

}  // namespace rollsafe::check
