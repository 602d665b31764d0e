-- The rule-set versions an invoice was checked against at issue (EN 16931, Peppol BIS or
-- XRechnung, each in force on the day of issue), beside the issued snapshot that already
-- carries them; and the re-check a send makes when newer versions have taken effect since.
ALTER TABLE invoices ADD COLUMN rule_versions jsonb;
UPDATE invoices SET rule_versions = issued -> 'rule_versions' WHERE issued IS NOT NULL;
ALTER TABLE deliveries ADD COLUMN rule_check jsonb;
-- Like the rest of an issued invoice, the versions it was checked against never change.
CREATE FUNCTION faktura_rule_versions_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued invoice % is immutable', OLD.id USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER invoices_rule_versions_immutable BEFORE UPDATE OF rule_versions ON invoices
    FOR EACH ROW WHEN (OLD.status <> 'DRAFT' AND NEW.rule_versions IS DISTINCT FROM OLD.rule_versions)
    EXECUTE FUNCTION faktura_rule_versions_immutable();
