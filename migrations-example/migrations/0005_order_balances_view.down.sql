DROP VIEW order_balances;
