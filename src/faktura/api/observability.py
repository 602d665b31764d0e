"""Around every request: its id, one access log line, its latency; and `GET /metrics`.

The request id is the client's `X-Request-Id` when it is a sane token (at most 128 letters,
digits and `._:-`), so a platform can follow its own id through our logs; otherwise a new
one. It is echoed in the `X-Request-Id` response header and in every error body.

`/metrics` exists only when `FAKTURA_METRICS_TOKEN` is set, and answers only requests that
present it as `Authorization: Bearer <token>`: the samples name routes and volumes, which
are the operator's business, not a tenant's.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from faktura.logs import REQUEST
from faktura.metrics import CONTENT_TYPE, REQUEST_SECONDS, authorized, exposition, queue_metrics

access_log = logging.getLogger("faktura.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: Probes and scrapes: logged at DEBUG so that a healthcheck every few seconds is no noise.
_QUIET = {"/health", "/ready", "/metrics"}


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            given = value.decode("latin-1").strip()
            if _SANE_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestObservability:
    """ASGI wrapper around the whole application (also 404, 405 and 413 answered before any
    route handler runs)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(list(scope.get("headers", [])))
        reset = REQUEST.set({"request_id": request_id})
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = str(scope.get("path_template") or "unmatched")  # type: ignore[typeddict-item]
            method = str(scope.get("method", ""))
            REQUEST_SECONDS.labels(method, route, str(status)).observe(elapsed)
            access_log.log(
                logging.DEBUG if route in _QUIET else logging.INFO,
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope.get("path", ""),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            REQUEST.reset(reset)


@get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    token = request.app.state.settings.metrics_token
    if not authorized(request.headers.get("authorization", ""), token):
        raise NotAuthorizedException(
            "Send the metrics token as `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    async with request.app.state.pool.acquire() as conn:
        queue = await queue_metrics(conn)
    return Response(exposition(queue), media_type=CONTENT_TYPE)
