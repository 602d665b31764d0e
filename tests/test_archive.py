"""The archive against both backends: the local filesystem and a real S3 API (moto's
server mode on loopback, spoken to over HTTP by boto3). The same tests run on each."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import ROOT, make_contact, make_platform, make_tenant

from faktura.archive import FilesystemStore, ObjectStore, S3Store, archive_document, retention_for, verify
from faktura.archive.retention import DEFAULT_YEARS, RULES
from faktura.archive.storage import ObjectConflict, ObjectMissing
from faktura.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


S3_KEYS = {"access_key_id": "faktura-test", "secret_access_key": "faktura-test-secret"}


@pytest.fixture(params=["fs", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "fs":
        return FilesystemStore(tmp_path / "archive")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Store.connect(
        bucket=f"b-{uuid.uuid4().hex[:12]}", endpoint_url=endpoint, create_bucket=True, **S3_KEYS
    )


def tamper(store: ObjectStore, key: str) -> None:
    """Flip one byte of a stored object behind the archive's back."""
    if isinstance(store, FilesystemStore):
        path = store.path(key)
        os.chmod(path, 0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        assert isinstance(store, S3Store)
        data = bytearray(store._get(key))
        data[len(data) // 2] ^= 0x01
        store.client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))


@pytest.fixture
async def issued(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> AsyncIterator[tuple[uuid.UUID, list[uuid.UUID]]]:
    """A tenant with three issued invoices (ids), for rows the archive can point at."""
    from tests.conftest import invoice_body

    t = await make_tenant(client, await make_platform(owner))
    contact = await make_contact(client, t)
    ids = []
    for _ in range(3):
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=t.headers)
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["model"]["id"]))
    yield uuid.UUID(t.id), ids


async def tenant_conn(app: Any, tenant_id: uuid.UUID) -> Any:
    conn = await app.state.pool.acquire()
    tr = conn.transaction()
    await tr.start()
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
    return conn, tr


async def _archive_three(
    app: Any, store: ObjectStore, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Any]:
    conn, tr = await tenant_conn(app, tenant_id)
    try:
        entries = [
            await archive_document(
                conn,
                store,
                tenant_id,
                iid,
                "evidence",
                "text/plain",
                f"evidence {n} {iid}".encode(),
                country="DE",
                issue_date=dt.date(2026, 3, 1),
            )
            for n, iid in enumerate(ids)
        ]
        await tr.commit()
    finally:
        await app.state.pool.release(conn)
    return entries


async def test_store_is_write_once(store: ObjectStore) -> None:
    await store.put("t/aa/key", b"one", "text/plain")
    await store.put("t/aa/key", b"one", "text/plain")  # same bytes again: fine
    with pytest.raises(ObjectConflict):
        await store.put("t/aa/key", b"two", "text/plain")
    assert await store.get("t/aa/key") == b"one"
    with pytest.raises(ObjectMissing):
        await store.get("t/aa/nothing")


async def test_entries_are_chained_and_verify_clean(app: Any, store: ObjectStore, issued: Any) -> None:
    tenant_id, ids = issued
    entries = await _archive_three(app, store, tenant_id, ids)
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert entries[0].sha256 == hashlib.sha256(f"evidence 0 {ids[0]}".encode()).hexdigest()
    assert entries[0].retention_until == dt.date(2034, 12, 31)  # DE: 8 years from the end of 2026
    conn, tr = await tenant_conn(app, tenant_id)
    try:
        # archiving the same artefact again returns the entry; other bytes are refused
        again = await archive_document(
            conn,
            store,
            tenant_id,
            ids[0],
            "evidence",
            "text/plain",
            f"evidence 0 {ids[0]}".encode(),
            country="DE",
            issue_date=dt.date(2026, 3, 1),
        )
        assert again.id == entries[0].id
        with pytest.raises(ValueError):
            await archive_document(
                conn,
                store,
                tenant_id,
                ids[0],
                "evidence",
                "text/plain",
                b"changed",
                country="DE",
                issue_date=dt.date(2026, 3, 1),
            )
    finally:
        await tr.rollback()
        await app.state.pool.release(conn)
    conn, tr = await tenant_conn(app, tenant_id)
    try:
        count, problems = await verify(conn, store, tenant_id)
    finally:
        await tr.rollback()
        await app.state.pool.release(conn)
    # the three issued UBL entries live in the app's (filesystem) store, not in this one,
    # so only the entries archived here are checked against `store`
    mine = [p for p in problems if p.kind == "evidence"]
    assert count >= 3 and mine == []


async def test_tampered_object_is_named_by_verify(app: Any, store: ObjectStore, issued: Any) -> None:
    tenant_id, ids = issued
    entries = await _archive_three(app, store, tenant_id, ids)
    tamper(store, entries[1].storage_key)
    conn, tr = await tenant_conn(app, tenant_id)
    try:
        _, problems = await verify(conn, store, tenant_id)
    finally:
        await tr.rollback()
        await app.state.pool.release(conn)
    bad = [p for p in problems if p.kind == "evidence"]
    assert [(p.seq, p.entry_id, p.invoice_id) for p in bad] == [(entries[1].seq, entries[1].id, ids[1])]
    assert "object altered" in bad[0].message and str(entries[1].id) in str(bad[0])


