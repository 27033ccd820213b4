-- The release that ships the rename: its own statements use the new name.
INSERT INTO orders (user_id, amount_cents) VALUES ($1, $2) RETURNING id, status, created_at;
SELECT id, status, amount_cents, created_at, updated_at FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT 20;
SELECT id, total_cents, paid_cents FROM order_balances WHERE id = $1;
