-- Back to v1.1.0's schema: provider_ref optional again (values are kept).
-- rollsafe:lock-timeout=2s
ALTER TABLE payments ALTER COLUMN provider_ref DROP NOT NULL;
ALTER TABLE payments
    ADD CONSTRAINT payments_provider_ref_not_null CHECK (provider_ref IS NOT NULL) NOT VALID;
