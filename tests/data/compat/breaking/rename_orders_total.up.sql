-- An intentionally breaking migration for the example shop (tests/integration/test_compat_cli.cpp
-- adds it after the newest release of migrations-example): renaming a column in one step
-- breaks every statement of the running release that names it. The static rules flag the
-- rename; the contract layer shows which statements break, with PostgreSQL's own error.
ALTER TABLE orders RENAME COLUMN total_cents TO amount_cents;
