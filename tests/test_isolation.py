"""Tenant isolation: every route, tenant B's credentials on tenant A's resources → 404,
lists never show A's rows, and the database itself (RLS) returns nothing without a tenant."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact, make_platform, make_tenant

from faktura.api.context import fetch_as_tenant
from faktura.db.platforms import secret_hash
from faktura.settings import Settings


@pytest.fixture
async def two_tenants(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> tuple[Tenant, Tenant, dict[str, str]]:
    """A (with a contact, a draft and an issued invoice) and B on another platform."""
    a = await make_tenant(client, await make_platform(owner))
    b = await make_tenant(client, await make_platform(owner))
    contact = await make_contact(client, a)
    draft = (await client.post("/v1/invoices", json=invoice_body(contact), headers=a.headers)).json()[
        "model"
    ]["id"]
    r = await client.post(
        "/v1/invoices?issue=true",
        json=invoice_body(contact),
        headers={**a.headers, "Idempotency-Key": "iso-1"},
    )
    assert r.status_code == 201, r.text
    issued = r.json()["model"]["id"]
    return a, b, {"contact": contact, "draft": draft, "issued": issued, "tenant": a.id}


ROUTES = [
    ("GET", "/v1/contacts/{contact}", None),
    ("PATCH", "/v1/contacts/{contact}", {"model": {"name": "Hijacked"}}),
    ("DELETE", "/v1/contacts/{contact}", None),
    ("GET", "/v1/invoices/{draft}", None),
    ("PATCH", "/v1/invoices/{draft}", {"model": {"memo": "x"}}),
    ("DELETE", "/v1/invoices/{draft}", None),
    ("POST", "/v1/invoices/{draft}/issue", None),
    ("GET", "/v1/invoices/{issued}", None),
    ("GET", "/v1/invoices/{issued}/xml", None),
    ("POST", "/v1/invoices/{issued}/issue", None),
]
PLATFORM_ROUTES = [
    ("GET", "/v1/tenants/{tenant}", None),
    ("PATCH", "/v1/tenants/{tenant}", {"model": {"trading_name": "Hijacked"}}),
    ("POST", "/v1/tenants/{tenant}/rotate-token", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_foreign_tenant_gets_404(
    client: httpx.AsyncClient,
    two_tenants: tuple[Tenant, Tenant, dict[str, str]],
    method: str,
    path: str,
    body: object,
) -> None:
    a, b, ids = two_tenants
    r = await client.request(method, path.format(**ids), json=body, headers=b.headers)
    assert r.status_code == 404, r.text
    assert r.json()["errors"][0]["problem_type"] == "NOT_FOUND"
    # and A still sees its resource unchanged
    if method == "GET":
        assert (await client.get(path.format(**ids), headers=a.headers)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"), PLATFORM_ROUTES, ids=[f"{m} {p}" for m, p, _ in PLATFORM_ROUTES]
)
async def test_foreign_platform_gets_404(
    client: httpx.AsyncClient,
    two_tenants: tuple[Tenant, Tenant, dict[str, str]],
    method: str,
    path: str,
    body: object,
) -> None:
    _, b, ids = two_tenants
    r = await client.request(method, path.format(**ids), json=body, headers=b.platform_headers)
    assert r.status_code == 404, r.text


async def test_token_of_another_platforms_tenant_is_rejected(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]]
) -> None:
    a, b, _ = two_tenants
    r = await client.get(
        "/v1/invoices", headers={"Authorization": f"Bearer {b.platform_key}", "X-Account-Token": a.token}
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    "path", ["/v1/contacts", "/v1/invoices", "/v1/invoices?expand=contact,line_items", "/v1/number-series"]
)
async def test_lists_never_show_foreign_rows(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]], path: str
) -> None:
    a, b, _ = two_tenants
    assert (await client.get(path, headers=b.headers)).json()["results"] == []
    assert (await client.get(path, headers=a.headers)).json()["results"] != []


async def test_tenant_list_is_per_platform(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]]
) -> None:
    _, b, _ = two_tenants
    ids_b = [t["id"] for t in (await client.get("/v1/tenants", headers=b.platform_headers)).json()["results"]]
    assert ids_b == [b.id]


async def test_invoice_cannot_reference_foreign_contact(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]]
) -> None:
    _, b, ids = two_tenants
    r = await client.post("/v1/invoices", json=invoice_body(ids["contact"]), headers=b.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["source"]["pointer"] == "/model/contact"


TENANT_TABLES = [
    "contacts",
    "invoices",
    "invoice_documents",
    "number_series",
    "number_counters",
    "idempotency_keys",
    "tenants",
]


async def test_app_role_without_tenant_sees_no_rows(
    settings: Settings, two_tenants: tuple[Tenant, Tenant, dict[str, str]], owner: asyncpg.Connection
) -> None:
    conn = await asyncpg.connect(settings.app_dsn())
    try:
        assert await conn.fetchval("SELECT current_user") == "faktura_app"
        assert not await conn.fetchval("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")
        for table in TENANT_TABLES:
            assert await owner.fetchval(f"SELECT count(*) FROM {table}") > 0, table
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        # the secrets tables are not readable at all
        for table in ["platform_keys", "tenant_tokens", "platforms"]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
        # a tenant set in one transaction does not survive it (pooled connections stay clean)
        a_id = two_tenants[0].id
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a_id)
            assert await conn.fetchval("SELECT count(*) FROM invoices") == 2
        assert await conn.fetchval("SELECT count(*) FROM invoices") == 0
        # writing a row for another tenant is refused by the policy
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a_id)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "INSERT INTO contacts (tenant_id, id, data) VALUES ($1, gen_random_uuid(), '{}')",
                    two_tenants[1].id,
                )
    finally:
        await conn.close()


async def test_every_tenant_table_forces_rls(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
        " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
    )
    names = {r["relname"] for r in rows if r["relname"] != "tenant_tokens"}
    assert names >= set(TENANT_TABLES) - {"tenants"}
    for r in rows:
        if r["relname"] == "tenant_tokens":  # not granted to the app role at all
            continue
        assert r["relrowsecurity"] and r["relforcerowsecurity"], r["relname"]
    # tenant_id leads the primary key of every tenant-owned table
    pks = await owner.fetch(
        "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]"
        " WHERE i.indisprimary AND t.relname = ANY($1)",
        list(names),
    )
    assert {r["relname"]: r["attname"] for r in pks} == dict.fromkeys(names, "tenant_id")


async def test_one_statement_read_is_scoped_by_rls_and_ends_with_itself(
    settings: Settings, two_tenants: tuple[Tenant, Tenant, dict[str, str]]
) -> None:
    """The reads' one statement (credentials check joined to the read) scopes the read to the
    tenant through row-level security before the read runs: a read with no tenant filter at
    all counts the tenant's own rows only, another tenant's row stays invisible even when asked
    for by its own tenant_id, and nothing outlives the statement."""
    a, b, ids = two_tenants
    conn = await asyncpg.connect(settings.app_dsn())
    try:
        as_a = (secret_hash(a.platform_key), secret_hash(a.token))
        as_b = (secret_hash(b.platform_key), secret_hash(b.token))
        everything = "SELECT count(*) AS n FROM invoices"  # no tenant filter: RLS alone
        [row] = await fetch_as_tenant(conn, *as_a, everything)
        assert (str(row["scope_tenant_id"]), row["n"]) == (a.id, 2)
        [row] = await fetch_as_tenant(conn, *as_b, everything)
        assert (str(row["scope_tenant_id"]), row["n"]) == (b.id, 0)
        foreign = "SELECT id FROM invoices WHERE tenant_id = $1::uuid AND id = $2::uuid"
        [row] = await fetch_as_tenant(conn, *as_b, foreign, a.id, ids["issued"])
        assert row["scope_tenant_id"] is not None and row["id"] is None
        [row] = await fetch_as_tenant(conn, *as_a, foreign, a.id, ids["issued"])
        assert str(row["id"]) == ids["issued"]
        # the settings ended with the statement's implicit transaction
        assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") in ("", None)
        assert await conn.fetchval("SELECT count(*) FROM invoices") == 0
        # a token of another platform's tenant sets no tenant at all: refused, and nothing seen
        [row] = await fetch_as_tenant(conn, secret_hash(b.platform_key), secret_hash(a.token), everything)
        assert (row["scope_tenant_id"], row["n"]) == (None, 0)
    finally:
        await conn.close()


@pytest.mark.parametrize("path", ["/v1/invoices/{issued}", "/v1/invoices/{issued}/xml"])
async def test_reads_name_the_wrong_credential(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]], path: str
) -> None:
    a, b, ids = two_tenants
    url = path.format(**ids)
    wrong_key = {"Authorization": "Bearer not-a-key", "X-Account-Token": a.token}
    r = await client.get(url, headers=wrong_key)
    assert r.status_code == 401 and "platform key" in r.json()["errors"][0]["detail"], r.text
    wrong_token = {"Authorization": f"Bearer {b.platform_key}", "X-Account-Token": a.token}
    r = await client.get(url, headers=wrong_token)
    assert r.status_code == 401 and "account token" in r.json()["errors"][0]["detail"], r.text
    assert (await client.get(url, headers=a.headers)).status_code == 200


async def test_xml_of_a_draft_is_a_conflict(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant, dict[str, str]]
) -> None:
    a, _, ids = two_tenants
    r = await client.get(f"/v1/invoices/{ids['draft']}/xml", headers=a.headers)
    assert r.status_code == 409, r.text
