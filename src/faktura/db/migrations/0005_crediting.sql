-- Amount credited to an invoice by credit notes that reference it (BG-3); at its total the
-- invoice is VOID. Kept apart from payments: a credit is a correction, not a settlement.
ALTER TABLE invoices ADD COLUMN credited numeric NOT NULL DEFAULT 0;
CREATE INDEX invoices_number_type ON invoices (tenant_id, number, document_type) WHERE number IS NOT NULL;
