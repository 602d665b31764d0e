"""Access point callbacks (`POST /v1/peppol/callback`) and the sandbox access point's HTTP
face (`/sandbox/peppol-ap/...`, the adapter contract of docs/peppol-access-point.md; mounted
only while the sandbox is on). Without a configured callback token every callback is 401."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.connection import ASGIConnection
from msgspec import Meta

from faktura.api.context import pool, tenant_scope
from faktura.api.errors import ApiError, not_found, problem
from faktura.api.gate import public
from faktura.api.wire import convert, decode_json, decode_model, json_response, model_response
from faktura.delivery.sandbox import parse_envelope, registered, store
from faktura.delivery.service import RESPONSE_CODES, apply_inbound
from faktura.domain.invoice import Model


class Callback(Model, kw_only=True):
    message_id: str
    type: Literal["receipt", "invoice_response"]
    #: Invoice Response status (UNCL 4343 subset): AB, IP, UQ, CA, RE, AP, PD.
    code: Literal["AB", "IP", "UQ", "CA", "RE", "AP", "PD"] | None = None
    note: str | None = None
    evidence: dict[str, Any] = {}


def _check_token(request: Request[Any, Any, Any], expected: str | None) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if expected is None or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise ApiError(401, [problem("Unauthorized", "Unknown callback token.", "UNAUTHORIZED")])


async def _callback_token(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    _check_token(connection, connection.app.state.settings.delivery.peppol_callback_token)  # type: ignore[arg-type]


class PeppolCallbackController(Controller):
    path = "/v1/peppol"
    tags = ["delivery"]
    opt = {"authenticate": _callback_token}

    @post("/callback", operation_id="peppol_callback", status_code=200)
    async def callback(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A delivery receipt or an Invoice Response from the access point
        (`Authorization: Bearer <FAKTURA_PEPPOL_CALLBACK_TOKEN>`)."""
        _check_token(request, request.app.state.settings.delivery.peppol_callback_token)
        body: Callback = convert(decode_json(await request.body()), Callback, "")
        if body.type == "invoice_response" and body.code not in RESPONSE_CODES:
            raise ApiError(
                422,
                [
                    problem(
                        "Missing Required Field",
                        "An Invoice Response needs a code.",
                        "MISSING_REQUIRED_FIELD",
                        "/code",
                    )
                ],
            )
        async with pool(request).acquire() as conn, conn.transaction():
            delivery = await apply_inbound(
                conn, body.message_id, body.type, body.code, body.note, body.evidence
            )
        if delivery is None:
            raise not_found("Message")
        return model_response(delivery)


