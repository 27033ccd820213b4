-- Release v2.0.0, the contract half of provider_ref: v1.1.0 already writes provider_ref on
-- every new payment, so only rows written before v1.1.0 lack one. Fill them in.
UPDATE payments SET provider_ref = 'legacy-' || id WHERE provider_ref IS NULL;
