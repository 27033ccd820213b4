-- rollsafe:lock-timeout=2s
ALTER TABLE payments DROP CONSTRAINT payments_amount_positive;
