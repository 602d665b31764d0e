"""The published OpenAPI document and JSON Schemas.

Litestar describes paths and parameters; request bodies are decoded by us (to point errors
into the request), so their schemas are added here from the msgspec structs. Decimals are
described honestly: a JSON number or a numeric string, never a float inside.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

from faktura.api.series import SeriesInput
from faktura.domain.invoice import InvoiceInput
from faktura.domain.parties import ContactInput, TenantInput

DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"

REQUEST_BODIES: dict[str, type] = {
    "tenants_create": TenantInput,
    "tenants_partial_update": TenantInput,
    "contacts_create": ContactInput,
    "contacts_partial_update": ContactInput,
    "invoices_create": InvoiceInput,
    "invoices_partial_update": InvoiceInput,
    "number_series_create": SeriesInput,
}


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


def components(ref_template: str = "#/components/schemas/{name}") -> tuple[dict[str, Any], dict[str, Any]]:
    types = list(dict.fromkeys(REQUEST_BODIES.values()))
    refs, defs = msgspec.json.schema_components(types, ref_template=ref_template)
    return dict(zip((t.__name__ for t in types), refs, strict=True)), _honest_decimals(defs)


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


def openapi_document(app: Litestar) -> dict[str, Any]:
    doc: dict[str, Any] = app.openapi_schema.to_schema()
    refs, defs = components()
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs)
    doc["components"]["securitySchemes"] = {
        "platformKey": {"type": "http", "scheme": "bearer", "description": "Platform API key"},
        "accountToken": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Account-Token",
            "description": "Tenant token",
        },
    }
    doc["security"] = [{"platformKey": [], "accountToken": []}]
    for path_item in doc.get("paths", {}).values():
        for op in path_item.values():
            if not isinstance(op, dict):
                continue
            model_type = REQUEST_BODIES.get(op.get("operationId", ""))
            if model_type is None:
                continue
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["model"],
                            "additionalProperties": False,
                            "properties": {"model": refs[model_type.__name__]},
                        }
                    }
                },
            }
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
