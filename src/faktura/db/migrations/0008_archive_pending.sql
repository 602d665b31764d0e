-- Faktura schema, version 8: archive objects written after the issuing transaction.
--
-- Issuing commits the archive entry (chained, hashed) together with the invoice, but the
-- object itself (an fsync'd file, an S3 PUT) is written afterwards by the `archive.write`
-- job, so no storage latency sits inside the window in which a number series is locked.
-- Until then the bytes are durable in `invoice_documents` and the entry is listed here.
-- The row holds no content, only which entry waits. Row-level security scopes it to the
-- tenant like every tenant table; the worker's start-up sweep, which lists what waits across
-- tenants (ids only), says so for its transaction (`faktura.archive_sweep`).
CREATE TABLE archive_pending (
    tenant_id uuid NOT NULL,
    seq       bigint NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, seq) REFERENCES archive_entries (tenant_id, seq)
);

GRANT SELECT, INSERT, DELETE ON archive_pending TO faktura_app;
ALTER TABLE archive_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY archive_pending_tenant ON archive_pending USING (tenant_id = faktura_current_tenant())
    WITH CHECK (tenant_id = faktura_current_tenant());
CREATE POLICY archive_pending_sweep ON archive_pending FOR SELECT
    USING (current_setting('faktura.archive_sweep', true) = 'on');
