"""HEAD on downloads, and an `Allow` header that lists every method of a path.

Litestar answers HEAD only where a HEAD handler exists, and its automatic OPTIONS lists the
methods of one handler group rather than of the path. This wraps the application's ASGI
handler: a HEAD on a download runs its GET and sends the headers without the body (so a
client learns the size, type and `ETag` of a PDF without fetching it), and OPTIONS answers
with the path's whole `Allow`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import cast

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class MethodMap:
    def __init__(self, app: Litestar, head_operations: Iterable[str]):
        heads = set(head_operations)
        routes: list[tuple[int, re.Pattern[str], frozenset[str]]] = []
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            methods = set(route.methods)
            if any(h.operation_id in heads for h in route.route_handlers if "GET" in h.http_methods):
                methods.add("HEAD")
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path_format) + "/?$")
            routes.append((route.path_format.count("{"), pattern, frozenset(methods | {"OPTIONS"})))
        # a literal segment wins over a parameter (`/v1/invoices/bulk` over `/v1/invoices/{id}`)
        self._routes = sorted(routes, key=lambda r: r[0])

    def methods(self, path: str) -> frozenset[str] | None:
        return next((m for _, p, m in self._routes if p.match(path)), None)

    def wrap(self, handler: ASGIApp) -> ASGIApp:
        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            method = scope.get("method")
            if scope["type"] != "http" or method not in ("HEAD", "OPTIONS"):
                await handler(scope, receive, send)
                return
            methods = self.methods(scope["path"])
            if methods is None or method not in methods:
                await handler(scope, receive, send)
                return
            if method == "OPTIONS":
                await handler(scope, receive, _with_allow(send, methods))
            else:
                as_get = cast(Scope, {**scope, "method": "GET"})
                await handler(as_get, receive, _without_body(send))

        return asgi


def _with_allow(send: Send, methods: frozenset[str]) -> Send:
    allow = ", ".join(sorted(methods)).encode()

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message = {**message, "headers": [*headers, (b"allow", allow)]}  # type: ignore[typeddict-item]
        await send(message)

    return wrapped


def _without_body(send: Send) -> Send:
    """Headers as GET sends them (Content-Length included); one empty body message."""
    done = False

    async def wrapped(message: Message) -> None:
        nonlocal done
        if message["type"] != "http.response.body":
            await send(message)
        elif not done:
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return wrapped


def install(app: Litestar, head_operations: Iterable[str]) -> Litestar:
    """Wrap `app`'s ASGI handler (after routes are registered)."""
    app.asgi_handler = MethodMap(app, head_operations).wrap(app.asgi_handler)
    return app
