"""The database's cost of storing an issued invoice's XML: pglz (PostgreSQL's default) against
LZ4 (migration 0014), in one run.

Renders the bench's 10-line invoice to UBL once, then in `--rounds` rounds inserts it
`--count` times into a pglz table and into an LZ4 table (alternating which goes first), in a
scratch database created and dropped here, and reads the backends' CPU time (/proc) around
each side. Prints µs of PostgreSQL CPU per insert per side, the median ratio, and the stored
size per row.

    .venv/bin/python bench/compression.py [--count 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from issue import ADMIN_DSN, postgres_cpu_seconds  # noqa: E402
from pdf import document  # noqa: E402

from faktura.render.ubl import render_ubl  # noqa: E402

METHODS = ("pglz", "lz4")


async def main(count: int, rounds: int) -> None:
    xml = render_ubl(document(10))
    async with scratch_database() as (name, conn):
        for method in METHODS:
            await conn.execute(
                f"CREATE TABLE docs_{method} (id bigserial PRIMARY KEY, content bytea COMPRESSION {method})"
            )
        print(
            f"# bench/compression.py: {len(xml):,} bytes of UBL, {count} inserts per side and round,"
            f" {rounds} rounds; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        per_insert: dict[str, list[float]] = {m: [] for m in METHODS}
        for n in range(rounds):
            for method in METHODS if n % 2 == 0 else METHODS[::-1]:
                before = postgres_cpu_seconds(name)
                await conn.executemany(f"INSERT INTO docs_{method} (content) VALUES ($1)", [(xml,)] * count)
                per_insert[method].append((postgres_cpu_seconds(name) - before) / count * 1e6)
            print(
                f"round {n + 1}: " + ", ".join(f"{m} {per_insert[m][-1]:.0f} µs" for m in METHODS), flush=True
            )
        for method in METHODS:
            size = await conn.fetchval(f"SELECT avg(pg_column_size(content))::int FROM docs_{method}")
            print(
                f"{method:5} {statistics.median(per_insert[method]):6.0f} µs of PostgreSQL CPU per insert,"
                f" {size:,} bytes stored per row, compressed with {await conn.fetchval(f'SELECT pg_column_compression(content) FROM docs_{method} LIMIT 1')}"
            )
        ratios = [p / z for p, z in zip(per_insert["pglz"], per_insert["lz4"], strict=True)]
        print(f"median ratio pglz / lz4 over {rounds} rounds: {statistics.median(ratios):.2f}")


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A database of its own for the run, and a connection to it; dropped afterwards."""
    name = f"faktura_bench_compression_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(ADMIN_DSN.rpartition("/")[0] + "/" + name)
    try:
        yield name, conn
    finally:
        await conn.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(**vars(parser.parse_args())))
