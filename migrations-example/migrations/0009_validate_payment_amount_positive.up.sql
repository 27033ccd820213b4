-- VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
-- Its own migration, so the short lock of 0008 is committed before the long scan starts.
ALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;
