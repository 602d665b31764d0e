-- Faktura schema, version 7: an index for every invoice list filter.
--
-- A list page is `WHERE tenant_id = $1 AND <filter> [AND (created_at, id) < cursor]
-- ORDER BY created_at DESC, id DESC LIMIT n`. With only `invoices_page`, a filter that
-- matches few or no rows walks the tenant's whole page index (linear in its size). Each
-- equality filter gets `(tenant_id, <column>, created_at DESC, id DESC)`, so its first and
-- its deep pages are one index range read; each range filter gets `(tenant_id, <column>)`,
-- which the planner picks when the range is narrow (and `invoices_page` when it is wide).
-- On a large existing table, build these beforehand with CREATE INDEX CONCURRENTLY under
-- the same names (IF NOT EXISTS keeps this migration from building them again).

CREATE INDEX IF NOT EXISTS invoices_status_page ON invoices (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_type_page ON invoices (tenant_id, document_type, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_contact_page ON invoices (tenant_id, contact_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_remote_id_page ON invoices (tenant_id, remote_id, created_at DESC, id DESC)
    WHERE remote_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_issue_date ON invoices (tenant_id, issue_date);
CREATE INDEX IF NOT EXISTS invoices_modified ON invoices (tenant_id, modified_at);
-- Superseded by the `_page` variants above (same leading columns, plus the cursor's order).
DROP INDEX IF EXISTS invoices_contact;
DROP INDEX IF EXISTS invoices_remote_id;
