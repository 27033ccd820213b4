-- rollsafe:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS payments_provider_ref_key;
