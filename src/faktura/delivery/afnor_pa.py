"""The channel to a French approved platform (PA) over AFNOR XP Z12-013 (Flow Service and
Directory Service 1.3.0; docs/france-pa.md says which operations are used).

Faktura is a "Solution Compatible": it hands the issued invoice to the tenant's PA as a
flow (`POST /v1/flows`, multipart `flowInfo` + `file`) and follows it there. Before that,
the Directory Service answers whether the buyer (SIREN, SIRET, routing code from the
scheme 0225 address) can receive at all: a buyer without an enabled directory line is
refused before anything is sent.

Exactly once: every flow carries the delivery id as its `trackingId`. Before submitting,
the channel asks the PA for a flow with that tracking id (`POST /v1/flows/search`); one
found means an earlier attempt got through (a worker died, an answer was lost) and it is
taken instead of submitting again.

Authentication as the document's security schemes say: a bearer token, or OAuth2 client
credentials (the token is fetched from the tenant's token URL and kept for the client's
life). A refused credential (401/403) ends the delivery at once with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from faktura.delivery.channel import Outgoing, PermanentError, SendResult
from faktura.delivery.peppol import HttpAccessPointBase

NAME = "afnor-pa"
#: Scheme 0225: the French electronic address, `SIREN[_SIRET[_routing code]]`.
FR_ADDRESS_SCHEME = "0225"
SIREN_SCHEME, SIRET_SCHEME = "0002", "0009"
LIFECYCLE_IN = ["CustomerInvoiceLC"]


class PaRefused(PermanentError):
    """The PA answered no for good; `code` is its `errorCode`."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class NotAddressable(PermanentError):
    """The Directory Service has no enabled line for the buyer: a PA cannot route it."""

    def __init__(self, message: str, pointer: str):
        super().__init__(message)
        self.pointer = pointer


@dataclass(frozen=True)
class PaConfig:
    flow_url: str
    directory_url: str
    auth: str  # "bearer" | "oauth2"
    secret: str  # the bearer token, or the OAuth2 client secret (unsealed)
    token_url: str | None = None
    client_id: str | None = None
    organization: str | None = None


@dataclass(frozen=True)
class Addressee:
    """Where the buyer receives, as the Directory Service says."""

    siren: str
    siret: str | None
    routing: str | None
    addressing_identifier: str | None
    platform_type: str | None
    line: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "addressable": True,
            "siren": self.siren,
            "siret": self.siret,
            "routing_code": self.routing,
            "addressing_identifier": self.addressing_identifier,
            "platform_type": self.platform_type,
        }


