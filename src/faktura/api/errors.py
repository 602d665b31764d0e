"""One error shape for every 4xx/5xx: the seed's `{"model", "warnings", "errors"}` envelope.

Each error object has `title`, `detail`, `problem_type`, `source.pointer` (JSON Pointer into
the request) and, for compliance findings, `rule_id`. Unexpected exceptions become a
generic 500 without internals; everything a client can cause is a 4xx.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from faktura.compliance.findings import Finding, Severity, error_object
from faktura.db.availability import RETRY_AFTER_S, database_unavailable
from faktura.logs import request_id
from faktura.metrics import count_refused

log = logging.getLogger("faktura.api")


class ApiError(Exception):
    def __init__(
        self, status: int, errors: Sequence[dict[str, Any]], warnings: Sequence[dict[str, Any]] = ()
    ):
        super().__init__(status, errors)
        self.status = status
        self.errors = list(errors)
        self.warnings = list(warnings)


def problem(title: str, detail: str, problem_type: str, ptr: str = "") -> dict[str, Any]:
    return {"title": title, "detail": detail, "problem_type": problem_type, "source": {"pointer": ptr}}


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, [problem("Not Found", f"{what} not found.", "NOT_FOUND")])


def conflict(detail: str, ptr: str = "") -> ApiError:
    return ApiError(409, [problem("Conflict", detail, "CONFLICT", ptr)])


def findings_error(findings: Sequence[Finding], status: int = 422) -> ApiError:
    errors = [error_object(f) for f in findings if f.severity is Severity.FATAL]
    warnings = [error_object(f) for f in findings if f.severity is not Severity.FATAL]
    count_refused(errors)
    return ApiError(status, errors, warnings)


def envelope(model: Any, *, errors: Sequence[Any] = (), warnings: Sequence[Any] = ()) -> dict[str, Any]:
    return {"model": model, "warnings": list(warnings), "errors": list(errors)}


_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def json_path_to_pointer(path: str) -> str:
    """msgspec's `$.model.line_items[0].unit_price` → `/model/line_items/0/unit_price`."""
    return "".join("/" + (m.group(1) or m.group(2)) for m in _PATH_PART.finditer(path.removeprefix("$")))


def decode_error(exc: msgspec.MsgspecError, prefix: str = "") -> ApiError:
    """A 400 for unparseable JSON, a 422 pointing at the field for a schema violation."""
    message = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        text, _, path = message.rpartition(" - at `")
        ptr = json_path_to_pointer(path.rstrip("`")) if text else ""
        text = text or message
        m = re.match(r"Object contains unknown field `([^`]*)`", text)
        if m:
            ptr = ptr + "/" + m.group(1).replace("~", "~0").replace("/", "~1")
            return ApiError(422, [problem("Unrecognized Field", text, "UNRECOGNIZED_FIELD", prefix + ptr)])
        m = re.match(r"Object missing required field `([^`]*)`", text)
        if m:
            ptr = ptr + "/" + m.group(1)
            return ApiError(
                422, [problem("Missing Required Field", text, "MISSING_REQUIRED_FIELD", prefix + ptr)]
            )
        return ApiError(422, [problem("Invalid Field", text, "INVALID_FIELD", prefix + ptr)])
    return ApiError(400, [problem("Malformed JSON", message, "MALFORMED_JSON", "")])


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[bytes]:
    if rid := request_id():  # to quote when reporting the error; also the X-Request-Id header
        body = {**body, "request_id": rid}
    return Response(
        content=msgspec.json.encode(body), status_code=status, media_type=MediaType.JSON, headers=headers
    )


#: RFC 9110: a 401 names the scheme that would be accepted.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="faktura"'}


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[bytes]:
    headers = CHALLENGE if exc.status == 401 else None
    return _json(exc.status, envelope(None, errors=exc.errors, warnings=exc.warnings), headers)


_HTTP_PROBLEMS = {
    400: ("Bad Request", "BAD_REQUEST"),
    401: ("Unauthorized", "UNAUTHORIZED"),
    404: ("Not Found", "NOT_FOUND"),
    405: ("Method Not Allowed", "METHOD_NOT_ALLOWED"),
    413: ("Request Entity Too Large", "REQUEST_TOO_LARGE"),
    415: ("Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE"),
}


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    title, ptype = _HTTP_PROBLEMS.get(exc.status_code, ("Error", "ERROR"))
    if exc.status_code >= 500:
        return handle_internal(_, exc)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
    headers = exc.headers
    if exc.status_code == 413:  # close rather than drain the rest of a body that is refused
        headers = {**(headers or {}), "Connection": "close"}
    elif exc.status_code == 401:  # the gate's refusal, before the body
        headers = {**(headers or {}), **CHALLENGE}
    return _json(exc.status_code, envelope(None, errors=[problem(title, detail, ptype)]), headers)


def service_unavailable(detail: str = "", problem_type: str = "DATABASE_UNAVAILABLE") -> Response[bytes]:
    """503 + `Retry-After`: nothing the client sent is at fault, and a retry (with the same
    `Idempotency-Key`) is safe."""
    detail = detail or f"The database is unreachable; retry in {RETRY_AFTER_S} seconds."
    body = envelope(None, errors=[problem("Service Unavailable", detail, problem_type)])
    return _json(503, body, {"Retry-After": str(RETRY_AFTER_S)})


def handle_internal(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if database_unavailable(exc):
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return service_unavailable()
    log.exception("unhandled error", exc_info=exc)
    body = envelope(
        None, errors=[problem("Internal Error", "An unexpected error occurred.", "INTERNAL_ERROR")]
    )
    return _json(500, body)
