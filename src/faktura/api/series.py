"""`/v1/number-series`: a tenant's numbering formats (gapless counters live beside them)."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from litestar import Controller, Request, Response, get, post
from msgspec import Meta

from faktura.api.context import tenant_scope
from faktura.api.errors import ApiError, conflict, problem
from faktura.api.wire import idempotent, json_response, model_response, read_model
from faktura.domain.invoice import Model
from faktura.numbering import format_problems


class SeriesInput(Model, kw_only=True):
    code: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    format: Annotated[str, Meta(min_length=1, max_length=100, description="e.g. INV-{year}-{seq:05}")]
    yearly_reset: bool = True


def series_view(row: Any) -> dict[str, Any]:
    return {
        "code": row["code"],
        "format": row["format"],
        "yearly_reset": row["yearly_reset"],
        "created_at": row["created_at"],
    }


class NumberSeriesController(Controller):
    path = "/v1/number-series"
    tags = ["number-series"]

    @post("/", operation_id="number_series_create", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        model, body = await read_model(request, SeriesInput)
        async with tenant_scope(request) as scope:
            # after authentication: a caller without credentials learns nothing about formats
            if (why := format_problems(model.format)) is not None:
                raise ApiError(422, [problem("Invalid Field", why, "INVALID_FIELD", "/model/format")])

            async def work() -> Response[bytes]:
                try:
                    async with scope.conn.transaction():
                        row = await scope.conn.fetchrow(
                            "INSERT INTO number_series (tenant_id, code, format, yearly_reset) VALUES ($1, $2, $3, $4)"
                            " RETURNING code, format, yearly_reset, created_at",
                            scope.tenant_id,
                            model.code,
                            model.format,
                            model.yearly_reset,
                        )
                except asyncpg.UniqueViolationError:
                    raise conflict("A series with this code exists.", "/model/code") from None
                return model_response(series_view(row), 201)

            return await idempotent(request, scope, body, work)

    @get("/", operation_id="number_series_list")
    async def list_series(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        async with tenant_scope(request) as scope:
            rows = await scope.conn.fetch(
                "SELECT code, format, yearly_reset, created_at FROM number_series WHERE tenant_id = $1 ORDER BY code",
                scope.tenant_id,
            )
        return json_response({"next": None, "previous": None, "results": [series_view(r) for r in rows]})
