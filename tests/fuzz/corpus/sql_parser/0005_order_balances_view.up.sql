-- What each order still owes: the checkout and the support tool both read this.
CREATE VIEW order_balances AS
SELECT o.id,
       o.user_id,
       o.total_cents,
       coalesce(sum(p.amount_cents) FILTER (WHERE p.status = 'captured'), 0) AS paid_cents
  FROM orders o
  LEFT JOIN payments p ON p.order_id = o.id
 GROUP BY o.id;
