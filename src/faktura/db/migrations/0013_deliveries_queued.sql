-- Faktura schema, version 13: a tenant's queued deliveries, counted for the next send's place.
--
-- A send is queued with a priority that says how many of its tenant's deliveries are already
-- waiting (`faktura.delivery.service._QUEUED_BEFORE`), so that tenants take turns at the
-- workers. This partial index holds only the waiting ones: the count reads at most
-- FAIR_SHARE_DEPTH index entries of one tenant, however many it has sent.
CREATE INDEX deliveries_queued ON deliveries (tenant_id) WHERE status = 'QUEUED';