class EInvoiceBeWebhookController(Controller):
    path = "/v1/peppol/e-invoice-be"
    tags = ["delivery"]

    @post(
        "/webhook",
        operation_id="peppol_einvoice_be_webhook",
        status_code=202,
        opt={"authenticate": public},  # signed with the AP's secret, checked on the body
    )
    async def webhook(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """An e-invoice.be webhook, signed with its secret (`X-Signature`: HMAC-SHA256 of the
        body). Its content only names the document; the statuses are then read from the AP."""
        from faktura.delivery import einvoice_be, tracking

        secret = request.app.state.settings.delivery.peppol_ap_webhook_secret
        body = await request.body()
        if not secret or not einvoice_be.signature_ok(secret, body, request.headers.get("x-signature", "")):
            raise ApiError(401, [problem("Unauthorized", "Bad webhook signature.", "UNAUTHORIZED")])
        data = decode_json(body)
        document_id = data.get("document_id") if isinstance(data, dict) else None
        if not isinstance(document_id, str):
            raise ApiError(
                422,
                [
                    problem(
                        "Missing Required Field", "No document_id.", "MISSING_REQUIRED_FIELD", "/document_id"
                    )
                ],
            )
        async with pool(request).acquire() as conn, conn.transaction():
            known = await tracking.poke(conn, document_id)
        return model_response({"document_id": document_id, "known": known}, 202)


BIS_INVOICE = (
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant"
    "#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
)
BIS_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


class PeppolDiscoveryController(Controller):
    path = "/v1/peppol/participants"
    tags = ["delivery"]

    @get("/{participant:str}", operation_id="peppol_participant_preflight")
    async def preflight(
        self,
        request: Request[Any, Any, Any],
        participant: str,
        document_type: str = BIS_INVOICE,
        process: str = BIS_PROCESS,
    ) -> Response[bytes]:
        """Can this participant receive the document over Peppol? SML and signed SMP
        look-up; `outcome` names the reason when not, `permanent` tells a lasting answer
        from a passing failure (DNS, SMP down)."""
        from faktura.delivery.discovery import resolver_for

        async with tenant_scope(request):
            pass
        settings = request.app.state.settings
        if not settings.delivery.peppol_smp_trust:
            raise ApiError(
                409,
                [
                    problem(
                        "Conflict",
                        "Peppol discovery is not configured (FAKTURA_PEPPOL_SMP_TRUST).",
                        "CONFLICT",
                    )
                ],
            )
        if ":" not in participant or len(participant) > 200:
            raise ApiError(
                422,
                [
                    problem(
                        "Invalid Field",
                        "A participant is `scheme:value`, e.g. 0208:0477472701.",
                        "INVALID_FIELD",
                        "/participant",
                    )
                ],
            )
        found = await resolver_for(settings).discover(participant, document_type, process)
        return model_response(found.view())


class TenantAccessPointInput(Model, kw_only=True):
    """The tenant's own Peppol access point: which API it speaks, where, and its credential
    (API key / X-Token / bearer token; stored encrypted, never returned)."""

    kind: Literal["e-invoice-be", "phoss-ap", "contract"]
    url: Annotated[str, Meta(min_length=8, max_length=500)]
    token: Annotated[str, Meta(min_length=1, max_length=2000)] | None = None


class TenantAccessPointController(Controller):
    path = "/v1/peppol/access-point"
    tags = ["delivery"]

    @get("/", operation_id="peppol_access_point_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The tenant's access point (`configured: false`: the deployment's is used); never the token."""
        async with tenant_scope(request) as scope:
            conf = await scope.conn.fetchval(
                "SELECT data->'peppol_access_point' FROM delivery_settings WHERE tenant_id = $1",
                scope.tenant_id,
            )
        return model_response(_ap_view(conf))

    @put("/", operation_id="peppol_access_point_update")
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        from faktura.api.targets import check_url
        from faktura.delivery.tenant_ap import SecretsKeyMissing, seal

        body: TenantAccessPointInput = decode_model(await request.body(), TenantAccessPointInput)
        settings = request.app.state.settings
        await check_url(body.url, settings, "/model/url")
        async with tenant_scope(request) as scope:
            try:
                token = seal(settings.delivery, scope.tenant_id, body.token) if body.token else None
            except SecretsKeyMissing as e:
                raise ApiError(409, [problem("Conflict", str(e), "CONFLICT", "/model/token")]) from None
            conf = {"kind": body.kind, "url": body.url, **({"token": token} if token else {})}
            stored = await scope.conn.fetchval(
                "INSERT INTO delivery_settings (tenant_id, data) VALUES ($1, jsonb_build_object('peppol_access_point', $2::jsonb))"
                " ON CONFLICT (tenant_id) DO UPDATE SET data = delivery_settings.data"
                " || jsonb_build_object('peppol_access_point', $2::jsonb), modified_at = clock_timestamp()"
                " RETURNING data->'peppol_access_point'",
                scope.tenant_id,
                conf,
            )
        return model_response(_ap_view(stored))

    @delete("/", operation_id="peppol_access_point_delete", status_code=204)
    async def remove(self, request: Request[Any, Any, Any]) -> None:
        async with tenant_scope(request) as scope:
            await scope.conn.execute(
                "UPDATE delivery_settings SET data = data - 'peppol_access_point' WHERE tenant_id = $1",
                scope.tenant_id,
            )


def _ap_view(conf: Any) -> dict[str, Any]:
    if not conf:
        return {"configured": False, "kind": None, "url": None, "token_set": False}
    return {
        "configured": True,
        "kind": conf["kind"],
        "url": conf["url"],
        "token_set": bool(conf.get("token")),
    }


class SandboxAccessPointController(Controller):
    path = "/sandbox/peppol-ap"
    include_in_schema = False

    @get("/participants/{participant:str}", operation_id="sandbox_ap_participant")
    async def participant(self, participant: str, document_type: str | None = None) -> Response[bytes]:
        ok = registered(participant)
        return json_response({"participant": participant, "registered": ok}, 200 if ok else 404)

    @post("/messages", operation_id="sandbox_ap_submit", status_code=202)
    async def submit(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            envelope = parse_envelope(await request.body())
        except Exception:
            raise ApiError(400, [problem("Bad Request", "Not an SBDH document.", "BAD_REQUEST")]) from None
        if not envelope.instance_id:
            raise ApiError(400, [problem("Bad Request", "InstanceIdentifier missing.", "BAD_REQUEST")])
        async with pool(request).acquire() as conn:
            submitted = await store(conn, request.app.state.settings, envelope)
        return Response(
            msgspec.json.encode({"message_id": submitted.message_id, "evidence": submitted.evidence}),
            status_code=202,
            media_type="application/json",
        )