def buyer_ids(buyer: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """(SIREN, SIRET, routing code, pointer) of the buyer: from its scheme 0225 electronic
    address (BT-49) first, else its SIRET / SIREN, else its legal registration id (BT-47,
    SIREN 0002 / SIRET 0009)."""
    ep = buyer.get("endpoint") or {}
    if ep.get("scheme") == FR_ADDRESS_SCHEME and ep.get("value"):
        parts = str(ep["value"]).split("_", 2)
        return (
            parts[0],
            parts[1] if len(parts) > 1 else None,
            parts[2] if len(parts) > 2 else None,
            "/endpoint",
        )
    siret = str(buyer.get("siret") or "") or None
    if buyer.get("siren") or siret:
        return str(buyer.get("siren") or str(siret)[:9]), siret, None, "/siret" if siret else "/siren"
    legal = buyer.get("legal_id") or {}
    value = re.sub(r"\s", "", str(legal.get("value") or ""))
    if legal.get("scheme") == SIRET_SCHEME or (not legal.get("scheme") and len(value) == 14):
        return value[:9], value, None, "/legal_id"
    if legal.get("scheme") == SIREN_SCHEME or len(value) == 9:
        return value, None, None, "/legal_id"
    raise NotAddressable(
        "The buyer has no French identifier: give a scheme 0225 electronic address (BT-49) or a SIREN/SIRET"
        " legal id (BT-47).",
        "/endpoint",
    )


class PaClient(HttpAccessPointBase):
    """The two services of one PA, for one tenant."""

    label = "PA"

    def __init__(self, config: PaConfig, timeout: float):
        super().__init__("", {}, timeout)
        self.config = config
        self._token: str | None = config.secret if config.auth == "bearer" else None

    async def _authorization(self) -> str:
        if self._token is None:
            assert self.config.token_url and self.config.client_id
            r = await self._request(
                "POST",
                self.config.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.config.client_id,
                    "client_secret": self.config.secret,
                },
            )
            if r.status_code != 200 or "access_token" not in r.json():
                raise PermanentError(
                    f"the PA's token endpoint refused the client credentials (HTTP {r.status_code})"
                )
            self._token = str(r.json()["access_token"])
        return f"Bearer {self._token}"

    async def call(self, method: str, base: str, path: str, **kw: Any) -> httpx.Response:
        headers = {
            "Authorization": await self._authorization(),
            "Request-Id": str(uuid.uuid4()),  # one per request, for the PA's logs
            **kw.pop("headers", {}),
        }
        if self.config.organization:
            headers["Organization-Id"] = self.config.organization
        r = await self._request(method, base.rstrip("/") + path, headers=headers, **kw)
        if r.status_code == 403:
            raise PaRefused("the PA refused access with these credentials (HTTP 403)", "FORBIDDEN")
        return r

    @staticmethod
    def refused(what: str, r: httpx.Response) -> PaRefused:
        try:
            body = r.json()
            code, message = body.get("errorCode"), body.get("errorMessage") or body.get("details")
        except ValueError:
            code, message = None, r.text[:200]
        return PaRefused(
            f"the PA refused {what}: HTTP {r.status_code} {code or ''} {message or ''}".strip(), code
        )

    # -- Flow Service -----------------------------------------------------------------

    async def create_flow(self, content: bytes, info: dict[str, Any]) -> dict[str, Any]:
        r = await self.call(
            "POST",
            self.config.flow_url,
            "/v1/flows",
            files={
                "flowInfo": (None, json.dumps(info), "application/json"),
                "file": (info["name"], content, "application/xml"),
            },
        )
        if r.status_code != 202:
            raise self.refused("the flow", r)
        return dict(r.json())

    async def search_flows(self, where: dict[str, Any]) -> list[dict[str, Any]]:
        """Every flow matching `where`, following `nextCursor` to the last page."""
        out: list[dict[str, Any]] = []
        body: dict[str, Any] = {"where": where, "limit": 100}
        while True:
            r = await self.call("POST", self.config.flow_url, "/v1/flows/search", json=body)
            if r.status_code != 200:
                raise self.refused("the flow search", r)
            page = r.json()
            out += page.get("results") or []
            if not page.get("nextCursor"):
                return out
            body = {"where": where, "limit": 100, "cursor": page["nextCursor"]}

    async def flow(self, flow_id: str) -> dict[str, Any] | None:
        r = await self.call(
            "GET", self.config.flow_url, f"/v1/flows/{flow_id}", params={"docType": "Metadata"}
        )
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise self.refused("the flow look-up", r)
        return dict(r.json())

    async def download(self, flow_id: str) -> bytes:
        r = await self.call(
            "GET", self.config.flow_url, f"/v1/flows/{flow_id}", params={"docType": "Original"}
        )
        if r.status_code != 200:
            raise self.refused("the flow download", r)
        return r.content

    async def create_webhook(self, callback_url: str) -> tuple[str, str]:
        """Subscribe to the flows the PA receives for the tenant; (webhook id, signing key)."""
        r = await self.call(
            "POST",
            self.config.flow_url,
            "/v1/webhooks",
            json={"callbackUrl": callback_url, "flowDirection": "In"},
        )
        if r.status_code != 201:
            raise self.refused("the webhook subscription", r)
        body = r.json()
        return str(body["webhookId"]), str(body["signingKey"])

    async def delete_webhook(self, webhook_id: str) -> None:
        r = await self.call("DELETE", self.config.flow_url, f"/v1/webhooks/{webhook_id}")
        if r.status_code not in (204, 404):
            raise self.refused("the webhook removal", r)

    # -- Directory Service ------------------------------------------------------------

    async def directory_lines(self, siren: str) -> list[dict[str, Any]]:
        r = await self.call(
            "POST",
            self.config.directory_url,
            "/v1/directory-line/search",
            json={"filters": {"siren": {"op": "strict", "value": siren}}, "limit": 100},
        )
        if r.status_code == 404:
            return []
        if r.status_code != 200:
            raise self.refused("the directory search", r)
        return list(r.json().get("results") or [])


