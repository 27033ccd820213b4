-- CREATE INDEX CONCURRENTLY cannot run in a transaction, and does not block writes.
-- IF NOT EXISTS makes a re-run after a failure safe (drop an INVALID index by hand first).
-- rollsafe:no-transaction
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS payments_provider_ref_key
    ON payments (provider, provider_ref)
    WHERE provider_ref IS NOT NULL;
