"""Keyset (cursor) pagination: stable under concurrent inserts, no OFFSET scans.

Rows are ordered newest first by (created_at, id). A cursor encodes the boundary row and
the direction; `next` continues after the last row, `previous` goes back before the first.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from faktura.api.context import tenant_fetch
from faktura.api.errors import ApiError, problem

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100


class _Cursor(msgspec.Struct, array_like=True):
    direction: str  # "n" or "p"
    created_at: dt.datetime
    id: uuid.UUID


def encode_cursor(direction: str, created_at: dt.datetime, id_: uuid.UUID) -> str:
    return (
        base64.urlsafe_b64encode(msgspec.json.encode(_Cursor(direction, created_at, id_)))
        .decode()
        .rstrip("=")
    )


def decode_cursor(text: str) -> _Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cur = msgspec.json.decode(raw, type=_Cursor)
        if cur.direction not in ("n", "p"):
            raise ValueError
        return cur
    except (ValueError, msgspec.MsgspecError):
        raise ApiError(
            400, [problem("Invalid Cursor", "The cursor is not valid.", "INVALID_CURSOR", "/cursor")]
        ) from None


def parse_page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_PAGE_SIZE:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter",
                    f"page_size must be 1..{MAX_PAGE_SIZE}.",
                    "INVALID_PARAMETER",
                    "/page_size",
                )
            ],
        )
    return n


@dataclass
class Query:
    """A WHERE clause built from filters, with numbered asyncpg parameters."""

    table: str
    columns: str
    clauses: list[str]
    args: list[Any]
    #: a range filter: its best index depends on its value (see `fetch_page`)
    ranges: bool = False
    #: `created_after` / `created_before`: bounds on the page order's own column, kept apart
    #: so that `sql` can merge them with the cursor's (see there)
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None

    def add(self, clause: str, *values: Any) -> None:
        for v in values:
            self.args.append(v)
            clause = clause.replace("?", f"${len(self.args)}", 1)
        self.clauses.append(clause)

    def add_range(self, clause: str, *values: Any) -> None:
        self.add(clause, *values)
        self.ranges = True

    def sql(self, cursor: _Cursor | None, limit: int) -> tuple[str, list[Any], bool]:
        """(sql, args, reversed): fetch limit+1 rows so we know whether another page exists.

        The cursor and a `created_*` filter both bound `created_at`, the first column of the
        page index after the tenant. Given both, PostgreSQL starts the index scan at one and
        tests the other on every entry: a deep page of `created_before=2020-01-01` walked from
        the cursor through half a million entries of a big tenant to find none. Of an upper
        bound `created_at < B` and the cursor's `(created_at, id) < (c, i)`, one implies the
        other (B <= c: the filter's; else the cursor's), so only that one is sent; the same
        for lower bounds going back."""
        q = Query(self.table, self.columns, list(self.clauses), list(self.args), self.ranges)
        backwards = cursor is not None and cursor.direction == "p"
        after, before = self.created_after, self.created_before
        if cursor is not None:
            bound = after if backwards else before
            if bound is None or (bound < cursor.created_at if backwards else bound > cursor.created_at):
                op = ">" if backwards else "<"
                q.add(f"(created_at, id) {op} (?, ?)", cursor.created_at, cursor.id)
                after, before = (None, before) if backwards else (after, None)
        if after is not None:
            q.add("created_at > ?", after)
        if before is not None:
            q.add("created_at < ?", before)
        where = " AND ".join(q.clauses) or "true"
        order = "ASC" if backwards else "DESC"
        # The page is chosen first and only its rows are projected: a plan that sorts (a
        # narrow range filter) would otherwise compute the columns of every matching row.
        text = (
            f"SELECT {q.columns} FROM (SELECT * FROM {q.table} WHERE {where}"
            f" ORDER BY created_at {order}, id {order} LIMIT {limit + 1}) AS {q.table}"
            f" ORDER BY created_at {order}, id {order}"
        )
        return text, q.args, backwards


async def fetch_page(
    conn: Any, query: Query, cursor_text: str | None, size: int
) -> tuple[list[Any], str | None, str | None]:
    cursor = decode_cursor(cursor_text) if cursor_text else None
    text, args, backwards = query.sql(cursor, size)
    if query.ranges and conn.is_in_transaction():
        # With a range filter the best index depends on its value (a date range matching
        # 1,000 rows or 1,000,000): never let PostgreSQL switch this prepared statement to a
        # generic plan, which it does after five executions and which can walk a tenant's
        # whole index. Without one, every plan is the filter's own index in page order
        # whatever the values, and the statement (a round trip) is saved.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    return _page(list(await conn.fetch(text, *args)), cursor, size, backwards)


async def fetch_tenant_page(
    request: Any, query: Query, cursor_text: str | None, size: int
) -> tuple[list[Any], str | None, str | None]:
    """`fetch_page` in one round trip (`context.tenant_fetch`), for a query written against
    `scope.tenant_id` and without a range filter (those need their transaction's custom plan)."""
    assert not query.ranges
    cursor = decode_cursor(cursor_text) if cursor_text else None
    text, args, backwards = query.sql(cursor, size)
    rows = await tenant_fetch(request, text, *args)
    # The lateral join keeps the inner order in practice; sorting the page again makes it a rule.
    found = sorted((r for r in rows if r["id"] is not None), key=_position, reverse=not backwards)
    return _page(found, cursor, size, backwards)


async def fetch_tenant_joined_page(
    request: Any, query: Query, cursor_text: str | None, size: int
) -> tuple[bytes, str | None, str | None] | None:
    """`fetch_tenant_page` for a query whose rows carry a stored JSON `entry`, with the page's
    entries joined (newest first, comma-separated) by PostgreSQL: one row to decode instead
    of `size + 1`, which halves the client's CPU for a page of 50. None when a row of the
    page has no entry: the caller lists that page through its rows."""
    cursor = decode_cursor(cursor_text) if cursor_text else None
    text, args, backwards = query.sql(cursor, size)
    order = "ASC" if backwards else "DESC"
    on_page = f"n <= {size}"
    joined = (
        f"SELECT count(*) AS fetched, count(*) FILTER (WHERE entry IS NULL AND {on_page}) AS missing,"
        f" string_agg(entry, ',' ORDER BY created_at DESC, id DESC) FILTER (WHERE {on_page}) AS entries,"
        " (array_agg(created_at ORDER BY n))[1] AS start_at, (array_agg(id ORDER BY n))[1] AS start_id,"
        f" (array_agg(created_at ORDER BY n DESC) FILTER (WHERE {on_page}))[1] AS end_at,"
        f" (array_agg(id ORDER BY n DESC) FILTER (WHERE {on_page}))[1] AS end_id"
        f" FROM (SELECT id, created_at, entry, row_number() OVER (ORDER BY created_at {order}, id {order}) AS n"
        f" FROM ({text}) page) page"
    )
    (row,) = await tenant_fetch(request, joined, *args)
    if row["missing"]:
        return None
    if not row["fetched"]:
        return b"", None, None
    # `start` and `end` are the page's edges in fetch order, which is the page's order
    # going forward and the reverse of it going back.
    start, end = (row["start_at"], row["start_id"]), (row["end_at"], row["end_id"])
    first, last = (end, start) if backwards else (start, end)
    return row["entries"], *_cursors(first, last, row["fetched"] > size, cursor, backwards)


def _position(row: Any) -> tuple[dt.datetime, uuid.UUID]:
    return row["created_at"], row["id"]


def _page(
    rows: list[Any], cursor: _Cursor | None, size: int, backwards: bool
) -> tuple[list[Any], str | None, str | None]:
    """The page of `size` rows out of the `size + 1` fetched, and its cursors."""
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return rows, None, None
    return rows, *_cursors(_position(rows[0]), _position(rows[-1]), more, cursor, backwards)


def _cursors(
    first: tuple[dt.datetime, uuid.UUID],
    last: tuple[dt.datetime, uuid.UUID],
    more: bool,
    cursor: _Cursor | None,
    backwards: bool,
) -> tuple[str | None, str | None]:
    """`next` and `previous` of a non-empty page shown from `first` to `last`; `more`: a row
    beyond the page was fetched."""
    has_next = more if not backwards else True
    has_prev = (cursor is not None) if not backwards else more
    nxt = encode_cursor("n", *last) if has_next else None
    prev = encode_cursor("p", *first) if has_prev else None
    return nxt, prev


def parse_datetime(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter",
                    f"{name} must be an ISO 8601 datetime.",
                    "INVALID_PARAMETER",
                    f"/{name}",
                )
            ],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter", f"{name} must be an ISO 8601 date.", "INVALID_PARAMETER", f"/{name}"
                )
            ],
        ) from None


def parse_uuid(value: str | None, name: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(
            400, [problem("Invalid Parameter", f"{name} must be a UUID.", "INVALID_PARAMETER", f"/{name}")]
        ) from None


def add_time_filters(q: Query, **bounds: str | None) -> None:
    """The seed's `created_after/before` and `modified_after/before` filters, for any table
    with `created_at` / `modified_at` columns."""
    for name, value in bounds.items():
        column, _, side = name.rpartition("_")
        if (moment := parse_datetime(value, name)) is None:
            continue
        if column == "created":  # merged with the cursor's bound in `Query.sql`
            q.ranges = True
            if side == "after":
                q.created_after = moment
            else:
                q.created_before = moment
        else:
            q.add_range(f"{column}_at {'>' if side == 'after' else '<'} ?", moment)
