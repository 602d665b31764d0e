"""`/v1/france/pa`: the tenant's French approved platform (PA), reached over AFNOR XP Z12-013.

`PUT` stores where the PA's Flow and Directory services are and how to authenticate there
(a bearer token, or OAuth2 client credentials); the secret is sealed and never returned. It
also subscribes Faktura to the PA's webhook for the flows the PA receives for the tenant,
which proves the credentials work: a refused credential is a 422 on the secret's field.
`GET .../addressees/{id}` asks the Directory Service whether a SIREN / SIRET / scheme 0225
address can receive invoices. The PA calls `POST /v1/france/pa/webhook/{tenant}`, signed
with the key it gave at subscription (`Afnor-Signature`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post, put
from msgspec import Meta

from faktura.api.context import pool, tenant_scope
from faktura.api.errors import ApiError, conflict, problem
from faktura.api.gate import public
from faktura.api.wire import decode_json, decode_model, model_response
from faktura.delivery.afnor_pa import NotAddressable, PaConfig, preflight
from faktura.delivery.afnor_pa_jobs import PULL_JOB, client_for, config_of, sealed, settings_row
from faktura.delivery.channel import PermanentError, TransientError
from faktura.domain.document import FRENCH_PROFILES
from faktura.domain.invoice import Model
from faktura.jobs import enqueue

Url = Annotated[str, Meta(pattern=r"^https?://", min_length=8, max_length=500)]
Secret = Annotated[str, Meta(min_length=1, max_length=4000)]
#: How far the signature timestamp of a webhook call may be from now (replays).
SIGNATURE_WINDOW = 300


class PaInput(Model, kw_only=True):
    """`auth: bearer` needs `token`; `auth: oauth2` needs `token_url`, `client_id` and
    `client_secret` (XP Z12-013's two security schemes). `organization_id` is sent as the
    `Organization-Id` header when the PA serves several organizations on one account."""

    flow_url: Url
    directory_url: Url
    auth: Literal["bearer", "oauth2"] = "bearer"
    token: Secret | None = None
    token_url: Url | None = None
    client_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    client_secret: Secret | None = None
    organization_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    #: Subscribe to the PA's webhook (statuses arrive at once instead of at the next poll).
    webhook: bool = True


def _view(row: Any) -> dict[str, Any]:
    if row is None:
        return {"configured": False}
    return {
        "configured": True,
        "flow_url": row["flow_url"],
        "directory_url": row["directory_url"],
        "auth": row["auth"],
        "token_url": row["token_url"],
        "client_id": row["client_id"],
        "organization_id": row["organization"],
        "secret_set": bool(row["secret"]),
        "webhook_id": row["webhook_id"],
    }


def _missing(field: str, why: str) -> ApiError:
    return ApiError(
        422, [problem("Missing Required Field", why, "MISSING_REQUIRED_FIELD", f"/model/{field}")]
    )


def _check(body: PaInput) -> tuple[str, str]:
    """(secret, its field) or a 422 naming the missing field."""
    if body.auth == "bearer":
        if body.token is None:
            raise _missing("token", "auth `bearer` needs the PA's `token`.")
        return body.token, "token"
    for name in ("token_url", "client_id", "client_secret"):
        if getattr(body, name) is None:
            raise _missing(name, f"auth `oauth2` needs `{name}` (client credentials flow).")
    assert body.client_secret is not None
    return body.client_secret, "client_secret"


def _refused(e: PermanentError, pointer: str) -> ApiError:
    return ApiError(422, [problem("PA Refused", str(e), "PA_REFUSED", pointer)])


def _unreachable(e: Exception, pointer: str) -> ApiError:
    return ApiError(
        422, [problem("PA Unreachable", f"The PA could not be reached: {e}", "PA_UNREACHABLE", pointer)]
    )


def webhook_url(request: Request[Any, Any, Any], tenant_id: Any) -> str:
    """Where the PA calls back: this deployment's public URL when set, else the address
    the platform reached Faktura at."""
    base = request.app.state.settings.delivery.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/v1/france/pa/webhook/{tenant_id}"


class FrancePaController(Controller):
    path = "/v1/france/pa"
    tags = ["delivery"]

    @get("/", operation_id="france_pa_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The tenant's PA (`configured: false` when none); never its secret."""
        async with tenant_scope(request) as scope:
            return model_response(_view(await settings_row(scope.conn, scope.tenant_id)))

    @put("/", operation_id="france_pa_update")
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        from faktura.api.targets import check_url
        from faktura.delivery.tenant_ap import SecretsKeyMissing

        body: PaInput = decode_model(await request.body(), PaInput)
        secret, secret_field = _check(body)
        settings = request.app.state.settings
        for name in ("flow_url", "directory_url", "token_url"):
            if getattr(body, name) is not None:
                await check_url(getattr(body, name), settings, f"/model/{name}")
        async with tenant_scope(request) as scope:
            tenant_id = scope.tenant_id
            old = await settings_row(scope.conn, tenant_id)
            try:
                sealed_secret = sealed(settings, tenant_id, secret)
            except SecretsKeyMissing as e:
                raise conflict(str(e), f"/model/{secret_field}") from None
        config = PaConfig(
            flow_url=body.flow_url,
            directory_url=body.directory_url,
            auth=body.auth,
            secret=secret,
            token_url=body.token_url,
            client_id=body.client_id,
            organization=body.organization_id,
        )
        client = client_for(settings, config)
        hook_id = hook_key = None
        if body.webhook:
            try:
                hook_id, key = await client.create_webhook(webhook_url(request, tenant_id))
            except PermanentError as e:
                raise _refused(e, f"/model/{secret_field}") from None
            except TransientError as e:
                raise _unreachable(e, "/model/flow_url") from None
            hook_key = sealed(settings, tenant_id, key)
        if old is not None and old["webhook_id"]:
            # the replaced subscription, at the PA it was made with (gone PA or credentials: nothing to do)
            with contextlib.suppress(PermanentError, TransientError):
                await client_for(settings, config_of(settings, tenant_id, old)).delete_webhook(
                    old["webhook_id"]
                )
        async with tenant_scope(request) as scope:
            row = await scope.conn.fetchrow(
                "INSERT INTO pa_settings (tenant_id, flow_url, directory_url, auth, token_url, client_id, secret,"
                " organization, webhook_id, webhook_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT (tenant_id) DO UPDATE SET flow_url = $2, directory_url = $3, auth = $4, token_url = $5,"
                " client_id = $6, secret = $7, organization = $8, webhook_id = $9, webhook_key = $10,"
                " modified_at = clock_timestamp() RETURNING *",
                scope.tenant_id,
                body.flow_url,
                body.directory_url,
                body.auth,
                body.token_url,
                body.client_id,
                sealed_secret,
                body.organization_id,
                hook_id,
                hook_key,
            )
        return model_response(_view(row))

    @delete("/", operation_id="france_pa_delete", status_code=204)
    async def remove(self, request: Request[Any, Any, Any]) -> None:
        """Forget the PA; its webhook subscription is cancelled there first (best effort)."""
        settings = request.app.state.settings
        async with tenant_scope(request) as scope:
            row = await settings_row(scope.conn, scope.tenant_id)
            tenant_id = scope.tenant_id
        if row is not None and row["webhook_id"]:
            with contextlib.suppress(PermanentError, TransientError):
                await client_for(settings, config_of(settings, tenant_id, row)).delete_webhook(
                    row["webhook_id"]
                )
        async with tenant_scope(request) as scope:
            await scope.conn.execute("DELETE FROM pa_settings WHERE tenant_id = $1", scope.tenant_id)

    @get("/addressees/{identifier:str}", operation_id="france_pa_addressee")
    async def addressee(self, request: Request[Any, Any, Any], identifier: str) -> Response[bytes]:
        """Can this buyer receive through the French network? `identifier` is a SIREN, a
        SIRET or a scheme 0225 address (`SIREN_SIRET_routing`). 200 with the directory line
        it would go to; 422 when none is enabled."""
        buyer = {"endpoint": {"scheme": "0225", "value": identifier}}
        return model_response(await _preflight(request, buyer, "/identifier"))

    @post(
        "/webhook/{tenant_id:str}",
        operation_id="france_pa_webhook",
        status_code=200,
        opt={"authenticate": public},  # signed with the subscription's key, checked on the body
    )
    async def webhook(self, request: Request[Any, Any, Any], tenant_id: str) -> Response[bytes]:
        """A PA's webhook call (XP Z12-013 `WebhookCallback`): a `Flow` as body, signed
        with `Afnor-Signature` over the body and `Afnor-Signature-Timestamp`. Its flow is
        then read from the PA (`afnor_pa.pull`), never trusted from the call itself."""
        body = await request.body()
        try:
            tid = uuid.UUID(tenant_id)
            stamp = int(request.headers.get("afnor-signature-timestamp", ""))
        except ValueError:
            raise _bad_signature() from None
        settings = request.app.state.settings
        async with pool(request).acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
            key = await conn.fetchval("SELECT webhook_key FROM pa_settings WHERE tenant_id = $1", tid)
            if key is None or abs(time.time() - stamp) > SIGNATURE_WINDOW:
                raise _bad_signature()
            from faktura.delivery.tenant_ap import unseal

            try:
                signing_key = unseal(settings.delivery, tid, key)
            except Exception:  # sealed under another FAKTURA_SECRETS_KEY: subscribe again
                raise _bad_signature() from None
            if not signature_ok(signing_key, body, stamp, request.headers.get("afnor-signature", "")):
                raise _bad_signature()
            flow = decode_json(body)
            flow_id = flow.get("flowId") if isinstance(flow, dict) else None
            if not isinstance(flow_id, str) or not flow_id or len(flow_id) > 64:
                raise ApiError(
                    400,
                    [problem("Missing Required Field", "No flowId.", "MISSING_REQUIRED_FIELD", "/flowId")],
                )
            await enqueue(conn, PULL_JOB, {"tenant_id": str(tid), "flow_id": flow_id})
        return model_response({"flow_id": flow_id, "accepted": True})


def signature_ok(key_b64: str, body: bytes, stamp: int, given: str) -> bool:
    """HMAC-SHA-256 under the signing key of the SHA-256 of `body@timestamp`, base64."""
    fingerprint = hashlib.sha256(body + b"@" + str(stamp).encode()).digest()
    expected = base64.b64encode(
        hmac.new(base64.b64decode(key_b64), fingerprint, hashlib.sha256).digest()
    ).decode()
    return bool(given) and hmac.compare_digest(given.strip(), expected)


def _bad_signature() -> ApiError:
    return ApiError(401, [problem("Unauthorized", "Bad or stale webhook signature.", "UNAUTHORIZED")])


async def _preflight(request: Request[Any, Any, Any], buyer: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The Directory Service's answer for the buyer; 409 without a PA, 422 when the buyer
    cannot receive, the PA refuses Faktura's credentials or cannot be reached."""
    settings = request.app.state.settings
    async with tenant_scope(request) as scope:
        row = await settings_row(scope.conn, scope.tenant_id)
        tenant_id = scope.tenant_id
    if row is None:
        raise conflict("No PA is configured for this tenant (PUT /v1/france/pa).", pointer)
    client = client_for(settings, config_of(settings, tenant_id, row))
    try:
        return (await preflight(client, buyer)).view()
    except NotAddressable as e:
        raise ApiError(422, [problem("Not Addressable", str(e), "NOT_ADDRESSABLE", pointer)]) from None
    except PermanentError as e:
        raise _refused(e, pointer) from None
    except TransientError as e:
        raise _unreachable(e, pointer) from None


async def goes_to_pa(request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> bool:
    """Whether `channel: auto` sends the invoice through the tenant's PA: it is issued under a
    French profile and the tenant has a PA (since the reform a French business receives its
    invoices through its approved platform)."""
    async with tenant_scope(request) as scope:
        return bool(
            await scope.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM invoices i JOIN pa_settings p ON p.tenant_id = i.tenant_id"
                " WHERE i.tenant_id = $1 AND i.id = $2 AND i.issued->>'profile' = ANY($3::text[]))",
                scope.tenant_id,
                invoice_id,
                sorted(FRENCH_PROFILES),
            )
        )


async def addressee_of(request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> dict[str, Any] | None:
    """The recipient preflight of `POST /v1/invoices/{id}/send` with `channel: afnor-pa`:
    a buyer that cannot receive is a 422 before anything is queued. A PA that cannot be
    reached now does not block the request: the send checks again, with retries."""
    async with tenant_scope(request) as scope:
        buyer = await scope.conn.fetchval(
            "SELECT issued->'buyer' FROM invoices WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            invoice_id,
        )
    if buyer is None:
        return None  # unknown or draft invoice: the send itself says so
    try:
        return await _preflight(request, buyer, "/model/channel")
    except ApiError as e:
        if e.errors and e.errors[0]["problem_type"] == "PA_UNREACHABLE":
            return None
        raise
