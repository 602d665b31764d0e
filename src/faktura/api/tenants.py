"""`/v1/tenants`: the seller legal entities of a platform (platform key only)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post

from faktura.api.common import merge_patch, parse_id, timestamps
from faktura.api.context import platform_scope
from faktura.api.errors import ApiError, conflict, not_found, problem
from faktura.api.gate import platform_key
from faktura.api.pagination import Query, add_time_filters, fetch_page, parse_page_size
from faktura.api.wire import idempotent, json_response, model_response, read_model, to_builtins
from faktura.compliance.versions import valid_opt_in
from faktura.db.platforms import ACCOUNT_TOKEN_PREFIX, new_secret, secret_hash
from faktura.domain.parties import TenantInput

COLUMNS = "id, data, created_at, modified_at"


def _check_early_versions(model: TenantInput) -> None:
    """An early opt-in must name a version Faktura implements (`GET /v1/compliance/rules`)."""
    bad = [
        problem(
            "Invalid Field",
            f"{key!r} is not a rule-set version Faktura implements.",
            "INVALID_FIELD",
            f"/model/early_rule_versions/{i}",
        )
        for i, key in enumerate(model.early_rule_versions)
        if not valid_opt_in(key)
    ]
    if bad:
        raise ApiError(422, bad)


def tenant_view(row: Any) -> dict[str, Any]:
    return {"id": str(row["id"]), **row["data"], **timestamps(row)}


async def _vat_id_free(conn: Any, platform_id: Any, vat_id: str | None, except_id: Any = None) -> None:
    """One platform cannot register the same VAT id twice: two tenants would be the same
    seller with two gapless number ranges. Compared compact (no spaces, dots or dashes) and
    case-blind; an advisory lock makes two concurrent creates wait for each other."""
    if not vat_id:
        return
    compact = re.sub(r"[\s.-]", "", vat_id).upper()
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('faktura.tenant-vat:' || $1 || ':' || $2, 0))",
        str(platform_id),
        compact,
    )
    other = await conn.fetchval(
        "SELECT id FROM tenants WHERE platform_id = $1 AND id IS DISTINCT FROM $3"
        " AND upper(regexp_replace(data->>'vat_id', '[\\s.-]', '', 'g')) = $2 LIMIT 1",
        platform_id,
        compact,
        except_id,
    )
    if other is not None:
        raise conflict(f"Tenant {other} of this platform has this VAT id.", "/model/vat_id")


async def _new_token(conn: Any, tenant_id: uuid.UUID, *, revoke_others: bool) -> str:
    token = new_secret(ACCOUNT_TOKEN_PREFIX)
    ok = await conn.fetchval(
        "SELECT faktura_add_tenant_token($1, $2, $3, $4)",
        tenant_id,
        secret_hash(token),
        token[:10],
        revoke_others,
    )
    if ok is None:
        raise not_found("Tenant")
    return token


class TenantController(Controller):
    path = "/v1/tenants"
    tags = ["tenants"]
    opt = {"authenticate": platform_key}

    @post("/", operation_id="tenants_create", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create a tenant (the seller); the response carries its account token, shown once."""
        model, body = await read_model(request, TenantInput)
        _check_early_versions(model)
        async with platform_scope(request) as scope:

            async def work() -> Response[bytes]:
                await _vat_id_free(scope.conn, scope.platform_id, model.vat_id)
                tenant_id = uuid.uuid4()
                row = await scope.conn.fetchrow(
                    f"INSERT INTO tenants (id, platform_id, data) VALUES ($1, $2, $3) RETURNING {COLUMNS}",
                    tenant_id,
                    scope.platform_id,
                    to_builtins(model),
                )
                token = await _new_token(scope.conn, tenant_id, revoke_others=False)
                return model_response({**tenant_view(row), "account_token": token}, 201)

            return await idempotent(request, scope, body, work)

    @get("/", operation_id="tenants_list")
    async def list_tenants(
        self,
        request: Request[Any, Any, Any],
        cursor: str | None = None,
        page_size: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        remote_id: str | None = None,
    ) -> Response[bytes]:
        """The platform's tenants, newest first, cursor-paginated."""
        size = parse_page_size(page_size)
        async with platform_scope(request) as scope:
            q = Query("tenants", COLUMNS, ["platform_id = $1"], [scope.platform_id])
            add_time_filters(q, created_after=created_after, created_before=created_before)
            if remote_id is not None:
                q.add("data->>'remote_id' = ?", remote_id)
            rows, nxt, prev = await fetch_page(scope.conn, q, cursor, size)
        return json_response({"next": nxt, "previous": prev, "results": [tenant_view(r) for r in rows]})

    @get("/{tenant_id:str}", operation_id="tenants_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any], tenant_id: str) -> Response[bytes]:
        tid = parse_id(tenant_id, "Tenant")
        async with platform_scope(request) as scope:
            row = await scope.conn.fetchrow(
                f"SELECT {COLUMNS} FROM tenants WHERE id = $1 AND platform_id = $2", tid, scope.platform_id
            )
        if row is None:
            raise not_found("Tenant")
        return model_response(tenant_view(row))

    @patch("/{tenant_id:str}", operation_id="tenants_partial_update")
    async def update(self, request: Request[Any, Any, Any], tenant_id: str) -> Response[bytes]:
        """JSON merge patch of the tenant; issued invoices keep the seller as it was."""
        tid = parse_id(tenant_id, "Tenant")
        body = await request.body()
        async with platform_scope(request) as scope:
            row = await scope.conn.fetchrow(
                "SELECT data FROM tenants WHERE id = $1 AND platform_id = $2 FOR UPDATE",
                tid,
                scope.platform_id,
            )
            if row is None:
                raise not_found("Tenant")
            model, data = merge_patch(row["data"], body, TenantInput)
            await _vat_id_free(scope.conn, scope.platform_id, model.vat_id, tid)
            _check_early_versions(model)
            row = await scope.conn.fetchrow(
                f"UPDATE tenants SET data = $2, modified_at = clock_timestamp() WHERE id = $1 RETURNING {COLUMNS}",
                tid,
                data,
            )
        return model_response(tenant_view(row))

    @post("/{tenant_id:str}/rotate-token", operation_id="tenants_rotate_token", status_code=200)
    async def rotate_token(self, request: Request[Any, Any, Any], tenant_id: str) -> Response[bytes]:
        """A new account token; every earlier token of the tenant is revoked at once."""
        tid = parse_id(tenant_id, "Tenant")
        body = await request.body()
        async with platform_scope(request) as scope:

            async def work() -> Response[bytes]:
                token = await _new_token(scope.conn, tid, revoke_others=True)
                return model_response({"id": str(tid), "account_token": token})

            return await idempotent(request, scope, body, work)
