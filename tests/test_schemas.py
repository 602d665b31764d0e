"""The OpenAPI document served at /schema/openapi.json equals the one committed in
schemas/, and decimals are described as numbers-or-numeric-strings, not bare strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from faktura.api.schema import invoice_input_schema, schema_files

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_committed_schemas_match_code(app: Any) -> None:
    for name, text in schema_files(app).items():
        committed = (SCHEMAS / name).read_text(encoding="utf-8")
        assert committed == text, f"schemas/{name} drifted: run python scripts/write_schemas.py"


async def test_served_openapi_equals_committed(client: httpx.AsyncClient) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert served == json.loads((SCHEMAS / "openapi.json").read_text())
    body = served["paths"]["/v1/invoices"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["model"]


def test_decimals_are_described_honestly() -> None:
    schema = invoice_input_schema()
    price = schema["$defs"]["LineItem"]["properties"]["unit_price"]
    assert price["format"] == "decimal"
    assert {"type": "number"} in price["anyOf"]
    text = json.dumps(schema)
    assert '"type": "string", "format": "decimal"' not in text
