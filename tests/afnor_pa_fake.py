"""A local approved platform (PA) speaking AFNOR XP Z12-013, on loopback, over real HTTP.

It serves the Flow Service under `/flow-service` and the Directory Service under
`/directory-service`, built from the two official OpenAPI documents in
`../shared/france/`. Every request it receives and every response it gives is validated
with `openapi-core` against the document of its service (request: path, method, headers,
query, body — the multipart `flowInfo` part included; response: status declared, body
schema); every webhook it calls is validated against the `WebhookCallback` of createFlow's
description. Any mismatch lands in `violations`, and a test asserts there is none.

Two adjustments to the documents, both on a copy: `servers` is replaced by the fake's own
loopback address (the published one is a template on https://…company.com); two flaws
of the documents are corrected, each found by this validation: the Flow Service's
`ReasonCode` is `oneOf [ReasonCodeEnum, string]`, so a listed code matches both branches and
no acknowledgement with a reason could pass (`oneOf` becomes `anyOf`); the Directory
Service's `directoryLineStatus` has `maxLength: 7` while one of its values, `Disabled`, has
8 characters (the limit becomes the longest value's length).

OAuth2: the documents name the client-credentials flow but not the token endpoint's shape
(it is the PA's authorization server, outside XP Z12-013); `/auth/token` here is a plain
RFC 6749 §4.4 endpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_schema_validator import OAS30Validator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def spec_dir() -> Path:
    """`FAKTURA_FRANCE_DIR`, else `france/` beside the conformance kit, else `../shared/france`."""
    if os.environ.get("FAKTURA_FRANCE_DIR"):
        return Path(os.environ["FAKTURA_FRANCE_DIR"])
    if os.environ.get("FAKTURA_CONFORMANCE_DIR"):
        return Path(os.environ["FAKTURA_CONFORMANCE_DIR"]).parent / "france"
    return Path(__file__).resolve().parents[2] / "shared" / "france"


SPEC_DIR = spec_dir()
FLOW_SPEC = SPEC_DIR / "afnor-xp-z12-013-flow-service-1.3.0.swagger.json"
DIRECTORY_SPEC = SPEC_DIR / "afnor-xp-z12-013-directory-service-1.3.0.swagger.json"


def load(path: Path, server: str) -> dict[str, Any]:
    spec = dict(json.loads(path.read_text()))
    spec["servers"] = [{"url": server}]
    schemas = spec["components"]["schemas"]
    reason = schemas.get("ReasonCode")
    if reason and "oneOf" in reason:
        reason["anyOf"] = reason.pop("oneOf")
    for name in ("directoryLineStatus", "uniqueDirectoryLineStatus"):
        if name in schemas:  # "Disabled" is one of its values and 8 characters long
            schemas[name]["maxLength"] = max(len(v) for v in schemas[name]["enum"])
    return spec


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sign(key_b64: str, body: bytes, timestamp: int) -> str:
    """Afnor-Signature: HMAC-SHA-256, under the webhook's signing key, of the SHA-256 of
    `body + "@" + timestamp` (createWebhook's description), base64."""
    fingerprint = hashlib.sha256(body + b"@" + str(timestamp).encode()).digest()
    return base64.b64encode(
        hmac.new(base64.b64decode(key_b64), fingerprint, hashlib.sha256).digest()
    ).decode()


class AfnorPaServer:
    """State: `flows` (flow id → metadata + file), `directory` (directory lines).
    Test handles: `down` (every call 503), `lose_answer` (the next createFlow is stored but
    answered 500), `reject` (the next invoice flows are acknowledged Error with this
    reason), `push_lifecycle` (a CDAR flow arrives for the tenant; webhooks are called)."""

    def __init__(self, token: str = "pa-test-token") -> None:
        self.tokens = {token}
        self.token = token
        self.clients = {"faktura-client": "pa-client-secret"}
        self.violations: list[str] = []
        self.calls: list[tuple[str, str, int]] = []
        self.flows: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.posts_by_tracking: dict[str, int] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.webhook_calls: list[tuple[str, int]] = []
        self.directory: list[dict[str, Any]] = []
        self.down = False
        #: Webhook calls are kept here instead of sent when set (a test hands them to an
        #: in-process app that listens on no port).
        self.outbox: list[tuple[str, bytes, dict[str, str]]] | None = None
        self.lose_answer = False
        self.reject: str | None = None
        self.lock = threading.Lock()
        self._server: Any = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.flow_url = f"{self.url}/flow-service"
        self.directory_url = f"{self.url}/directory-service"
        self.token_url = f"{self.url}/auth/token"
        self.flow_spec = load(FLOW_SPEC, self.flow_url)
        self.apis = {
            "/flow-service": OpenAPI.from_dict(self.flow_spec),
            "/directory-service": OpenAPI.from_dict(load(DIRECTORY_SPEC, self.directory_url)),
        }
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    # -- test handles -------------------------------------------------------------------

    def add_line(
        self, siren: str, siret: str | None = None, routing: str | None = None, enabled: bool = True
    ) -> None:
        ident = "_".join(x for x in (siren, siret, routing) if x)
        self.directory.append(
            {
                "addressingIdentifier": ident,
                "platformType": "WK",
                "directoryLineStatus": "Enabled" if enabled else "Disabled",
                "siren": siren,
                **({"siret": siret} if siret else {}),
                **({"routingIdentifier": routing} if routing else {}),
            }
        )

    def out_flows(self) -> list[dict[str, Any]]:
        return [f for f in self.flows.values() if f["flowDirection"] == "Out"]

    def push_lifecycle(self, cdar: bytes, name: str = "cdar.xml") -> str:
        """A CDAR life-cycle flow received by the PA for the tenant (direction In)."""
        flow_id = str(uuid.uuid4())
        stamp = now()
        meta = {
            "flowId": flow_id,
            "submittedAt": stamp,
            "updatedAt": stamp,
            "name": name,
            "flowSyntax": "CDAR",
            "flowProfile": "Undefined",
            "processingRule": "B2B",
            "processingRuleSource": "Computed",
            "flowType": "CustomerInvoiceLC",
            "flowDirection": "In",
            "acknowledgement": {"status": "Ok"},
        }
        with self.lock:
            self.flows[flow_id] = meta
            self.files[flow_id] = cdar
        self.notify(meta)
        return flow_id

    def notify(self, meta: dict[str, Any]) -> None:
        """Call every webhook whose filter takes the flow, signed; the call is validated
        against the WebhookCallback description first."""
        body = json.dumps(meta).encode()
        errors = [
            f"webhook body: {e.message}"
            for e in OAS30Validator(
                {
                    **self.flow_spec["components"]["schemas"]["Flow"],
                    "components": self.flow_spec["components"],
                }
            ).iter_errors(meta)
        ]
        self.violations += errors
        for hook in list(self.webhooks.values()):
            if hook.get("flowDirection") not in (None, meta["flowDirection"]):
                continue
            ts = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "Afnor-Signature": sign(hook["signingKey"], body, ts),
                "Afnor-Signature-Timestamp": str(ts),
            }
            if self.outbox is not None:
                self.outbox.append((hook["callbackUrl"], body, headers))
                continue
            try:
                r = httpx.post(hook["callbackUrl"], content=body, headers=headers, timeout=10)
                self.webhook_calls.append((meta["flowId"], r.status_code))
            except httpx.HTTPError as e:
                self.webhook_calls.append((meta["flowId"], -1))
                self.violations.append(f"webhook unreachable: {e}")

    # -- HTTP ---------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        self.calls.append((request.method, request.path, response.status_code))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path == "/auth/token":
            return self.token_endpoint(request)
        service = next((p for p in self.apis if request.path.startswith(p + "/")), None)
        if service is None:
            return self.error(404, "MISSING_RESOURCE", "no such service")
        api = self.apis[service]
        oreq = WerkzeugOpenAPIRequest(request)
        try:
            api.validate_request(oreq)
        except Exception as e:
            detail = getattr(e, "__cause__", None) or e
            self.violations.append(f"request {request.method} {request.path}: {type(e).__name__}: {detail}")
            response = self.error(400, "INVALID_REQUEST", str(e)[:200])
        else:
            response = self.route(service, request)
        try:
            api.validate_response(oreq, WerkzeugOpenAPIResponse(response))
        except Exception as e:
            detail = getattr(e, "__cause__", None) or e
            self.violations.append(
                f"response {request.method} {request.path} {response.status_code}: {type(e).__name__}: {detail}"
            )
        return response

    @staticmethod
    def json(status: int, body: Any) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def error(self, status: int, code: str, message: str) -> Response:
        return self.json(status, {"errorCode": code, "errorMessage": message})

    def token_endpoint(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials" or self.clients.get(
            form.get("client_id", "")
        ) != form.get("client_secret"):
            return self.json(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return self.json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def route(self, service: str, request: Request) -> Response:
        path = request.path[len(service) :]
        if path == "/v1/healthcheck":
            return Response(status=503 if self.down else 200)
        if self.down:
            return self.error(503, "RESOURCE_ERROR", "maintenance")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            return self.error(401, "INVALID_TOKEN", "unknown token")
        if service == "/directory-service":
            return self.directory_route(path, request)
        if path == "/v1/flows" and request.method == "POST":
            return self.create_flow(request)
        if path == "/v1/flows/search" and request.method == "POST":
            return self.search(request.get_json())
        if path.startswith("/v1/flows/") and request.method == "GET":
            return self.get_flow(path.rsplit("/", 1)[1], request.args.get("docType", "Metadata"))
        if path == "/v1/webhooks" and request.method == "POST":
            body = request.get_json()
            hook = {
                "webhookId": str(uuid.uuid4()),
                "signingKey": base64.b64encode(secrets.token_bytes(32)).decode(),
                "createdAt": now(),
                **body,
            }
            self.webhooks[hook["webhookId"]] = hook
            return self.json(201, {k: hook[k] for k in ("webhookId", "signingKey", "createdAt")})
        if path == "/v1/webhooks" and request.method == "GET":
            hooks = [{k: v for k, v in h.items() if k != "signingKey"} for h in self.webhooks.values()]
            return self.json(
                200, {"count": len(hooks), "webhookIds": [h["webhookId"] for h in hooks], "webhooks": hooks}
            )
        if path.startswith("/v1/webhooks/") and request.method == "DELETE":
            if self.webhooks.pop(path.rsplit("/", 1)[1], None) is None:
                return self.error(404, "MISSING_RESOURCE", "no such webhook")
            return Response(status=204)
        return self.error(404, "MISSING_RESOURCE", path)

    def create_flow(self, request: Request) -> Response:
        info = json.loads(request.form["flowInfo"])
        content = request.files["file"].read()
        if not content:
            return self.error(422, "EMPTY_FLOW", "the file is empty")
        if info.get("sha256") and hashlib.sha256(content).hexdigest() != info["sha256"]:
            return self.error(422, "CHECKSUM_MISMATCH", "sha256 differs")
        flow_id = str(uuid.uuid4())
        stamp = now()
        ack: dict[str, Any] = {"status": "Pending"}
        meta = {
            "flowId": flow_id,
            "submittedAt": stamp,
            "updatedAt": stamp,
            "flowProfile": info.get("flowProfile", "Undefined"),
            "processingRule": info.get("processingRule", "B2B"),
            "processingRuleSource": "Input" if "processingRule" in info else "Computed",
            "flowType": "CustomerInvoiceLC" if info["flowSyntax"] == "CDAR" else "CustomerInvoice",
            "flowDirection": "Out",
            "acknowledgement": ack,
            **{k: info[k] for k in ("trackingId", "name", "flowSyntax", "sha256") if k in info},
        }
        with self.lock:
            tracking = info.get("trackingId")
            if tracking:
                self.posts_by_tracking[tracking] = self.posts_by_tracking.get(tracking, 0) + 1
            self.flows[flow_id] = meta
            self.files[flow_id] = content
            meta["_outcome"] = (
                {
                    "status": "Error",
                    "details": [
                        {
                            "level": "Error",
                            "item": meta["name"],
                            "reasonCode": "InvalidSchema",
                            "reasonMessage": self.reject,
                        }
                    ],
                }
                if self.reject and info["flowSyntax"] != "CDAR"
                else {"status": "Ok"}
            )
            lose, self.lose_answer = self.lose_answer, False
        if lose:
            return self.error(500, "INTERNAL_ERROR", "answer lost")
        return self.json(202, self.public(meta, full=False))

    @staticmethod
    def public(meta: dict[str, Any], full: bool = True) -> dict[str, Any]:
        keys = (
            "flowId",
            "submittedAt",
            "trackingId",
            "name",
            "processingRule",
            "flowSyntax",
            "flowProfile",
            "sha256",
        )
        if full:
            return {k: v for k, v in meta.items() if not k.startswith("_")}
        return {k: meta[k] for k in keys if k in meta}

    def settle(self, meta: dict[str, Any]) -> None:
        """A Pending flow is processed the first time anyone looks at it."""
        outcome = meta.pop("_outcome", None)
        if outcome is not None:
            meta["acknowledgement"] = outcome
            meta["updatedAt"] = now()

    def get_flow(self, flow_id: str, doc_type: str) -> Response:
        meta = self.flows.get(flow_id)
        if meta is None:
            return self.error(404, "MISSING_RESOURCE", "no such flow")
        if doc_type == "Original":
            return Response(
                self.files[flow_id],
                status=200,
                mimetype="application/octet-stream",
                headers={"Content-Disposition": f"attachment;filename={meta['name']}"},
            )
        if doc_type != "Metadata":
            return self.error(404, "MISSING_RESOURCE", f"no {doc_type} document")
        with self.lock:
            self.settle(meta)
        return self.json(200, self.public(meta))

    def search(self, body: dict[str, Any]) -> Response:
        where = body.get("where") or {}
        if not where:
            return self.error(400, "MISSING_REQUIRED_FIELD", "at least one criterion")
        out = []
        with self.lock:
            for meta in self.flows.values():
                if "trackingId" in where and meta.get("trackingId") != where["trackingId"]:
                    continue
                if "flowType" in where and meta["flowType"] not in where["flowType"]:
                    continue
                if "flowDirection" in where and meta["flowDirection"] not in where["flowDirection"]:
                    continue
                if "updatedAfter" in where and not meta["updatedAt"] > where["updatedAfter"].replace(
                    "+00:00", "Z"
                ):
                    continue
                out.append(self.public(meta))
        out.sort(key=lambda m: m["updatedAt"])
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 25)
        page = {"limit": limit, "filters": where, "results": out[start : start + limit]}
        if start + limit < len(out):
            page["nextCursor"] = str(start + limit)
        return self.json(200, page)

    def directory_route(self, path: str, request: Request) -> Response:
        if path == "/v1/directory-line/search" and request.method == "POST":
            filters = (request.get_json() or {}).get("filters") or {}
            siren = (filters.get("siren") or {}).get("value")
            found = [ln for ln in self.directory if siren is None or ln["siren"] == siren]
            return self.json(200, {"totalNumberOfResults": len(found), "results": found})
        return self.error(404, "MISSING_RESOURCE", path)
