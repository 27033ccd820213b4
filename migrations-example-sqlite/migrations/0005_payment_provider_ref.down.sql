DROP INDEX payments_provider_ref;
ALTER TABLE payments DROP COLUMN provider_ref;
