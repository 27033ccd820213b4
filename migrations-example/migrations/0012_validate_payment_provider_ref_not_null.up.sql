-- Scans payments under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
ALTER TABLE payments VALIDATE CONSTRAINT payments_provider_ref_not_null;
