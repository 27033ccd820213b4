DROP TRIGGER orders_touch_updated_at ON orders;
DROP FUNCTION orders_touch_updated_at();
ALTER TABLE orders DROP COLUMN updated_at;
