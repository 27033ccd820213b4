-- A constraint cannot be "unvalidated": put back the NOT VALID one that 0011 created.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments DROP CONSTRAINT payments_provider_ref_not_null;
ALTER TABLE payments
    ADD CONSTRAINT payments_provider_ref_not_null CHECK (provider_ref IS NOT NULL) NOT VALID;
