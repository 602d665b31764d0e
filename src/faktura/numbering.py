"""Gapless numbering per tenant and series.

The next number is taken inside the issuing transaction by an UPSERT on the series'
counter row (with the tenant's archive chain lock, `take_number`); the row stays locked
until that transaction ends, so concurrent issuers queue and a rolled-back issue returns
its number. Formats are `str.format` templates with
`{year}` and `{seq}` (e.g. `INV-{year}-{seq:05}`); a yearly series restarts at 1 each year.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import NamedTuple

import asyncpg

DEFAULT_SERIES = {"INVOICE": "INV", "CREDIT_NOTE": "CN"}
ALLOWED_FIELDS = {"year", "seq"}


def format_problems(fmt: str) -> str | None:
    """Why a format is unusable, or None."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
    except ValueError as exc:
        return f"invalid format: {exc}"
    unknown = set(fields) - ALLOWED_FIELDS
    if unknown:
        return f"unknown placeholders: {', '.join(sorted(unknown))}"
    if "seq" not in fields:
        return "the format must contain {seq}"
    try:
        fmt.format(year=2026, seq=1)
    except (ValueError, KeyError, IndexError) as exc:
        return f"invalid format: {exc}"
    return None


def render_number(fmt: str, year: int, seq: int) -> str:
    return fmt.format(year=year, seq=seq)


async def ensure_default_series(conn: asyncpg.Connection, tenant_id: object, code: str, fmt: str) -> None:
    await conn.execute(
        "INSERT INTO number_series (tenant_id, code, format, yearly_reset) VALUES ($1, $2, $3, true)"
        " ON CONFLICT DO NOTHING",
        tenant_id,
        code,
        fmt,
    )


class SeriesSpec(NamedTuple):
    format: str
    yearly_reset: bool


async def series_spec(conn: asyncpg.Connection, tenant_id: object, series: str) -> SeriesSpec | None:
    row = await conn.fetchrow(
        "SELECT format, yearly_reset FROM number_series WHERE tenant_id = $1 AND code = $2", tenant_id, series
    )
    return None if row is None else SeriesSpec(row["format"], row["yearly_reset"])


async def take_number(
    conn: asyncpg.Connection, tenant_id: object, series: str, spec: SeriesSpec, issue_date: dt.date
) -> tuple[str, tuple[int | None, str | None]]:
    """The next number of the series and the head (seq, hash) of the tenant's archive chain,
    in one call that locks both until the transaction ends (`faktura_take_number`,
    migration 0009): issuing chains its XML's archive entry after that head."""
    period = issue_date.year if spec.yearly_reset else 0
    row = await conn.fetchrow("SELECT * FROM faktura_take_number($1, $2, $3)", tenant_id, series, period)
    number = render_number(spec.format, issue_date.year, row["number_seq"])
    return number, (row["chain_seq"], row["chain_hash"])
