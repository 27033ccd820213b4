-- The first step to NOT NULL without a long lock: a CHECK that new rows obey at once,
-- validated separately (0012) so the ACCESS EXCLUSIVE lock here lasts a moment.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments
    ADD CONSTRAINT payments_provider_ref_not_null CHECK (provider_ref IS NOT NULL) NOT VALID;
