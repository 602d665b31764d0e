"""`/v1/webhook-endpoints`: where a tenant wants its invoice events, and the delivery log.

The signing secret is returned once, at creation. Verification: docs/webhooks.md. The URL
must pass the outbound policy (public addresses only, unless the operator allows more)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from msgspec import UNSET, Meta, UnsetType

from faktura.api.common import parse_id
from faktura.api.context import tenant_scope
from faktura.api.errors import not_found
from faktura.api.pagination import Query, fetch_page, parse_page_size
from faktura.api.targets import check_url
from faktura.api.wire import decode_model, idempotent, json_response, model_response
from faktura.delivery.events import WEBHOOK_EVENTS
from faktura.delivery.signing import new_secret
from faktura.domain.invoice import Model

Url = Annotated[str, Meta(pattern=r"^https?://", max_length=2000)]
EventTypes = Annotated[
    list[Annotated[str, Meta(pattern="^(" + "|".join(e.replace(".", r"\.") for e in WEBHOOK_EVENTS) + ")$")]],
    Meta(min_length=1),
]
COLUMNS = "id, url, event_types, enabled, consecutive_failures, disabled_reason, created_at, modified_at"


class WebhookEndpointInput(Model, kw_only=True):
    url: Url
    event_types: EventTypes


class WebhookEndpointPatch(Model, kw_only=True):
    url: Url | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    #: Re-enabling resets the failure count.
    enabled: bool | UnsetType = UNSET


def endpoint_view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "url": row["url"],
        "event_types": list(row["event_types"]),
        "enabled": row["enabled"],
        "consecutive_failures": row["consecutive_failures"],
        "disabled_reason": row["disabled_reason"],
        "created_at": row["created_at"],
        "modified_at": row["modified_at"],
    }


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]

    @post("/", operation_id="webhook_endpoints_create", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The response carries `secret`, shown once."""
        raw = await request.body()
        model = decode_model(raw, WebhookEndpointInput)
        async with tenant_scope(request) as scope:
            await check_url(model.url, scope.settings, "/model/url")

            async def work() -> Response[bytes]:
                secret = new_secret()
                row = await scope.conn.fetchrow(
                    "INSERT INTO webhook_endpoints (tenant_id, id, url, event_types, secret)"
                    f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
                    scope.tenant_id,
                    uuid.uuid4(),
                    model.url,
                    sorted(set(model.event_types)),
                    secret,
                )
                return model_response({**endpoint_view(row), "secret": secret}, 201)

            return await idempotent(request, scope, raw, work)

    @get("/", operation_id="webhook_endpoints_list")
    async def list_endpoints(
        self, request: Request[Any, Any, Any], cursor: str | None = None, page_size: str | None = None
    ) -> Response[bytes]:
        size = parse_page_size(page_size)
        async with tenant_scope(request) as scope:
            q = Query("webhook_endpoints", COLUMNS, ["tenant_id = $1"], [scope.tenant_id])
            rows, nxt, prev = await fetch_page(scope.conn, q, cursor, size)
        return json_response({"next": nxt, "previous": prev, "results": [endpoint_view(r) for r in rows]})

    @get("/{endpoint_id:str}", operation_id="webhook_endpoints_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any], endpoint_id: str) -> Response[bytes]:
        eid = parse_id(endpoint_id, "Webhook endpoint")
        async with tenant_scope(request) as scope:
            row = await scope.conn.fetchrow(
                f"SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                eid,
            )
        if row is None:
            raise not_found("Webhook endpoint")
        return model_response(endpoint_view(row))

    @patch("/{endpoint_id:str}", operation_id="webhook_endpoints_partial_update")
    async def update(self, request: Request[Any, Any, Any], endpoint_id: str) -> Response[bytes]:
        eid = parse_id(endpoint_id, "Webhook endpoint")
        model = decode_model(await request.body(), WebhookEndpointPatch)
        async with tenant_scope(request) as scope:
            if model.url is not UNSET:
                await check_url(model.url, scope.settings, "/model/url")
            row = await scope.conn.fetchrow(
                "UPDATE webhook_endpoints SET url = coalesce($3, url), event_types = coalesce($4, event_types),"
                " enabled = coalesce($5, enabled),"
                " consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END,"
                " disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,"
                f" modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
                scope.tenant_id,
                eid,
                None if model.url is UNSET else model.url,
                None if model.event_types is UNSET else sorted(set(model.event_types)),
                None if model.enabled is UNSET else model.enabled,
            )
        if row is None:
            raise not_found("Webhook endpoint")
        return model_response(endpoint_view(row))

    @get("/{endpoint_id:str}/deliveries", operation_id="webhook_endpoints_deliveries")
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: str,
        cursor: str | None = None,
        page_size: str | None = None,
    ) -> Response[bytes]:
        """The endpoint's delivery log, newest first."""
        eid = parse_id(endpoint_id, "Webhook endpoint")
        size = parse_page_size(page_size)
        async with tenant_scope(request) as scope:
            if not await scope.conn.fetchval(
                "SELECT EXISTS (SELECT FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2)",
                scope.tenant_id,
                eid,
            ):
                raise not_found("Webhook endpoint")
            q = Query(
                "webhook_deliveries",
                "id, event_id, event_type, status, attempts, response_status, last_error, payload, created_at, modified_at",
                ["tenant_id = $1", "endpoint_id = $2"],
                [scope.tenant_id, eid],
            )
            rows, nxt, prev = await fetch_page(scope.conn, q, cursor, size)
        results = [
            {
                "id": str(r["id"]),
                "event": r["payload"]["id"],
                "event_type": r["event_type"],
                "status": r["status"],
                "attempts": r["attempts"],
                "response_status": r["response_status"],
                "last_error": r["last_error"],
                "created_at": r["created_at"],
                "modified_at": r["modified_at"],
            }
            for r in rows
        ]
        return json_response({"next": nxt, "previous": prev, "results": results})
