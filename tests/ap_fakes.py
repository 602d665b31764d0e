"""Local access points for the adapter tests, on loopback.

`EInvoiceBeServer` is built from e-invoice.be's official OpenAPI 3.1 description
(`../shared/peppol-ap/e-invoice-be.openapi.json`): every request it gets is checked against
the operation it names (path, method, bearer auth, query parameters, body) and every response
it gives against the declared schema of that status, with `openapi-schema-validator`; any
mismatch is kept in `violations` (a test asserts there is none). `PhossServer` follows
phoss-ap's `OutboundController` and `OutboundTransactionResponse`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.parser
import email.policy
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openapi_schema_validator import OAS31Validator

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "peppol-ap" / "e-invoice-be.openapi.json"


def load_spec() -> dict[str, Any]:
    return dict(json.loads(SPEC_PATH.read_text()))


class SpecChecker:
    """Requests and responses against the description (no network, no code generation)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in spec["paths"]
        ]

    def _errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        root = {**schema, "components": self.spec["components"]}
        return [e.message for e in OAS31Validator(root).iter_errors(value)]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        # literal paths first (/api/documents/ubl before /api/documents/{document_id})
        for rx, template in sorted(self.routes, key=lambda r: r[1].count("{")):
            if rx.match(path) and method.lower() in self.spec["paths"][template]:
                return template, self.spec["paths"][template][method.lower()]
        return None

    def request(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation"]
        template, op = found
        out = []
        if not headers.get("authorization", "").startswith("Bearer ") and template != "/api/lookup":
            out.append(f"{method} {template}: no bearer token")
        declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for name, values in query.items():
            if name not in declared:
                out.append(f"{method} {template}: undeclared query parameter {name}")
            else:
                out += [f"{name}: {m}" for m in self._errors(declared[name]["schema"], values[-1])]
        for name, p in declared.items():
            if p.get("required") and name not in query:
                out.append(f"{method} {template}: missing required query parameter {name}")
        rb = op.get("requestBody")
        if rb:
            ctype = headers.get("content-type", "").split(";")[0].strip()
            if ctype not in rb["content"]:
                out.append(f"{method} {template}: content type {ctype} not declared")
            elif ctype == "multipart/form-data":
                msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
                    b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body
                )
                fields = {
                    part.get_param("name", header="content-disposition"): "binary"
                    for part in msg.iter_parts()
                }
                out += self._errors(rb["content"][ctype]["schema"], fields)
            elif ctype == "application/json":
                out += self._errors(rb["content"][ctype]["schema"], json.loads(body))
        elif body:
            out.append(f"{method} {template}: a body where none is declared")
        return out

    def response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return []
        template, op = found
        declared = op["responses"].get(str(status))
        if declared is None:
            return [f"{method} {template}: status {status} not declared"]
        schema = (declared.get("content") or {}).get("application/json", {}).get("schema")
        return [f"{method} {template} {status}: {m}" for m in self._errors(schema, body)] if schema else []


