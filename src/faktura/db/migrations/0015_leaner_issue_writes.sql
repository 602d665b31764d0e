-- Faktura schema, version 15: two checks fewer on every issue's writes.
--
-- Issuing inserts an invoice and its archive entry; PostgreSQL checks each foreign key and
-- updates each index of those rows inside the series' critical section. Two of them
-- guarded nothing the others do not:
--  * `archive_entries.tenant_id → tenants`: an entry's `(tenant_id, invoice_id)` references
--    its invoice, whose `tenant_id` references the tenant, so the tenant exists already.
--  * `invoices_number_type` (0005): the unique `invoices_number (tenant_id, number)` finds
--    the one invoice a number names, whatever its document type.
ALTER TABLE archive_entries DROP CONSTRAINT archive_entries_tenant_id_fkey;
DROP INDEX invoices_number_type;
