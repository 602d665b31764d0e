-- Send and track: deliveries per channel, the append-only invoice timeline, payments,
-- tenant webhook endpoints with their delivery log, bulk batches, the sandbox access point.
--
-- Same isolation as 0001: tenant_id leads every key, RLS is forced. The only cross-tenant
-- lookups (an access point's callback names a message id, not a tenant) go through the
-- SECURITY DEFINER function at the end, which sets app.tenant_id for the transaction.

-- Per-tenant delivery settings: e-mail sender, reply-to, subject template, webhook secret.
CREATE TABLE delivery_settings (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    data        jsonb NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id)
);

-- One row per requested send. `status` is the latest state; every transition is also an
-- event in invoice_events. A worker claims a row by moving it to SENDING with a lease; a
-- lease outlives the send timeout, so two workers never send the same delivery at once.
CREATE TABLE deliveries (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    invoice_id      uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('peppol', 'email', 'webhook')),
    status          text NOT NULL CHECK (status IN ('QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'ACCEPTED',
                                                    'REJECTED', 'FAILED')),
    target          jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    lease_until     timestamptz,
    message_id      text,
    evidence        jsonb,
    response_code   text,
    last_error      text,
    forced          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX deliveries_invoice ON deliveries (tenant_id, invoice_id, channel, created_at);
CREATE UNIQUE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL;

-- The append-only timeline of an invoice (GET /v1/invoices/{id}/events).
CREATE TABLE invoice_events (
    tenant_id   uuid NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    invoice_id  uuid NOT NULL,
    type        text NOT NULL,
    delivery_id uuid,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX invoice_events_invoice ON invoice_events (tenant_id, invoice_id, id);
CREATE TRIGGER invoice_events_write_once BEFORE UPDATE OR DELETE ON invoice_events
    FOR EACH ROW EXECUTE FUNCTION faktura_write_once();

CREATE TABLE payments (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    invoice_id  uuid NOT NULL,
    amount      numeric NOT NULL CHECK (amount > 0),
    date        date NOT NULL,
    reference   text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, created_at);
CREATE TRIGGER payments_write_once BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION faktura_write_once();

CREATE TABLE webhook_endpoints (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    id                   uuid NOT NULL,
    url                  text NOT NULL,
    event_types          text[] NOT NULL,
    -- The signing secret must be usable to sign, so it is stored, not hashed; the API
    -- shows it once, at creation.
    secret               text NOT NULL,
    enabled              boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_reason      text,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_endpoints_page ON webhook_endpoints (tenant_id, created_at DESC, id DESC);

-- One row per (event, endpoint): the delivery log of an endpoint.
CREATE TABLE webhook_deliveries (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    event_id        bigint NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('QUEUED', 'SENDING', 'DELIVERED', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    response_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);

CREATE TABLE bulk_batches (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    issue       boolean NOT NULL,
    total       integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE bulk_items (
    tenant_id       uuid NOT NULL,
    batch_id        uuid NOT NULL,
    idx             integer NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    model           jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('PENDING', 'SUCCESS', 'FAILED')),
    invoice_id      uuid,
    errors          jsonb,
    warnings        jsonb,
    -- An idempotency key seen in an earlier batch: this item reports that item's result.
    replay_of_batch uuid,
    replay_of_idx   integer,
    modified_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, batch_id, idx),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES bulk_batches (tenant_id, id)
);
CREATE UNIQUE INDEX bulk_items_key ON bulk_items (tenant_id, idempotency_key) WHERE replay_of_batch IS NULL;
CREATE INDEX bulk_items_pending ON bulk_items (tenant_id, batch_id, status);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['delivery_settings', 'deliveries', 'invoice_events', 'payments',
                             'webhook_endpoints', 'webhook_deliveries', 'bulk_batches', 'bulk_items'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = faktura_current_tenant()) '
                       'WITH CHECK (tenant_id = faktura_current_tenant())', t || '_tenant', t);
    END LOOP;
END
$$;

-- The built-in sandbox access point's inbox. It stands for another company's system, so
-- it is not tenant data: no tenant_id, reached by message id only.
CREATE TABLE sandbox_ap_messages (
    message_id  text PRIMARY KEY,
    sender      text NOT NULL,
    receiver    text NOT NULL,
    document    bytea NOT NULL,
    status      text NOT NULL DEFAULT 'RECEIVED',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- An access point's callback names a message id: find its tenant and scope the
-- transaction to it (like faktura_auth_tenant does for an account token).
CREATE FUNCTION faktura_scope_to_message(p_message_id text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE v_tenant uuid;
BEGIN
    SELECT tenant_id INTO v_tenant FROM deliveries WHERE message_id = p_message_id;
    IF v_tenant IS NOT NULL THEN
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
    END IF;
    RETURN v_tenant;
END
$$;
REVOKE ALL ON FUNCTION faktura_scope_to_message(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faktura_scope_to_message(text) TO faktura_app;

GRANT SELECT, INSERT, UPDATE ON delivery_settings, deliveries, webhook_endpoints, webhook_deliveries,
    bulk_items, sandbox_ap_messages TO faktura_app;
GRANT SELECT, INSERT ON invoice_events, payments, bulk_batches TO faktura_app;
