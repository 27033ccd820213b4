-- Release v1.1.0 (expand only): v1.0.0 keeps running against every step of it.
-- A nullable column without a default: a catalog-only change, old INSERTs still work.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments ADD COLUMN provider_ref text;
