"""The job worker as an operator runs it: real `faktura worker` and `faktura serve`
processes on the test database. A failed job is printed to stderr with its traceback;
`serve` restarts a worker that died and reaps it, and takes it along when killed itself;
a worker killed with -9 in the middle of rendering a PDF leaves no process behind."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from tests.conftest import ADMIN_DSN, Tenant, _dsn_for, invoice_body, make_contact, make_platform, make_tenant
from tests.delivery_support import free_port, worker_env
from tests.process_support import children, cmdline, in_group, kill_group, proc_stat

from faktura.db.migrate import migrate
from faktura.documents import PDF_JOB
from faktura.jobs import enqueue
from faktura.settings import Settings

WORKER = [sys.executable, "-m", "faktura.cli", "worker"]


async def poll(cond: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := cond():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database of its own, so that no job queued by another test runs ahead of ours."""
    name = f"faktura_worker_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_worker_prints_failed_jobs_with_traceback(
    settings: Settings, empty_database: str, tmp_path: Path
) -> None:
    await migrate(empty_database)
    owner = await asyncpg.connect(empty_database)
    stderr = tmp_path / "worker.stderr"
    with open(stderr, "wb") as err:
        env = worker_env(dataclasses.replace(settings, database_url=empty_database))
        worker = subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        invoice_id = str(uuid.uuid4())  # no such invoice: the job fails
        job = await enqueue(owner, PDF_JOB, {"tenant_id": str(uuid.uuid4()), "invoice_id": invoice_id})
        await poll(lambda: f"{PDF_JOB}/{job}" in stderr.read_text(), 30, "failure logged")
        await asyncio.sleep(0.3)  # the traceback follows the message
        log = stderr.read_text()
        assert "Traceback (most recent call last)" in log, log
        assert "render_pdf" in log and "LookupError: invoice" in log, log
    finally:
        worker.terminate()
        worker.wait(15)
        await owner.close()


async def test_serve_restarts_a_dead_worker_reaps_it_and_takes_it_along(
    settings: Settings, empty_database: str, tmp_path: Path
) -> None:
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port)],
            env=worker_env(dataclasses.replace(settings, database_url=empty_database)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def worker_child() -> int | None:
            return next((p for p in children(serve.pid) if "faktura.cli worker" in cmdline(p)), None)

        first = await poll(worker_child, 60, "serve starts a worker")
        assert isinstance(first, int)
        os.kill(first, signal.SIGKILL)
        second = await poll(lambda: (p := worker_child()) != first and p, 20, "serve restarts the worker")
        assert proc_stat(first) is None, "the dead worker was not reaped"
        assert "exited with -9; restarting" in (tmp_path / "serve.log").read_text()

        # The new worker runs jobs: an invoice issued now gets its PDF.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(100):
                try:
                    if (await c.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            owner = await asyncpg.connect(empty_database)  # migrated by serve
            try:
                t = await make_tenant(c, await make_platform(owner))
            finally:
                await owner.close()
            r = await c.post(
                "/v1/invoices?issue=true", json=invoice_body(await make_contact(c, t)), headers=t.headers
            )
            assert r.status_code == 201, r.text
            pdf_url = f"/v1/invoices/{r.json()['model']['id']}/pdf"
            deadline = time.monotonic() + 60
            while (await c.get(pdf_url, headers=t.headers)).status_code != 200:
                assert time.monotonic() < deadline, "no PDF within 60 s"
                await asyncio.sleep(0.3)
        assert worker_child() == second

        # The other way round: a `serve` killed with -9 takes its worker (and its renderer) along.
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait(10)
        await poll(lambda: not in_group(serve.pid), 20, "the worker ends with serve")
    finally:
        serve.terminate()
        try:
            serve.wait(20)
        finally:
            kill_group(serve.pid)


async def test_kill_9_mid_render_leaves_no_process_behind(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    body = invoice_body(await make_contact(client, tenant))
    body["model"]["line_items"] = body["model"]["line_items"] * 150  # a render that takes a while
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    # Its own process group, so that everything it started can be found after it is gone.
    worker = subprocess.Popen(
        WORKER,
        env=worker_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def renderer() -> int | None:
            return next((p for p in children(worker.pid) if "spawn_main" in cmdline(p)), None)

        render = await poll(renderer, 60, "the worker starts rendering")
        assert isinstance(render, int)
        await asyncio.sleep(1.5)  # importing WeasyPrint, then rendering 300 lines
        assert proc_stat(render) is not None and renderer() == render, "the render ended too soon"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        await poll(lambda: not in_group(worker.pid), 15, "every process of the worker ends with it")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        kill_group(worker.pid)
