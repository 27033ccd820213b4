-- Loses the references written since v1.1.0 went live (the snapshot keeps them).
-- rollsafe:lock-timeout=2s
ALTER TABLE payments DROP COLUMN provider_ref;
