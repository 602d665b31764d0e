-- Faktura schema, version 1: platforms, tenants, contacts, invoices, numbering, idempotency.
--
-- Isolation: every tenant-owned table leads its key with tenant_id and has FORCE ROW LEVEL
-- SECURITY with a policy on the transaction-local setting app.tenant_id. The API connects
-- as faktura_app, a role that owns nothing and cannot bypass RLS. Secrets (platform keys,
-- account tokens) are stored as SHA-256 hashes in tables the app role cannot read; it
-- reaches them only through the SECURITY DEFINER functions below.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'faktura_app') THEN
        CREATE ROLE faktura_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

CREATE FUNCTION faktura_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION faktura_current_platform() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.platform_id', true), '')::uuid $$;

CREATE TABLE platforms (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE platform_keys (
    id          uuid PRIMARY KEY,
    platform_id uuid NOT NULL REFERENCES platforms (id),
    key_hash    bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz
);

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    platform_id uuid NOT NULL REFERENCES platforms (id),
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX tenants_platform_created ON tenants (platform_id, created_at DESC, id DESC);

CREATE TABLE tenant_tokens (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    token_hash  bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz
);

CREATE TABLE platform_idempotency_keys (
    platform_id  uuid NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status_code  integer,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (platform_id, key)
);

CREATE TABLE contacts (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    remote_id   text,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_page ON contacts (tenant_id, created_at DESC, id DESC);

CREATE TABLE number_series (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    code         text NOT NULL,
    format       text NOT NULL,
    yearly_reset boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, code)
);

-- One row per series and period (the year, or 0 without yearly reset). The UPDATE that
-- takes the next value locks the row until the issuing transaction ends, so numbers are
-- gapless: a rolled-back issue gives its number back.
CREATE TABLE number_counters (
    tenant_id  uuid NOT NULL,
    series     text NOT NULL,
    period     integer NOT NULL,
    last_value bigint NOT NULL,
    PRIMARY KEY (tenant_id, series, period),
    FOREIGN KEY (tenant_id, series) REFERENCES number_series (tenant_id, code)
);

CREATE TABLE invoices (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    document_type text NOT NULL CHECK (document_type IN ('INVOICE', 'CREDIT_NOTE')),
    status        text NOT NULL CHECK (status IN ('DRAFT', 'OPEN', 'SUBMITTED', 'PARTIALLY_PAID', 'PAID', 'VOID')),
    series        text,
    number        text,
    issue_date    date,
    due_date      date,
    paid_on_date  date,
    contact_id    uuid,
    remote_id     text,
    currency      text,
    model         jsonb NOT NULL,
    issued        jsonb,
    total_amount  numeric,
    balance       numeric,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    issued_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    CHECK ((status = 'DRAFT') = (number IS NULL))
);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number) WHERE number IS NOT NULL;
CREATE INDEX invoices_page ON invoices (tenant_id, created_at DESC, id DESC);
CREATE INDEX invoices_contact ON invoices (tenant_id, contact_id, created_at DESC);
CREATE INDEX invoices_remote_id ON invoices (tenant_id, remote_id) WHERE remote_id IS NOT NULL;

-- Once issued, the content of an invoice never changes (corrections are credit notes).
CREATE FUNCTION faktura_invoice_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'DRAFT' THEN
            RAISE EXCEPTION 'issued invoice % cannot be deleted', OLD.id USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'DRAFT' AND (NEW.model IS DISTINCT FROM OLD.model OR NEW.number IS DISTINCT FROM OLD.number
            OR NEW.issued IS DISTINCT FROM OLD.issued OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
            OR NEW.total_amount IS DISTINCT FROM OLD.total_amount OR NEW.status = 'DRAFT') THEN
        RAISE EXCEPTION 'issued invoice % is immutable', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION faktura_invoice_immutable();

