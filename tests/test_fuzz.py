"""Random damage to valid request bodies never produces a 5xx or a stored half-invoice:
every answer is a success or a 4xx whose error points somewhere inside the request."""

from __future__ import annotations

import copy
import json
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import Tenant, invoice_body, make_contact, make_platform, make_tenant

FUZZ_TENANT: dict[str, Any] = {}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def resolve(doc: Any, pointer: str) -> bool:
    node = doc
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


async def _check(client: httpx.AsyncClient, t: Tenant, body: Any) -> None:
    r = await client.post("/v1/invoices?issue=true", content=json.dumps(body), headers=t.headers)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        errors = r.json()["errors"]
        assert errors
        for e in errors:
            ptr = e["source"]["pointer"]
            # a pointer names a field of the request, or the parent of a missing one
            assert ptr == "" or resolve(body, ptr) or resolve(body, ptr.rsplit("/", 1)[0]), (ptr, body)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_damaged_bodies_get_4xx_not_5xx(
    client: httpx.AsyncClient, owner: asyncpg.Connection, data: st.DataObject
) -> None:
    if not FUZZ_TENANT:  # one tenant and contact for all examples
        t = await make_tenant(client, await make_platform(owner))
        FUZZ_TENANT.update(t=t, body=invoice_body(await make_contact(client, t)))
    t = FUZZ_TENANT["t"]
    body = copy.deepcopy(FUZZ_TENANT["body"])
    for _ in range(data.draw(st.integers(1, 3))):
        if not isinstance(body.get("model"), dict):
            break
        targets = paths(body["model"], ("model",))
        path = data.draw(st.sampled_from(targets))
        parent = body
        for p in path[:-1]:
            parent = parent[p]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=6))] = data.draw(json_values)
        else:
            parent[path[-1]] = data.draw(json_values)
    await _check(client, t, body)
