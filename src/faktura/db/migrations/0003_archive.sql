-- Faktura schema, version 3: tenant branding and the write-once document archive.
--
-- Both tables are append-only. A branding change adds a version (so an issued invoice can
-- point at the version that was current when it was issued), and every archived artefact
-- is one row whose object lives in a storage backend (filesystem or S3) under a
-- content-addressed key. `faktura_write_once()` (0001) refuses UPDATE and DELETE.

CREATE TABLE tenant_branding (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    version         integer NOT NULL,
    template        text NOT NULL,
    accent_color    text NOT NULL CHECK (accent_color ~ '^#[0-9a-fA-F]{6}$'),
    footer_text     text,
    logo            bytea,
    logo_media_type text CHECK (logo_media_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, version),
    CHECK ((logo IS NULL) = (logo_media_type IS NULL))
);
CREATE TRIGGER tenant_branding_write_once BEFORE UPDATE OR DELETE ON tenant_branding
    FOR EACH ROW EXECUTE FUNCTION faktura_write_once();

-- One row per archived artefact. `seq` numbers a tenant's entries without gaps; each
-- `entry_hash` covers the previous entry's hash and this row's fields, so removing,
-- reordering or editing a row (even with the trigger dropped) breaks the chain.
CREATE TABLE archive_entries (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    seq             bigint NOT NULL CHECK (seq > 0),
    id              uuid NOT NULL,
    invoice_id      uuid NOT NULL,
    kind            text NOT NULL,
    media_type      text NOT NULL,
    size            bigint NOT NULL CHECK (size >= 0),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage         text NOT NULL,
    storage_key     text NOT NULL,
    created_at      timestamptz NOT NULL,
    retention_until date NOT NULL,
    retention_basis text NOT NULL,
    meta            jsonb NOT NULL DEFAULT '{}',
    prev_hash       text NOT NULL,
    entry_hash      text NOT NULL UNIQUE,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, invoice_id, kind),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX archive_entries_created ON archive_entries (tenant_id, created_at);
CREATE TRIGGER archive_entries_write_once BEFORE UPDATE OR DELETE ON archive_entries
    FOR EACH ROW EXECUTE FUNCTION faktura_write_once();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_branding', 'archive_entries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = faktura_current_tenant()) '
                       'WITH CHECK (tenant_id = faktura_current_tenant())', t || '_tenant', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON tenant_branding, archive_entries TO faktura_app;
