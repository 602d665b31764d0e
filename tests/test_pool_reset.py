"""Pooled connections carry no session state, so the pool's reset sends no query.

`faktura.api.app.create_pool` skips asyncpg's reset query (advisory unlock, CLOSE ALL,
UNLISTEN, RESET ALL) on every release. That is only right while the application never leaves
anything on a session: settings only with `set_config(..., true)` / `SET LOCAL`, advisory
locks only `pg_advisory_xact_lock`, no LISTEN, no cursors WITH HOLD, no temporary tables, no
session-level PREPARE. The static half reads every SQL string of the application for such
statements; the dynamic half runs requests and then looks at each idle pooled connection.
"""

from __future__ import annotations

from typing import Any

import httpx
from pglast import ast as pg
from pglast import enums, parse_sql
from pglast.parser import ParseError
from tests.conftest import Tenant, invoice_body, make_contact
from tests.tenant_scope import _walk, application_statements

#: Where a session lock is right: the migration runner, on a connection of its own.
ALLOWED = {"src/faktura/db/migrate.py"}
SESSION_LOCKS = {
    "pg_advisory_lock",
    "pg_try_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock_shared",
}


def session_state(sql: str) -> list[str]:
    """What in `sql` would outlive its transaction on the session."""
    try:
        parsed = parse_sql(sql)
    except ParseError:
        return []  # not SQL the application sends as written (tests/test_tenant_scope.py judges those)
    found: list[str] = []
    for node in _walk([raw.stmt for raw in parsed]):
        if (
            isinstance(node, pg.VariableSetStmt)
            and not node.is_local
            and node.kind != enums.VariableSetKind.VAR_RESET
        ):
            found.append(f"SET {node.name}")
        elif isinstance(node, pg.ListenStmt):
            found.append(f"LISTEN {node.conditionname}")
        elif isinstance(node, pg.DeclareCursorStmt) and node.options & enums.CURSOR_OPT_HOLD:
            found.append(f"cursor {node.portalname} WITH HOLD")
        elif isinstance(node, pg.CreateStmt) and node.relation.relpersistence == "t":
            found.append(f"temporary table {node.relation.relname}")
        elif isinstance(node, pg.PrepareStmt):
            found.append(f"PREPARE {node.name}")
        elif isinstance(node, pg.FuncCall):
            name = node.funcname[-1].sval
            if name in SESSION_LOCKS:
                found.append(name)
            elif name == "set_config" and _is_false(node.args[2] if len(node.args or ()) > 2 else None):
                found.append("set_config(..., false)")
    return found


def _is_false(arg: Any) -> bool:
    return isinstance(arg, pg.A_Const) and isinstance(arg.val, pg.Boolean) and not arg.val.boolval


def test_no_sql_leaves_state_on_a_session() -> None:
    found = [
        f"{st.path}:{st.line}: {what}"
        for st in application_statements()
        if st.path not in ALLOWED
        for what in session_state(st.sql)
    ]
    assert found == []


def test_the_check_catches_what_it_is_for() -> None:
    leaks = [
        "SET statement_timeout = 0",
        "SET SESSION app.tenant_id TO 'x'",
        "SELECT set_config('app.tenant_id', $1, false)",
        "SELECT pg_advisory_lock(1)",
        "LISTEN jobs",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "CREATE TEMP TABLE t (x int)",
        "PREPARE p AS SELECT 1",
    ]
    fine = [
        "SET LOCAL plan_cache_mode = force_custom_plan",
        "SELECT set_config('app.tenant_id', $1, true)",
        "SELECT pg_advisory_xact_lock(1)",
        "UPDATE invoices SET status = $1",
        "BEGIN READ ONLY; SELECT 1",
    ]
    assert [s for s in leaks if not session_state(s)] == []
    assert [s for s in fine if session_state(s)] == []
    assert len(application_statements()) > 100  # the source was read


async def test_idle_pooled_connections_hold_nothing(
    app: object, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    for _ in range(3):
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
        assert r.status_code == 201, r.text
        iid = r.json()["model"]["id"]
        for path in ("", "/status", "/xml"):
            assert (await client.get(f"/v1/invoices/{iid}{path}", headers=tenant.headers)).status_code == 200
        assert (await client.get("/v1/invoices?page_size=5", headers=tenant.headers)).status_code == 200
    pool = app.state.pool  # type: ignore[attr-defined]
    checked = 0
    for _ in range(pool.get_size()):
        async with pool.acquire() as conn:
            state = await conn.fetchrow(
                "SELECT current_setting('app.tenant_id', true) AS tenant,"
                " current_setting('app.platform_id', true) AS platform,"
                " (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS locks,"
                " (SELECT count(*) FROM pg_listening_channels()) AS listening,"
                " (SELECT count(*) FROM pg_cursors WHERE name <> '') AS cursors,"
                " current_setting('plan_cache_mode') AS plan_cache_mode"
            )
            assert state["tenant"] in ("", None) and state["platform"] in ("", None)
            assert (state["locks"], state["listening"], state["cursors"]) == (0, 0, 0)
            assert state["plan_cache_mode"] == "auto"
            checked += 1
    assert checked >= 1
