"""The French corpus (`tests/corpus/france/*.json`): loading it, and the request bodies and
official rule sets each case is issued and judged with, in any syntax.

A case is syntax-neutral: `seller` (becomes the tenant), `buyer` (inline), `invoice` (the
request model without `syntax`), `issue_date`, and `profile`, the profile the case must be
issued under (the invoice names it, or leaves it to the automatic choice).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from faktura.domain.invoice import InvoiceInput, Party

CORPUS_DIR = Path(__file__).parent / "corpus" / "france"
CASES = sorted(CORPUS_DIR.glob("*.json"))
EN16931 = "en16931-1.3.16"
FR_CTC = "fr-ctc-1.4.0.03"
FR_CTC_EXTENDED = "fr-ctc-extended-1.4.0.03"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def tenant_model(case: dict[str, Any]) -> dict[str, Any]:
    """The `POST /v1/tenants` model of the case's seller."""
    seller = case["seller"]
    return {"legal_name": seller["name"], **{k: v for k, v in seller.items() if k != "name"}}


def invoice_model(case: dict[str, Any], syntax: str | None = None) -> dict[str, Any]:
    """The `POST /v1/invoices` model: the invoice, its inline buyer, its issue date, and the
    syntax to issue it in (None: the profile's own, UBL)."""
    model = {**case["invoice"], "buyer": case["buyer"], "issue_date": case["issue_date"]}
    if syntax is not None:
        model["syntax"] = syntax
    return model


def domain(case: dict[str, Any]) -> tuple[InvoiceInput, Party, Party]:
    """(invoice, seller, buyer) as the domain model, for checks without the API."""
    seller = msgspec.convert(case["seller"], Party, strict=False)
    buyer = msgspec.convert(case["buyer"], Party, strict=False)
    inv = msgspec.convert(invoice_model(case), InvoiceInput, strict=False)
    inv = msgspec.structs.replace(inv, profile=case["profile"])
    return inv, seller, buyer


def oracle(case: dict[str, Any]) -> tuple[str, ...]:
    """The official rule sets the case must pass: EN 16931 + BR-FR (+ EXTENDED-CTC-FR)."""
    if case["profile"] == "fr-ctc-extended":
        return (EN16931, FR_CTC, FR_CTC_EXTENDED)
    return (EN16931, FR_CTC)