CREATE TABLE invoice_documents (
    tenant_id   uuid NOT NULL,
    invoice_id  uuid NOT NULL,
    kind        text NOT NULL,
    media_type  text NOT NULL,
    content     bytea NOT NULL,
    sha256      text NOT NULL,
    size        integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, invoice_id, kind),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

CREATE FUNCTION faktura_write_once() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are write-once', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER invoice_documents_write_once BEFORE UPDATE OR DELETE ON invoice_documents
    FOR EACH ROW EXECUTE FUNCTION faktura_write_once();

CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status_code  integer,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, key)
);

-- Row-level security --------------------------------------------------------------------

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_platform ON tenants
    USING (platform_id = faktura_current_platform() OR id = faktura_current_tenant())
    WITH CHECK (platform_id = faktura_current_platform());

ALTER TABLE platform_idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_idempotency_keys_platform ON platform_idempotency_keys
    USING (platform_id = faktura_current_platform()) WITH CHECK (platform_id = faktura_current_platform());

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['contacts', 'number_series', 'number_counters', 'invoices',
                             'invoice_documents', 'idempotency_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = faktura_current_tenant()) '
                       'WITH CHECK (tenant_id = faktura_current_tenant())', t || '_tenant', t);
    END LOOP;
END
$$;

-- Authentication: the only way the app role touches keys and tokens ---------------------

-- Sets app.platform_id for this transaction when the key is valid; returns the platform.
CREATE FUNCTION faktura_auth_platform(p_key_hash bytea) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE v_platform uuid;
BEGIN
    SELECT platform_id INTO v_platform FROM platform_keys
     WHERE key_hash = p_key_hash AND revoked_at IS NULL;
    IF v_platform IS NOT NULL THEN
        PERFORM set_config('app.platform_id', v_platform::text, true);
    END IF;
    RETURN v_platform;
END
$$;

-- Platform key + account token → tenant; sets app.platform_id and app.tenant_id.
CREATE FUNCTION faktura_auth_tenant(p_key_hash bytea, p_token_hash bytea) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE v_platform uuid; v_tenant uuid;
BEGIN
    v_platform := faktura_auth_platform(p_key_hash);
    IF v_platform IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT t.id INTO v_tenant FROM tenant_tokens k JOIN tenants t ON t.id = k.tenant_id
     WHERE k.token_hash = p_token_hash AND k.revoked_at IS NULL AND t.platform_id = v_platform;
    IF v_tenant IS NOT NULL THEN
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
    END IF;
    RETURN v_tenant;
END
$$;

-- A new account token for a tenant of the authenticated platform.
CREATE FUNCTION faktura_add_tenant_token(p_tenant uuid, p_token_hash bytea, p_prefix text,
                                         p_revoke_others boolean) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE v_id uuid := gen_random_uuid();
BEGIN
    IF NOT EXISTS (SELECT FROM tenants WHERE id = p_tenant AND platform_id = faktura_current_platform()) THEN
        RETURN NULL;
    END IF;
    IF p_revoke_others THEN
        UPDATE tenant_tokens SET revoked_at = clock_timestamp() WHERE tenant_id = p_tenant AND revoked_at IS NULL;
    END IF;
    INSERT INTO tenant_tokens (id, tenant_id, token_hash, prefix) VALUES (v_id, p_tenant, p_token_hash, p_prefix);
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION faktura_auth_platform(bytea), faktura_auth_tenant(bytea, bytea),
    faktura_add_tenant_token(uuid, bytea, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faktura_auth_platform(bytea), faktura_auth_tenant(bytea, bytea),
    faktura_add_tenant_token(uuid, bytea, text, boolean) TO faktura_app;

GRANT SELECT, INSERT, UPDATE ON tenants, contacts, number_series, number_counters, invoices,
    idempotency_keys, platform_idempotency_keys TO faktura_app;
GRANT DELETE ON contacts, invoices TO faktura_app;
GRANT SELECT, INSERT ON invoice_documents TO faktura_app;
