-- Nothing to undo: validation only checked existing rows (0011's down drops the constraint).
SELECT 1;