def choose_line(lines: list[dict[str, Any]], siret: str | None, routing: str | None) -> dict[str, Any] | None:
    """The most specific enabled line that covers the address: SIREN/SIRET/routing code,
    then SIREN/SIRET, then the SIREN alone."""
    enabled = [ln for ln in lines if ln.get("directoryLineStatus") == "Enabled"]
    for want_siret, want_routing in ((siret, routing), (siret, None), (None, None)):
        if want_routing is not None and want_routing != routing:
            continue
        for ln in enabled:
            if ln.get("siret") == want_siret and ln.get("routingIdentifier") == want_routing:
                return ln
    return None


async def preflight(client: PaClient, buyer: dict[str, Any]) -> Addressee:
    """Is the buyer addressable, and under which line? NotAddressable when not."""
    siren, siret, routing, pointer = buyer_ids(buyer)
    if not re.fullmatch(r"\d{9}", siren) or (siret is not None and not re.fullmatch(r"\d{14}", siret)):
        raise NotAddressable(f"{siren!r} / {siret!r} is not a SIREN (9 digits) / SIRET (14 digits).", pointer)
    line = choose_line(await client.directory_lines(siren), siret, routing)
    if line is None:
        where = "_".join(x for x in (siren, siret, routing) if x)
        raise NotAddressable(
            f"The PA directory has no enabled line for {where}: the buyer cannot receive e-invoices there.",
            pointer,
        )
    return Addressee(
        siren=siren,
        siret=line.get("siret"),
        routing=line.get("routingIdentifier"),
        addressing_identifier=line.get("addressingIdentifier"),
        platform_type=line.get("platformType"),
        line=line,
    )


def flow_info(message: Outgoing) -> dict[str, Any]:
    """The `flowInfo` of an invoice flow: the delivery id as tracking id, the file's hash."""
    xml = message.ubl.content
    profile = "Extended-CTC-FR" if "extended" in message.profile.lower() else "CIUS"
    buyer_country = ((message.buyer.get("address") or {}).get("country") or "").upper()
    return {
        "trackingId": str(message.delivery_id),
        "name": message.ubl.filename,
        "flowSyntax": {"ubl": "UBL", "cii": "CII"}.get(message.syntax, "UBL"),
        "flowProfile": profile,
        **({"processingRule": "B2B"} if buyer_country == "FR" else {}),
        "sha256": hashlib.sha256(xml).hexdigest(),
    }


class AfnorPaChannel:
    """`channel: "afnor-pa"`. `config_for` reads the tenant's PA (None: not configured),
    `make_client` builds the client for it (with the outbound URL policy)."""

    name = NAME

    def __init__(self, config_for: Any, make_client: Any):
        self.config_for = config_for
        self.make_client = make_client

    async def send(self, message: Outgoing) -> SendResult:
        config = await self.config_for(message.tenant_id)
        if config is None:
            raise PermanentError("no PA is configured for this tenant (PUT /v1/france/pa)")
        client: PaClient = self.make_client(config)
        addressee = await preflight(client, message.buyer)
        info = flow_info(message)
        found = await client.search_flows({"trackingId": info["trackingId"]})
        resumed = bool(found)
        flow = found[0] if found else await client.create_flow(message.ubl.content, info)
        flow_id = str(flow["flowId"])
        return SendResult(
            status="SENT",
            message_id=flow_id,
            evidence={
                "pa_flow_id": flow_id,
                "tracking_id": info["trackingId"],
                "submitted_at": flow.get("submittedAt"),
                "flow_syntax": info["flowSyntax"],
                "flow_profile": info["flowProfile"],
                "sha256": info["sha256"],
                "ack_status": (flow.get("acknowledgement") or {}).get("status"),
                "resumed": resumed,
                "addressee": addressee.view(),
                "tracking": "pa",
            },
        )
