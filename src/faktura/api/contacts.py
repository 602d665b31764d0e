"""`/v1/contacts`: a tenant's buyers (the seed's `contact`)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar import Controller, Request, Response, delete, get, patch, post

from faktura.api.common import merge_patch, parse_id, timestamps
from faktura.api.context import tenant_scope
from faktura.api.errors import conflict, not_found
from faktura.api.pagination import Query, add_time_filters, fetch_page, parse_page_size
from faktura.api.targets import check_url
from faktura.api.wire import idempotent, json_response, model_response, read_model, to_builtins
from faktura.domain.parties import ContactInput

COLUMNS = "id, data, created_at, modified_at"


def contact_view(row: Any) -> dict[str, Any]:
    return {"id": str(row["id"]), **row["data"], **timestamps(row)}


class ContactController(Controller):
    path = "/v1/contacts"
    tags = ["contacts"]

    @post("/", operation_id="contacts_create", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        model, body = await read_model(request, ContactInput)
        async with tenant_scope(request) as scope:
            if model.webhook_url is not None:
                await check_url(model.webhook_url, scope.settings, "/model/webhook_url")

            async def work() -> Response[bytes]:
                row = await scope.conn.fetchrow(
                    f"INSERT INTO contacts (tenant_id, id, remote_id, data) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}",
                    scope.tenant_id,
                    uuid.uuid4(),
                    model.remote_id,
                    to_builtins(model),
                )
                return model_response(contact_view(row), 201)

            return await idempotent(request, scope, body, work)

    @get("/", operation_id="contacts_list")
    async def list_contacts(
        self,
        request: Request[Any, Any, Any],
        cursor: str | None = None,
        page_size: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
        remote_id: str | None = None,
        name: str | None = None,
    ) -> Response[bytes]:
        size = parse_page_size(page_size)
        async with tenant_scope(request) as scope:
            q = Query("contacts", COLUMNS, ["tenant_id = $1"], [scope.tenant_id])
            add_time_filters(
                q,
                created_after=created_after,
                created_before=created_before,
                modified_after=modified_after,
                modified_before=modified_before,
            )
            if remote_id is not None:
                q.add("remote_id = ?", remote_id)
            if name is not None:
                q.add("data->>'name' ILIKE ?", "%" + name.replace("%", r"\%").replace("_", r"\_") + "%")
            rows, nxt, prev = await fetch_page(scope.conn, q, cursor, size)
        return json_response({"next": nxt, "previous": prev, "results": [contact_view(r) for r in rows]})

    @get("/{contact_id:str}", operation_id="contacts_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any], contact_id: str) -> Response[bytes]:
        cid = parse_id(contact_id, "Contact")
        async with tenant_scope(request) as scope:
            row = await scope.conn.fetchrow(
                f"SELECT {COLUMNS} FROM contacts WHERE tenant_id = $1 AND id = $2", scope.tenant_id, cid
            )
        if row is None:
            raise not_found("Contact")
        return model_response(contact_view(row))

    @patch("/{contact_id:str}", operation_id="contacts_partial_update")
    async def update(self, request: Request[Any, Any, Any], contact_id: str) -> Response[bytes]:
        """JSON merge patch; invoices already issued keep the buyer as it was then."""
        cid = parse_id(contact_id, "Contact")
        body = await request.body()
        async with tenant_scope(request) as scope:
            row = await scope.conn.fetchrow(
                "SELECT data FROM contacts WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, cid
            )
            if row is None:
                raise not_found("Contact")
            model, data = merge_patch(row["data"], body, ContactInput)
            if model.webhook_url is not None and model.webhook_url != row["data"].get("webhook_url"):
                await check_url(model.webhook_url, scope.settings, "/model/webhook_url")
            row = await scope.conn.fetchrow(
                "UPDATE contacts SET data = $3, remote_id = $4, modified_at = clock_timestamp()"
                f" WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
                scope.tenant_id,
                cid,
                data,
                model.remote_id,
            )
        return model_response(contact_view(row))

    @delete("/{contact_id:str}", operation_id="contacts_destroy", status_code=204)
    async def destroy(self, request: Request[Any, Any, Any], contact_id: str) -> None:
        cid = parse_id(contact_id, "Contact")
        async with tenant_scope(request) as scope:
            try:
                async with scope.conn.transaction():
                    status = await scope.conn.execute(
                        "DELETE FROM contacts WHERE tenant_id = $1 AND id = $2", scope.tenant_id, cid
                    )
            except asyncpg.ForeignKeyViolationError:
                raise conflict("The contact is used by invoices and cannot be deleted.") from None
        if status.endswith(" 0"):
            raise not_found("Contact")
