-- With a validated CHECK (provider_ref IS NOT NULL) in place, PostgreSQL 12+ sets NOT NULL
-- without scanning the table. From here on a payment without provider_ref is refused: the
-- v1.0.0 app, which does not send one, can no longer insert payments. That is the contract
-- step, and why v1.0.0 must be gone before v2.0.0 ships.
-- The CHECK stays: dropping it would leave the down no way back to 0012's validated CHECK
-- but a full scan under an ACCESS EXCLUSIVE lock.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments ALTER COLUMN provider_ref SET NOT NULL;
