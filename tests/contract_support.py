"""Every response the suite receives is checked against the published OpenAPI document:
its status must be declared for the operation, its content type too, and a JSON body must
validate against the declared schema. So the whole suite, not only schemathesis, fails when
a controller's answer drifts from `api/contract.py` and `api/views.py`."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

DOC = Path(__file__).resolve().parents[1] / "schemas/openapi.json"
#: Statuses no operation lists: the framework's for a method it does not route, or a body
#: above the limit; their body is still the error envelope.
UNDECLARED_OK = {405, 413}


@cache
def _document() -> dict[str, Any]:
    return json.loads(DOC.read_text())  # type: ignore[no-any-return]


@cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "/?$"), p) for p in _document()["paths"]]
    return sorted(routes, key=lambda r: r[1].count("{"))  # literal segments first


def _operation(method: str, path: str) -> dict[str, Any] | None:
    for pattern, template in _routes():
        if pattern.match(path):
            return _document()["paths"][template].get(method.lower())  # type: ignore[no-any-return]
    return None


def contract_violation(response: httpx.Response) -> str | None:
    """What is wrong with `response` for its request's operation, or None."""
    request = response.request
    op = _operation(request.method, request.url.path)
    if op is None or response.status_code >= 500:
        return None
    declared = op["responses"].get(str(response.status_code))
    if declared is None:
        return (
            None
            if response.status_code in UNDECLARED_OK
            else f"status {response.status_code} is not declared"
        )
    content = declared.get("content")
    if not content or request.method == "HEAD" or not response.content:
        return None if response.content == b"" or content else "a body where none is declared"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in content:
        return f"content type {media_type!r} is not one of {sorted(content)}"
    schema = content[media_type]["schema"]
    if media_type != "application/json":
        return None
    try:
        jsonschema.validate(
            response.json(),
            {**schema, "components": _document()["components"]},
            cls=jsonschema.Draft202012Validator,
        )
    except jsonschema.ValidationError as e:
        where = "/" + "/".join(map(str, e.absolute_path))
        return f"body at {where}: {e.message[:300]}"
    return None


async def check_contract(response: httpx.Response) -> None:
    await response.aread()
    if (why := contract_violation(response)) is not None:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} → {response.status_code} breaks the"
            f" published contract: {why}"
        )
