-- The rule-set versions an invoice was checked against at issue (EN 16931, Peppol BIS or
-- XRechnung, each in force on the day of issue), beside the issued snapshot that already
-- carries them; and the re-check a send makes when newer versions have taken effect since.
ALTER TABLE invoices ADD COLUMN rule_versions jsonb;
UPDATE invoices SET rule_versions = issued -> 'rule_versions' WHERE issued IS NOT NULL;
ALTER TABLE deliveries ADD COLUMN rule_check jsonb;
