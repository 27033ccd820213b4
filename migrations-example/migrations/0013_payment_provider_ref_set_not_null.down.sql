-- Back to 0012's schema: provider_ref optional again (values are kept). The validated CHECK
-- is still there, so applying 0013 again needs no scan either.
-- rollsafe:lock-timeout=2s
ALTER TABLE payments ALTER COLUMN provider_ref DROP NOT NULL;