async def test_archived_rows_cannot_be_updated_or_deleted(
    app: Any, store: ObjectStore, issued: Any, owner: asyncpg.Connection
) -> None:
    tenant_id, ids = issued
    entries = await _archive_three(app, store, tenant_id, ids)
    for sql in (
        "UPDATE archive_entries SET sha256 = repeat('0', 64) WHERE tenant_id = $1 AND id = $2",
        "DELETE FROM archive_entries WHERE tenant_id = $1 AND id = $2",
    ):
        with pytest.raises(asyncpg.CheckViolationError, match="write-once"):
            await owner.execute(sql, tenant_id, entries[0].id)
    conn, tr = await tenant_conn(app, tenant_id)
    try:  # the app role has no UPDATE privilege at all
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE archive_entries SET kind = 'x' WHERE id = $1", entries[0].id)
    finally:
        await tr.rollback()
        await app.state.pool.release(conn)


async def test_chain_detects_an_altered_row(
    app: Any, store: ObjectStore, issued: Any, owner: asyncpg.Connection
) -> None:
    """Even with the trigger out of the way (a superuser), a changed row breaks the chain."""
    tenant_id, ids = issued
    entries = await _archive_three(app, store, tenant_id, ids)
    async with owner.transaction():
        await owner.execute("ALTER TABLE archive_entries DISABLE TRIGGER archive_entries_write_once")
        await owner.execute(
            "UPDATE archive_entries SET retention_until = '2027-12-31' WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            entries[2].id,
        )
        await owner.execute("ALTER TABLE archive_entries ENABLE TRIGGER archive_entries_write_once")
    conn, tr = await tenant_conn(app, tenant_id)
    try:
        _, problems = await verify(conn, store, tenant_id)
    finally:
        await tr.rollback()
        await app.state.pool.release(conn)
    assert [(p.entry_id, "entry altered" in p.message) for p in problems if p.kind == "evidence"] == [
        (entries[2].id, True)
    ]


def test_retention_periods() -> None:
    issue = dt.date(2026, 6, 30)
    expected = {
        "DE": 8,
        "FR": 10,
        "NL": 7,
        "BE": 10,
        "IT": 10,
        "ES": 6,
        "AT": 7,
        "PL": 6,
        "SE": 7,
        "NO": 5,
        "DK": 5,
        "FI": 6,
    }
    assert {c: retention_for(c, issue)[0].year - 2026 for c in expected} == expected
    assert set(RULES) == set(expected)
    assert retention_for("US", issue)[0] == dt.date(2026 + DEFAULT_YEARS, 12, 31)
    assert all(retention_for(c, issue)[0].month == 12 for c in expected)


async def test_cli_verify_over_s3_names_the_tampered_entry(
    app: Any, s3_endpoint: str, issued: Any, database_url: str, settings: Settings
) -> None:
    """`faktura archive verify` as a separate process with the S3 backend configured."""
    tenant_id, ids = issued
    bucket = f"cli-{uuid.uuid4().hex[:12]}"
    store = S3Store.connect(bucket=bucket, endpoint_url=s3_endpoint, create_bucket=True, **S3_KEYS)
    entries = await _archive_three(app, store, tenant_id, ids)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_DATA_DIR": str(settings.data_dir),
        "FAKTURA_ARCHIVE_BACKEND": "s3",
        "FAKTURA_S3_ENDPOINT_URL": s3_endpoint,
        "FAKTURA_S3_BUCKET": bucket,
        "FAKTURA_S3_ACCESS_KEY_ID": S3_KEYS["access_key_id"],
        "FAKTURA_S3_SECRET_ACCESS_KEY": S3_KEYS["secret_access_key"],
    }
    cmd = [sys.executable, "-m", "faktura.cli", "archive", "verify", "--tenant", str(tenant_id)]
    tamper(store, entries[0].storage_key)
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    lines = [x for x in out.stdout.splitlines() if f"entry={entries[0].id}" in x]
    assert len(lines) == 1 and "object altered" in lines[0] and f"seq={entries[0].seq}" in lines[0]


async def test_s3_bucket_initialised_with_object_lock(s3_endpoint: str) -> None:
    """`faktura archive init`: the bucket is created with Object Lock and a default retention,
    so the storage itself refuses to delete an archived object."""
    store = S3Store.connect(bucket=f"lock-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint, **S3_KEYS)
    assert store.ensure_bucket(lock_mode="GOVERNANCE", lock_days=30).endswith(
        "created with Object Lock; default retention GOVERNANCE 30 days"
    )
    assert "exists" in store.ensure_bucket(lock_mode="GOVERNANCE", lock_days=30)  # idempotent
    await store.put("t/aa/aa", b"<Invoice/>", "application/xml")
    head = store.client.head_object(Bucket=store.bucket, Key="t/aa/aa")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(store.client.exceptions.ClientError, match="AccessDenied"):
        store.client.delete_object(Bucket=store.bucket, Key="t/aa/aa", VersionId=head["VersionId"])
    assert await store.get("t/aa/aa") == b"<Invoice/>"
