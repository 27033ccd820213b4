-- The backfilled values are harmless to keep; v1.1.0 reads them like any other reference.
SELECT 1;
