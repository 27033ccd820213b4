-- Expand: a nullable column the old release ignores, kept current by a trigger.
ALTER TABLE orders ADD COLUMN updated_at TEXT;
CREATE TRIGGER orders_touch AFTER UPDATE OF status ON orders
BEGIN
    UPDATE orders SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
