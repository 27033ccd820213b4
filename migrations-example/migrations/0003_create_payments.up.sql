CREATE TABLE payments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     bigint      NOT NULL REFERENCES orders (id),
    amount_cents bigint      NOT NULL,
    provider     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'authorized'
                 CHECK (status IN ('authorized', 'captured', 'refunded', 'failed')),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payments_order_id_idx ON payments (order_id);
