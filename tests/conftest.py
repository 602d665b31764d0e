"""Test fixtures: a fresh PostgreSQL database per test session (per xdist worker), migrated
by the real migrator; the app under test connects as the real non-owner role."""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.contract_support import check_contract

from faktura.api.app import create_app, create_pool
from faktura.db.migrate import migrate
from faktura.db.platforms import create_platform
from faktura.settings import DeliverySettings, RateLimitSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CALLBACK_TOKEN = "test-callback-token-0123456789"


def _admin_dsn() -> str:
    """The server the tests create their databases on: FAKTURA_TEST_DATABASE_URL, else the
    local PostgreSQL on 5432, else (a machine without one) an embedded PostgreSQL."""
    if dsn := os.environ.get("FAKTURA_TEST_DATABASE_URL"):
        return dsn
    try:
        if os.environ.get("FAKTURA_TEST_EMBEDDED") != "1":
            socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
            return DEFAULT_ADMIN_DSN
    except OSError:
        pass
    from faktura.db.embedded import start_embedded

    base = Path(tempfile.mkdtemp(prefix="faktura-test-pg-"))
    base.chmod(0o711)  # reachable by the unprivileged user the server runs as under root
    server = start_embedded(base / "data")
    atexit.register(lambda: (server.stop(), shutil.rmtree(base, ignore_errors=True)))
    dsn = server.dsn.rpartition("/")[0] + "/postgres"
    os.environ["FAKTURA_TEST_DATABASE_URL"] = dsn
    return dsn


ADMIN_DSN = _admin_dsn()


def _dsn_for(db: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"faktura_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _dsn_for(name)
    await migrate(dsn)
    yield dsn
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # data_dir holds the filesystem archive: one per session, never the working tree's.
    return Settings(
        database_url=database_url,
        pool_min_size=1,
        pool_max_size=20,
        data_dir=tmp_path_factory.mktemp("faktura-data"),
        # The tests' peers (webhook receivers, access points) listen on loopback.
        delivery=DeliverySettings(
            outbound_allow=("127.0.0.1",),
            peppol_callback_token=CALLBACK_TOKEN,
            peppol_ap_webhook_secret="einvoice-webhook-secret-0123456789",
        ),
        # Tests drive one tenant far faster than a client should (500 sends in a loop): the
        # limits stay on but out of reach; tests/test_rate_limits.py runs them at their edge.
        rate_limits=RateLimitSettings(
            tenant_rate=10_000, tenant_burst=10_000, platform_rate=10_000, platform_burst=10_000
        ),
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    # The pool is opened here rather than through the ASGI lifespan so that it lives in the
    # session's event loop task (anyio cancel scopes must exit in the task they entered).
    application = create_app(settings)
    application.state.pool = await create_pool(settings)
    yield application
    await application.state.pool.close()


async def fail_on_server_error(response: httpx.Response) -> None:
    """No request in the suite may end in a 5xx: every client-caused error is a 4xx."""
    if response.status_code >= 500:
        await response.aread()
        raise AssertionError(
            f"{response.request.method} {response.request.url} → {response.status_code}: {response.text}"
        )


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [fail_on_server_error, check_contract]}
    async with httpx.AsyncClient(transport=transport, base_url="http://faktura.test", event_hooks=hooks) as c:
        yield c


@pytest.fixture(scope="session")
async def owner(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / f"{name}.json").read_text()))


class Tenant:
    """A platform + tenant pair with ready-made headers."""

    def __init__(self, platform_key: str, tenant_id: str, token: str):
        self.platform_key = platform_key
        self.id = tenant_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {platform_key}", "X-Account-Token": token}
        self.platform_headers = {"Authorization": f"Bearer {platform_key}"}


async def make_platform(owner: asyncpg.Connection) -> str:
    _, key = await create_platform(owner, f"platform-{uuid.uuid4().hex[:6]}")
    return key


def unique_vat_id() -> str:
    """A valid German VAT id of its own (a platform has one tenant per VAT id)."""
    from stdnum.de import vat

    while True:
        candidate = f"DE{uuid.uuid4().int % 10**9:09d}"
        if vat.is_valid(candidate):
            return candidate


async def make_tenant(client: httpx.AsyncClient, platform_key: str, **overrides: Any) -> Tenant:
    body = example("tenant")
    body["model"].update(overrides)
    r = await client.post("/v1/tenants", json=body, headers={"Authorization": f"Bearer {platform_key}"})
    assert r.status_code == 201, r.text
    m = r.json()["model"]
    return Tenant(platform_key, m["id"], m["account_token"])


@pytest.fixture
async def tenant(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Tenant:
    return await make_tenant(client, await make_platform(owner))


async def make_contact(client: httpx.AsyncClient, t: Tenant, **overrides: Any) -> str:
    body = example("contact")
    body["model"].update(overrides)
    r = await client.post("/v1/contacts", json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]["id"]  # type: ignore[no-any-return]


async def two_tenants_with_contacts(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> tuple[Tenant, str, Tenant, str]:
    """Two tenants of one new platform, each with a contact: (a, a's contact, b, b's contact)."""
    platform = await make_platform(owner)
    a = await make_tenant(client, platform)
    b = await make_tenant(client, platform, vat_id=unique_vat_id())
    return a, await make_contact(client, a), b, await make_contact(client, b)


def invoice_body(contact_id: str, **overrides: Any) -> dict[str, Any]:
    body = example("invoice")
    body["model"]["contact"] = contact_id
    body["model"].update(overrides)
    return body
