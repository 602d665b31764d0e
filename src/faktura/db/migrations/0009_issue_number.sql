-- Faktura schema, version 9: the number and the archive chain's head in one call.
--
-- Issuing appends the issued XML's entry to the tenant's archive chain and takes the next
-- number of a series, both under locks held until commit. One round trip does both, in a
-- fixed order (the tenant's chain first, as every chain appender does, then the series'
-- counter): the chain's head is read after its lock is granted (each statement of a
-- PL/pgSQL function sees what committed before it started), so the entry computed from it
-- is the next one. Everything else that needs the number is one statement after this, so
-- a series stays locked for three round trips: this call, that statement, the commit.
-- SECURITY INVOKER: row-level security applies as to the caller's own statements.
CREATE FUNCTION faktura_take_number(
    p_tenant uuid, p_series text, p_period integer,
    OUT chain_seq bigint, OUT chain_hash text, OUT number_seq bigint
) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('faktura.archive:' || p_tenant::text, 0));
    SELECT e.seq, e.entry_hash INTO chain_seq, chain_hash
        FROM archive_entries e WHERE e.tenant_id = p_tenant ORDER BY e.seq DESC LIMIT 1;
    INSERT INTO number_counters AS c (tenant_id, series, period, last_value)
        VALUES (p_tenant, p_series, p_period, 1)
        ON CONFLICT (tenant_id, series, period) DO UPDATE SET last_value = c.last_value + 1
        RETURNING c.last_value INTO number_seq;
END
$$;

REVOKE ALL ON FUNCTION faktura_take_number(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faktura_take_number(uuid, text, integer) TO faktura_app;
