-- The demo store the billing and returns tools work on (issue 3), the audit
-- trail of every tool call, and staff approvals of high-value actions.
--
-- Money is numeric(12,2) with an ISO currency next to it. Over-refunding is
-- impossible at the database level: orders carry paid/refunded totals kept by
-- triggers on payments and refunds, and a CHECK refuses refunded > paid.
CREATE SCHEMA IF NOT EXISTS store;

CREATE TABLE store.customers (
    customer_id text PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL UNIQUE,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE store.products (
    sku         text PRIMARY KEY,
    name        text NOT NULL,
    unit_price  numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    currency    char(3) NOT NULL DEFAULT 'USD',
    final_sale  boolean NOT NULL DEFAULT false
);

CREATE TABLE store.orders (
    order_id        bigint PRIMARY KEY,
    customer_id     text NOT NULL REFERENCES store.customers,
    status          text NOT NULL CHECK (status IN (
                        'placed', 'paid', 'shipped', 'delivered', 'cancelled',
                        'returned', 'partially_refunded', 'refunded')),
    currency        char(3) NOT NULL DEFAULT 'USD',
    subtotal        numeric(12,2) NOT NULL CHECK (subtotal >= 0),
    shipping        numeric(12,2) NOT NULL DEFAULT 0 CHECK (shipping >= 0),
    tax             numeric(12,2) NOT NULL DEFAULT 0 CHECK (tax >= 0),
    total           numeric(12,2) NOT NULL CHECK (total = subtotal + shipping + tax),
    -- Maintained by the triggers below; never written by the application.
    paid_amount     numeric(12,2) NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
    refunded_amount numeric(12,2) NOT NULL DEFAULT 0
                    CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount),
    placed_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    cancelled_at    timestamptz
);
CREATE INDEX orders_customer_idx ON store.orders (customer_id, placed_at DESC);

CREATE TABLE store.order_items (
    item_id     bigserial PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES store.orders ON DELETE CASCADE,
    sku         text NOT NULL REFERENCES store.products,
    name        text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    final_sale  boolean NOT NULL DEFAULT false
);
CREATE INDEX order_items_order_idx ON store.order_items (order_id);

CREATE TABLE store.shipments (
    shipment_id     text PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES store.orders ON DELETE CASCADE,
    carrier         text NOT NULL,
    tracking_number text NOT NULL,
    status          text NOT NULL CHECK (status IN ('label_created', 'in_transit', 'delivered')),
    shipped_at      timestamptz,
    delivered_at    timestamptz
);
CREATE INDEX shipments_order_idx ON store.shipments (order_id);

CREATE TABLE store.invoices (
    invoice_id  text PRIMARY KEY,
    order_id    bigint NOT NULL UNIQUE REFERENCES store.orders ON DELETE CASCADE,
    customer_id text NOT NULL REFERENCES store.customers,
    amount      numeric(12,2) NOT NULL CHECK (amount >= 0),
    currency    char(3) NOT NULL,
    status      text NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (invoice_id = 'INV-' || order_id)
);
CREATE INDEX invoices_customer_idx ON store.invoices (customer_id, issued_at DESC);

CREATE TABLE store.payments (
    payment_id  text PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES store.orders ON DELETE CASCADE,
    customer_id text NOT NULL REFERENCES store.customers,
    amount      numeric(12,2) NOT NULL CHECK (amount > 0),
    currency    char(3) NOT NULL,
    method      text NOT NULL,
    -- Only captured payments count towards what can be refunded.
    status      text NOT NULL CHECK (status IN ('authorized', 'captured', 'voided', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_idx ON store.payments (order_id);

CREATE TABLE store.refunds (
    refund_id       text PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES store.orders ON DELETE CASCADE,
    customer_id     text NOT NULL REFERENCES store.customers,
    amount          numeric(12,2) NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    reason          text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued')),
    -- One refund per request: a resumed tool call or a retried turn reuses it.
    idempotency_key text NOT NULL UNIQUE,
    thread_id       text,
    approval_id     text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON store.refunds (order_id, created_at);

CREATE TABLE store.returns (
    rma_number      text PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES store.orders ON DELETE CASCADE,
    customer_id     text NOT NULL REFERENCES store.customers,
    status          text NOT NULL CHECK (status IN (
                        'label_sent', 'in_transit', 'received', 'refunded', 'cancelled')),
    reason          text NOT NULL DEFAULT '',
    item_ids        bigint[] NOT NULL,
    label_url       text NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    thread_id       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX returns_order_idx ON store.returns (order_id);

-- Totals follow payments and refunds; the CHECK on orders then refuses an
-- over-refund inside the very transaction that tries it.
CREATE FUNCTION store.add_captured_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'captured' THEN
        UPDATE store.orders SET paid_amount = paid_amount + NEW.amount
         WHERE order_id = NEW.order_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER payments_add_to_order AFTER INSERT ON store.payments
    FOR EACH ROW EXECUTE FUNCTION store.add_captured_payment();

CREATE FUNCTION store.add_refund() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE store.orders SET refunded_amount = refunded_amount + NEW.amount
     WHERE order_id = NEW.order_id;
    RETURN NEW;
END $$;
CREATE TRIGGER refunds_add_to_order AFTER INSERT ON store.refunds
    FOR EACH ROW EXECUTE FUNCTION store.add_refund();

CREATE FUNCTION store.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is not allowed: issue a new row instead',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END $$;
-- Payments and refunds are facts: append-only.
CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON store.refunds
    FOR EACH ROW EXECUTE FUNCTION store.refuse_change();
CREATE TRIGGER payments_amount_fixed BEFORE UPDATE OF amount, order_id ON store.payments
    FOR EACH ROW EXECUTE FUNCTION store.refuse_change();

-- Every tool call, appended; rows are never changed or removed (the trigger
-- binds superusers too, which REVOKE would not).
CREATE TABLE switchboard.audit_log (
    audit_id    bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    actor_role  text NOT NULL,
    thread_id   text,
    request_id  text,
    tool        text NOT NULL,
    arguments   jsonb NOT NULL DEFAULT '{}'::jsonb,
    outcome     text NOT NULL,
    detail      text,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX audit_log_thread_idx ON switchboard.audit_log (thread_id, at);
CREATE INDEX audit_log_actor_idx ON switchboard.audit_log (actor, at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON switchboard.audit_log
    FOR EACH ROW EXECUTE FUNCTION store.refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON switchboard.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION store.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON switchboard.audit_log FROM PUBLIC;

-- High-value actions waiting for (or decided by) a staff member. The id is
-- derived from (thread_id, tool_call_id), so the tool re-running on resume
-- finds its own row instead of adding one.
CREATE TABLE switchboard.approvals (
    approval_id  text PRIMARY KEY,
    thread_id    text NOT NULL,
    tool_call_id text NOT NULL,
    customer_id  text NOT NULL,
    action       text NOT NULL,
    args         jsonb NOT NULL,
    summary      text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    decided_at   timestamptz,
    decided_by   text,
    decision     jsonb,
    reason       text,
    outcome      jsonb,
    customer_notified_at timestamptz,
    UNIQUE (thread_id, tool_call_id),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX approvals_status_idx ON switchboard.approvals (status, created_at);
CREATE INDEX approvals_thread_idx ON switchboard.approvals (thread_id);
