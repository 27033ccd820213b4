ALTER TABLE payments ADD COLUMN provider_ref TEXT;
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider_ref) WHERE provider_ref IS NOT NULL;