BIS_BILLING = [
    f"urn:oasis:names:specification:ubl:schema:xsd:{t}-2::{t}##urn:cen.eu:en16931:2017#compliant"
    "#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    for t in ("Invoice", "CreditNote")
]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class EInvoiceBeServer:
    """A local e-invoice.be access point. Documents go DRAFT → (send) SENT; the timeline
    then shows `send_success`, an MLS (`mlr_received`) and the buyer's Invoice Response
    (`imr_received`, code `invoice_response_code`). `hold_send` stalls a send request before
    the AP acts on it (a worker killed then leaves a DRAFT behind); `sends` counts sends."""

    def __init__(self, token: str = "einvoice-test-key") -> None:
        self.token = token
        self.checker = SpecChecker(load_spec())
        self.violations: list[str] = []
        self.documents: dict[str, dict[str, Any]] = {}
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.uploads = 0
        self.sends = 0
        self.sent_params: list[dict[str, list[str]]] = []
        self.invoice_response_code = "AP"
        #: participant → document types it receives; others get BIS Billing 3.0, except
        #: those in `unregistered`.
        self.registered: dict[str, list[str]] = {}
        self.unregistered = {"0208:1999999943"}
        self.hold_send = threading.Event()
        self.holding = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        if path == "/api/documents/ubl" and method == "POST":
            with self.lock:
                self.uploads += 1
                doc_id = f"doc_{uuid.uuid4().hex[:12]}"
                self.documents[doc_id] = {
                    "id": doc_id,
                    "created_at": _now(),
                    "state": "DRAFT",
                    "direction": "OUTBOUND",
                    "document_type": "INVOICE",
                }
                self.timelines[doc_id] = [
                    {"event_type": "document_created", "timestamp": _now(), "id": f"{doc_id}-c"}
                ]
            return 201, self.documents[doc_id]
        m = re.fullmatch(r"/api/documents/([^/]+)(/send|/timeline)?", path)
        if m and m.group(1) in self.documents:
            doc_id, tail = m.group(1), m.group(2)
            doc = self.documents[doc_id]
            if tail == "/send" and method == "POST":
                if self.hold_send.is_set():
                    self.holding.set()
                    while self.hold_send.is_set():
                        threading.Event().wait(0.05)
                    return 500, {"detail": "connection gone"}  # the caller died: never acted on
                with self.lock:
                    if doc["state"] != "DRAFT":
                        return 409, {"detail": "already sent"}
                    self.sends += 1
                    self.sent_params.append(query)
                    doc["state"] = "SENT"
                    t = self.timelines[doc_id]
                    t.append({"event_type": "send_attempted", "timestamp": _now(), "id": f"{doc_id}-a"})
                    t.append({"event_type": "send_success", "timestamp": _now(), "id": f"{doc_id}-s"})
                    t.append(
                        {
                            "event_type": "mlr_received",
                            "timestamp": _now(),
                            "id": f"{doc_id}-m",
                            "details": {"response_code": "AP"},
                        }
                    )
                    t.append(
                        {
                            "event_type": "imr_received",
                            "timestamp": _now(),
                            "id": f"{doc_id}-i",
                            "details": {
                                "response_code": self.invoice_response_code,
                                "note": "checked by the buyer",
                            },
                        }
                    )
                return 200, doc
            if tail == "/timeline" and method == "GET":
                return 200, {"document_id": doc_id, "events": self.timelines[doc_id]}
            if tail is None and method == "GET":
                return 200, doc
        if m:
            return 404, {"detail": "Document not found"}
        if path == "/api/lookup" and method == "GET":
            pid = query["peppol_id"][0]
            types = None if pid in self.unregistered else self.registered.get(pid, BIS_BILLING)
            return 200, {
                "queryMetadata": {
                    "identifierScheme": "iso6523-actorid-upis",
                    "identifierValue": pid,
                    "smlDomain": "edelivery.tech.ec.europa.eu",
                    "timestamp": _now(),
                    "version": "1",
                },
                "status": "success" if types is not None else "error",
                "errors": [] if types is not None else ["DNS lookup failed"],
                "dnsInfo": {
                    "status": "success",
                    "smlHostname": "edelivery.tech.ec.europa.eu",
                    "dnsRecords": [],
                    "lookupMethod": "naptr",
                    "queryTimeMs": 1.0,
                },
                "serviceMetadata": {
                    "status": "success",
                    "queryTimeMs": 1.0,
                    "endpoints": [
                        {
                            "status": "success",
                            "url": "https://smp.example",
                            "documentTypes": [
                                {"scheme": "busdox-docid-qns", "value": v} for v in (types or [])
                            ],
                        }
                    ],
                },
                "businessCard": {"status": "success", "queryTimeMs": 1.0, "entities": []},
                "certificates": [],
                "executionTimeMs": 1.0,
            }
        return 404, {"detail": "Not Found"}

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                headers = {k.lower(): v for k, v in self.headers.items()}
                problems = fake.checker.request(method, url.path, query, headers, body)
                if headers.get("authorization") != f"Bearer {fake.token}" and url.path != "/api/lookup":
                    status, out = 401, {"detail": "Invalid API key"}
                else:
                    status, out = fake._handle(method, url.path, query, body)
                problems += fake.checker.response(method, url.path, status, out)
                with fake.lock:
                    fake.violations += problems
                data = json.dumps(out).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.hold_send.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class PhossServer:
    """A local phoss-ap: `POST /api/outbound/submit-sbd` (raw SBD, `X-Token`) stores and
    "sends" the transaction, `GET /api/outbound/status/{sbdhInstanceID}` answers with the
    fields of `OutboundTransactionResponse`; the MLS arrives `mls_after` status reads later."""

    def __init__(self, token: str = "phoss-test-token") -> None:
        self.token = token
        self.transactions: dict[str, dict[str, Any]] = {}
        self.submits = 0
        self.status_reads = 0
        self.mls_after = 1
        self.mls_status = "received_ap"
        #: set: a submission is stored and sent, then its answer stalls (the caller may die)
        self.hold_answer = threading.Event()
        self.holding = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, out: Any) -> None:
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("X-Token") != fake.token:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                return True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if not self._authorised():
                    return
                if urlsplit(self.path).path != "/api/outbound/submit-sbd":
                    return self._json(404, {})
                m = re.search(rb"<DocumentIdentification>.*?<InstanceIdentifier>([^<]+)<", body, re.S)
                sender = re.search(rb"<Sender><Identifier[^>]*>([^<]+)<", body)
                receiver = re.search(rb"<Receiver><Identifier[^>]*>([^<]+)<", body)
                if not (m and sender and receiver):
                    return self._json(400, "Failed to submit outbound SBD transaction")
                instance = m.group(1).decode()
                with fake.lock:
                    fake.submits += 1
                    fake.transactions[instance] = {
                        "id": f"tx-{len(fake.transactions) + 1}",
                        "transactionType": "business_document",
                        "senderID": "iso6523-actorid-upis::" + sender.group(1).decode(),
                        "receiverID": "iso6523-actorid-upis::" + receiver.group(1).decode(),
                        "docTypeID": "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice",
                        "processID": "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
                        "sbdhInstanceID": instance,
                        "status": "sent",
                        "attemptCount": 1,
                        "createdDT": _now(),
                        "completedDT": _now(),
                        "reportingStatus": "pending",
                        "nextRetryDT": None,
                        "errorDetails": None,
                        "mlsStatus": "pending",
                        "custom1": None,
                        "custom2": None,
                        "custom3": None,
                        "_reads": 0,
                    }
                if fake.hold_answer.is_set():
                    fake.holding.set()
                    while fake.hold_answer.is_set():
                        threading.Event().wait(0.05)
                with contextlib.suppress(OSError):
                    self._json(200, {"overallSuccess": True, "sbdhInstanceID": instance})

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                m = re.fullmatch(r"/api/outbound/status/([^/?]+)", urlsplit(self.path).path)
                with fake.lock:
                    tx = fake.transactions.get(m.group(1)) if m else None
                    fake.status_reads += 1
                    if tx is None:
                        self.send_response(404)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    tx["_reads"] += 1
                    if tx["_reads"] > fake.mls_after:
                        tx["mlsStatus"] = fake.mls_status
                    out = {k: v for k, v in tx.items() if not k.startswith("_")}
                self._json(200, out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.hold_answer.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
