-- Faktura schema, version 6: archive objects written after the issuing transaction.
--
-- Issuing commits the archive entry (chained, hashed) together with the invoice, but the
-- object itself (an fsync'd file, an S3 PUT) is written afterwards by the `archive.write`
-- job, so no storage latency sits inside the window in which a number series is locked.
-- Until then the bytes are durable in `invoice_documents` and the entry is listed here.
-- The row holds no content, only which entry waits (like the job queue, it is read across
-- tenants by the worker's start-up sweep, so it carries no row-level security).
CREATE TABLE archive_pending (
    tenant_id uuid NOT NULL,
    seq       bigint NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, seq) REFERENCES archive_entries (tenant_id, seq)
);

GRANT SELECT, INSERT, DELETE ON archive_pending TO faktura_app;
