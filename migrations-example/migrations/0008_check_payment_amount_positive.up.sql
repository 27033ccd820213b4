-- NOT VALID: new and updated rows are checked at once; existing rows are not scanned here,
-- so the ACCESS EXCLUSIVE lock is held only for a moment. 0009 validates them.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments
    ADD CONSTRAINT payments_amount_positive CHECK (amount_cents > 0) NOT VALID;
