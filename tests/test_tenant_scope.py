"""Every SQL statement of the application filters or joins by `tenant_id`, so that the tenant
tables can be distributed by `tenant_id` (Citus, docs/scaling.md) and each statement routed
to one shard. The statements are parsed with PostgreSQL's parser (`tests/tenant_scope.py`
says how they are found and judged); the few that are global by design are listed below,
each with its reason."""

from __future__ import annotations

from pathlib import Path

from tests.tenant_scope import ROOT, Statement, application_statements, statements, tenant_tables, unscoped

#: (file, function) → why its statements need not be pinned to one tenant.
ALLOWED: dict[tuple[str, str], str] = {
    ("src/faktura/db/migrate.py", "migrate_connection"): (
        "Migrations and the application role's grants: schema changes for every tenant at once."
    ),
    ("src/faktura/api/gate.py", "_admit"): (
        "Authentication runs before a tenant is known: its callers pass one of two SECURITY DEFINER"
        " calls, faktura_auth_platform($1) and faktura_auth_tenant($1, $2), which find a key or an"
        " account token by its hash (platform_keys is a platform table; tenant_tokens is small and"
        " read by hash, a reference table on Citus)."
    ),
    ("src/faktura/api/pagination.py", "Query.sql"): (
        "Copies a list's Query and ANDs the cursor condition to its clauses; every Query is built"
        " elsewhere with its tenant clause first, and those constructions are checked here."
    ),
    ("src/faktura/api/pagination.py", "fetch_page"): (
        "Runs the text of Query.sql (see above): the tenant clause of each Query is checked where it is built."
    ),
    ("src/faktura/api/wire.py", "idempotent"): (
        "The table and its owner column come in pairs: (idempotency_keys, tenant_id) for a tenant's"
        " request, (platform_idempotency_keys, platform_id) for a platform's; the static reading"
        " cannot pair them, tests/test_idempotency.py exercises both."
    ),
    ("src/faktura/api/context.py", "fetch_as_tenant"): (
        "Runs a handler's read inside a join to the statement's credentials check; each handler's read"
        " is checked where it is written (its `tenant_fetch(request, sql, ...)` call)."
    ),
    ("src/faktura/api/pagination.py", "fetch_tenant_page"): (
        "Runs the text of Query.sql through tenant_fetch: the tenant clause of each Query is checked"
        " where it is built."
    ),
    ("src/faktura/api/pagination.py", "fetch_tenant_joined_page"): (
        "Runs the text of Query.sql, joined into one row, through tenant_fetch: the tenant clause of"
        " each Query is checked where it is built."
    ),
    ("src/faktura/archive/deferred.py", "requeue_pending"): (
        "A worker's start-up sweep for archive writes whose job was lost, across every tenant (ids"
        " only, keyset-paged): on Citus one multi-shard read per worker start."
    ),
}


def _key(st: Statement) -> tuple[str, str]:
    return st.path, st.function


def test_every_statement_is_pinned_to_a_tenant() -> None:
    tables = tenant_tables()
    found = application_statements()
    assert len(found) > 150  # the reading found the application's statements
    problems = [
        f"{st.path}:{st.line} ({st.function}): {p}\n    {st.sql}"
        for st in found
        if _key(st) not in ALLOWED
        for p in unscoped(st.sql, tables)
    ]
    assert not problems, "statements not scoped to one tenant:\n" + "\n".join(problems)


def test_every_allowance_is_still_needed() -> None:
    tables = tenant_tables()
    needed = {_key(st) for st in application_statements() if st.dynamic or unscoped(st.sql, tables)}
    assert set(ALLOWED) <= needed, f"allowed but scoped (remove): {set(ALLOWED) - needed}"


def test_tenant_tables_come_from_the_migrations() -> None:
    tables = tenant_tables()
    assert {
        "invoices",
        "contacts",
        "number_counters",
        "archive_entries",
        "bulk_items",
        "deliveries",
    } <= tables
    assert not {"tenants", "platforms", "platform_keys", "schema_migrations"} & tables


def _mutated(path: str, old: str, new: str) -> list[str]:
    """The problems found in `path` once `old` (which must be there) reads `new`."""
    source = (ROOT / path).read_text()
    assert old in source
    tables = tenant_tables()
    return [p for st in statements(source.replace(old, new), path) for p in unscoped(st.sql, tables)]


def test_removing_a_tenant_filter_is_caught() -> None:
    contacts = "src/faktura/api/contacts.py"
    assert _mutated(contacts, "x", "x") == []
    assert _mutated(
        contacts,
        "DELETE FROM contacts WHERE tenant_id = $1 AND id = $2",
        "DELETE FROM contacts WHERE id = $2",
    )
    # a join must pin both sides: dropping the join's tenant condition is caught too
    archive = "src/faktura/api/archive.py"
    assert _mutated(archive, "ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id", "ON i.id = a.invoice_id")
    # an OR does not pin: (tenant_id = $1 OR true) matches every tenant
    numbering = "src/faktura/numbering.py"
    assert _mutated(
        numbering, "WHERE tenant_id = $1 AND code = $2", "WHERE (tenant_id = $1 OR true) AND code = $2"
    )
    # an INSERT must carry the tenant
    assert _mutated(
        "src/faktura/delivery/events.py",
        "INSERT INTO invoice_events (tenant_id, ",
        "INSERT INTO invoice_events (",
    )
    # a list built without its tenant clause
    assert _mutated(
        contacts, 'Query("contacts", COLUMNS, ["tenant_id = $1"]', 'Query("contacts", COLUMNS, ["true"]'
    )


def test_the_reading_resolves_constants_and_fstrings() -> None:
    source = (
        'COLS = "a, b"\n'
        "async def f(conn, lock):\n"
        '    sql = f"SELECT {COLS} FROM invoices WHERE id = $1"\n'
        '    sql = sql + (" FOR UPDATE" if lock else "")\n'
        "    await conn.fetch(sql)\n"
    )
    found = list(statements(source, "x.py"))
    assert {st.sql for st in found} >= {
        "SELECT a, b FROM invoices WHERE id = $1",
        "SELECT a, b FROM invoices WHERE id = $1 FOR UPDATE",
    }
    assert all(unscoped(st.sql, {"invoices"}) for st in found)
    assert Path(found[0].path).name == "x.py"
