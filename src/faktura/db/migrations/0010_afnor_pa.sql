-- Faktura schema, version 10: the channel to a French approved platform (PA) over
-- AFNOR XP Z12-013 (Flow Service and Directory Service).
--
-- `pa_settings` is the tenant's PA: where its two services are, how Faktura authenticates
-- (a bearer token, or OAuth2 client credentials), and the webhook the PA calls back on. The
-- secrets (token, client secret, webhook signing key) are sealed with FAKTURA_SECRETS_KEY
-- like a tenant's Peppol access point credential; they are never returned.
-- `pa_flows` is every flow Faktura exchanged with the PA: the flows it submitted (the
-- invoice, its own CDAR statuses) and the CDAR flows it received, so a flow seen twice (by
-- a poll and by a webhook) is applied once.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('peppol', 'email', 'webhook', 'afnor-pa'));

CREATE TABLE pa_settings (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    flow_url       text NOT NULL,
    directory_url  text NOT NULL,
    auth           text NOT NULL CHECK (auth IN ('bearer', 'oauth2')),
    token_url      text,
    client_id      text,
    secret         text NOT NULL,
    organization   text,
    webhook_id     text,
    webhook_key    text,
    -- updatedAt of the newest incoming flow seen: the next search starts after it.
    seen_until     timestamptz,
    modified_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE pa_flows (
    tenant_id    uuid NOT NULL,
    flow_id      text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('In', 'Out')),
    flow_syntax  text NOT NULL,
    tracking_id  text,
    invoice_id   uuid,
    delivery_id  uuid,
    status_code  text,
    ack_status   text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, flow_id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX pa_flows_invoice ON pa_flows (tenant_id, invoice_id);
CREATE UNIQUE INDEX pa_flows_tracking ON pa_flows (tenant_id, tracking_id) WHERE tracking_id IS NOT NULL;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['pa_settings', 'pa_flows'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = faktura_current_tenant()) '
                       'WITH CHECK (tenant_id = faktura_current_tenant())', t || '_tenant', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON pa_settings TO faktura_app;
GRANT SELECT, INSERT, UPDATE ON pa_flows TO faktura_app;
