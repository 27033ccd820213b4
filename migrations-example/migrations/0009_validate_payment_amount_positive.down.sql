-- A constraint cannot be "unvalidated": put back the NOT VALID one that 0008 created.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments DROP CONSTRAINT payments_amount_positive;
ALTER TABLE payments
    ADD CONSTRAINT payments_amount_positive CHECK (amount_cents > 0) NOT VALID;
