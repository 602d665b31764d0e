-- Faktura schema, version 12: the credentials check as a row source, for one-statement reads.
--
-- A read used to take a transaction of its own: BEGIN with the credentials check, the read,
-- COMMIT. `faktura_auth_scope` lets one statement do all of it,
--
--     SELECT ... FROM faktura_auth_scope($k, $t) scope
--     LEFT JOIN LATERAL (SELECT * FROM (<the read>) q OFFSET 0) found ON true
--
-- The function runs first (the lateral subquery is kept whole by OFFSET 0 and refers to
-- scope.tenant_id, so it can only be the inner side of a nested loop) and sets
-- app.tenant_id / app.platform_id for the statement's own implicit transaction: row-level
-- security scopes the read as it scopes any transaction's, and the settings end with the
-- statement. Refused credentials return NULLs and set nothing, so the read sees no rows.
CREATE FUNCTION faktura_auth_scope(p_key_hash bytea, p_token_hash bytea,
                                   OUT tenant_id uuid, OUT platform_id uuid)
    LANGUAGE plpgsql VOLATILE SET search_path = public AS $$
BEGIN
    tenant_id := faktura_auth_tenant(p_key_hash, p_token_hash);
    platform_id := faktura_current_platform();
END
$$;

REVOKE ALL ON FUNCTION faktura_auth_scope(bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faktura_auth_scope(bytea, bytea) TO faktura_app;
