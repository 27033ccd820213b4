-- The statements the v2.0.0 application runs: the same as v1.1.0 (it always sends provider_ref).
INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id;
SELECT id, email, name, created_at FROM users WHERE lower(email) = lower($1);
INSERT INTO orders (user_id, total_cents) VALUES ($1, $2) RETURNING id, status, created_at;
SELECT id, status, total_cents, created_at, updated_at FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT 20;
UPDATE orders SET status = 'paid' WHERE id = $1 AND status = 'pending';
INSERT INTO payments (order_id, amount_cents, provider, provider_ref, status)
VALUES ($1, $2, $3, $4, 'captured') RETURNING id;
SELECT id, order_id, status FROM payments WHERE provider = $1 AND provider_ref = $2;
SELECT id, total_cents, paid_cents FROM order_balances WHERE id = $1;
