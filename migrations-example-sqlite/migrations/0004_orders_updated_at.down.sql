DROP TRIGGER orders_touch;
ALTER TABLE orders DROP COLUMN updated_at;
