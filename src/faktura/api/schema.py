"""The published OpenAPI document and JSON Schemas.

Litestar describes paths and path parameters; everything the controllers decode or encode
themselves (request bodies, responses, errors, query parameter types, security) comes from
`api.contract.OPERATIONS` and the structs of `api.views`. In the OpenAPI document decimals are
strings with a pattern (exact in every client language); the invoice JSON Schema file says
what the server reads: a JSON number or a numeric string, never a float inside.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

from faktura.api import contract, views
from faktura.domain.invoice import InvoiceInput

DECIMAL_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _honest_decimals(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "decimal":
            out = {k: v for k, v in node.items() if k not in ("type", "format")}
            return {
                **out,
                "anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_PATTERN}],
                "format": "decimal",
            }
        return {k: _honest_decimals(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_honest_decimals(v) for v in node]
    return node


def invoice_input_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the invoice request body `{"model": InvoiceInput}`."""
    schema = msgspec.json.schema(InvoiceInput)
    return _honest_decimals(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Faktura invoice request",
            "type": "object",
            "required": ["model"],
            "additionalProperties": False,
            "properties": {"model": {"$ref": schema["$ref"]}},
            "$defs": schema["$defs"],
        }
    )


def _decimal_strings(node: Any) -> Any:
    """Money and quantities travel as decimal strings: exact in every client language (a JSON
    number becomes a float in most). The server also reads JSON numbers; it answers strings."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "decimal":
            return {**node, "pattern": DECIMAL_PATTERN}
        return {k: _decimal_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decimal_strings(v) for v in node]
    return node


SECURITY_SCHEMES = {
    "platformKey": {"type": "http", "scheme": "bearer", "description": "Platform API key"},
    "accountToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Account-Token",
        "description": "Tenant token (with the platform key)",
    },
    "callbackToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "FAKTURA_PEPPOL_CALLBACK_TOKEN, shared with the access point",
    },
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "platform": [{"platformKey": []}],
    "tenant": [{"platformKey": [], "accountToken": []}],
    "callback": [{"callbackToken": []}],
    "public": [],
}
_REF = "#/components/schemas/{name}"


def _ref(t: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=t.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _wrapped(name: str, inner: dict[str, Any], *, envelope: bool) -> dict[str, Any]:
    if envelope:
        return {
            "type": "object",
            "title": name,
            "required": ["model", "warnings", "errors"],
            "properties": {
                "model": inner,
                "warnings": {"type": "array", "items": _ref(views.Problem)},
                "errors": {"type": "array", "items": _ref(views.Problem)},
            },
        }
    return {
        "type": "object",
        "title": name,
        "required": ["next", "previous", "results"],
        "properties": {
            "next": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "cursor of the next page",
            },
            "previous": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "cursor of the previous page",
            },
            "results": {"type": "array", "items": inner},
        },
    }


def _headers(names: tuple[str, ...]) -> dict[str, Any]:
    return {n: {"schema": {"type": "string"}} for n in names}


def _response(ok: contract.Ok, schemas: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": ok.description}
    if ok.headers:
        out["headers"] = _headers(ok.headers)
    if ok.shape == "empty":
        return out
    if ok.shape == "binary":
        out["content"] = {mt: {"schema": {"type": "string", "format": "binary"}} for mt in ok.media_types}
        return out
    assert ok.type is not None
    name = ok.type.__name__
    if ok.shape == "object":
        out["content"] = _json(_ref(ok.type))
        return out
    wrapper = f"{name}Envelope" if ok.shape == "model" else f"{name}Page"
    schemas[wrapper] = _wrapped(wrapper, _ref(ok.type), envelope=ok.shape == "model")
    out["content"] = _json({"$ref": _REF.format(name=wrapper)})
    return out


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    prop = {k: v for k, v in prop.items() if k != "default"}
    if {"type": "null"} in prop.get("anyOf", []):
        return prop
    return {"anyOf": [prop, {"type": "null"}]}


def _merge_patch_of(schema: dict[str, Any]) -> dict[str, Any]:
    """A merge patch of an object: any subset of its fields; null removes one."""
    props = {k: _nullable(v) for k, v in schema.get("properties", {}).items()}
    out = {k: v for k, v in schema.items() if k not in ("required", "properties", "title")}
    return {**out, "title": schema.get("title", "") + "Patch", "properties": props}


def _request_body(op: contract.Operation, schemas: dict[str, Any]) -> dict[str, Any] | None:
    if op.raw_body:
        return {
            "required": True,
            "content": {mt: {"schema": {"type": "string", "format": "binary"}} for mt in op.raw_body},
        }
    if op.body is None:
        return None
    schema: dict[str, Any] = _ref(op.body)
    if op.merge_patch:
        name = op.body.__name__ + "Patch"
        schemas[name] = _merge_patch_of(schemas[op.body.__name__])
        schema = {"$ref": _REF.format(name=name)}
    if op.wrapped:
        schema = {
            "type": "object",
            "required": ["model"],
            "additionalProperties": False,
            "properties": {"model": schema},
        }
    return {"required": op.body_required, "content": _json(schema)}


def _error_response(status: int, why: str) -> dict[str, Any]:
    out: dict[str, Any] = {"description": why, "content": _json(_ref(views.ErrorEnvelope))}
    if status == 401:
        out["headers"] = _headers(("WWW-Authenticate",))
    return out


def _parameter(param: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    name = param["name"]
    out = {**param, "schema": overrides.get(name) or contract.PARAMETERS.get(name, param.get("schema"))}
    if name in contract.FORM_LISTS:
        out |= {"style": "form", "explode": False}
    return out


def _types() -> list[type]:
    types: list[type] = [views.ErrorEnvelope]
    for op in contract.OPERATIONS.values():
        types += [t for t in (op.body, *(ok.type for ok in op.ok)) if t is not None]
    return list(dict.fromkeys(types))


def openapi_document(app: Litestar) -> dict[str, Any]:
    """Litestar's paths and parameters, with the bodies, responses and security of
    `contract.OPERATIONS`."""
    doc: dict[str, Any] = app.openapi_schema.to_schema()
    _, defs = msgspec.json.schema_components(_types(), ref_template=_REF)
    schemas: dict[str, Any] = _decimal_strings(defs)
    doc["components"] = {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES}
    doc.pop("security", None)
    for path_item in doc.get("paths", {}).values():
        for method, op_doc in list(path_item.items()):
            if not isinstance(op_doc, dict) or "operationId" not in op_doc:
                continue
            op = contract.OPERATIONS.get(op_doc["operationId"])
            if op is None:
                continue
            op_doc["security"] = SECURITY[op.auth]
            overrides = contract.OPERATION_PARAMETERS.get(op_doc["operationId"], {})
            params = [
                {
                    **p,
                    "schema": overrides.get(p["name"]) or contract.PARAMETERS.get(p["name"], p.get("schema")),
                }
                if p.get("in") == "query"
                else p
                for p in op_doc.get("parameters", [])
            ]
            params += contract.EXTRA_PARAMETERS.get(op_doc["operationId"], [])
            if params:
                op_doc["parameters"] = params
            if (body := _request_body(op, schemas)) is not None:
                op_doc["requestBody"] = body
            responses = {str(ok.status): _response(ok, schemas) for ok in op.ok}
            responses |= {str(s): _error_response(s, why) for s, why in op.errors.items()}
            op_doc["responses"] = responses
            if op.head and method == "get":
                path_item["head"] = {
                    **op_doc,
                    "operationId": op_doc["operationId"] + "_head",
                    "summary": f"Headers of {op_doc.get('summary') or op_doc['operationId']}",
                    "responses": {
                        s: {k: v for k, v in r.items() if k != "content"} if s.startswith("2") else r
                        for s, r in responses.items()
                    },
                }
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def schema_files(app: Litestar) -> dict[str, str]:
    """The files kept in `schemas/` (a test fails when they drift from the code)."""
    import json

    def dump(obj: Any) -> str:
        return json.dumps(msgspec.to_builtins(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    return {
        "openapi.json": dump(openapi_document(app)),
        "invoice-input.schema.json": dump(invoice_input_schema()),
    }
