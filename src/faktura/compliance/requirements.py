"""Which request fields a tenant must send, derived from the rule sets (not written twice).

A probe invoice with nothing optional filled in is run through the profile's rules; every
"missing required field" finding that points into the request names a required field. Line
indices become `*`. The JSON Schema endpoints (`/v1/invoices/meta/*`) publish the result.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import cast

from faktura.compliance.basic import check_invoice
from faktura.compliance.engine import MISSING_PROBLEM
from faktura.domain.invoice import Address, InvoiceInput, Item, LineItem, Party, ProfileName

_INDEX = re.compile(r"/\d+(?=/|$)")


def required_pointers(seller: Party, profile: str, buyer_country: str | None = None) -> dict[str, list[str]]:
    """JSON Pointer (with `*` for list items) -> the rule ids that require it."""
    buyer = Party(name="Probe", address=Address(country=buyer_country or seller.address.country))
    line = LineItem(item=Item(name="Probe"), quantity=Decimal(1), unit_price=Decimal(0), tax_rate=Decimal(19))
    out: dict[str, set[str]] = {}
    name = cast(ProfileName, profile)
    for invoice in (
        InvoiceInput(profile=name, issue_date=dt.date(2026, 1, 1), currency="EUR", buyer=buyer),
        InvoiceInput(
            profile=name, issue_date=dt.date(2026, 1, 1), currency="EUR", buyer=buyer, line_items=[line]
        ),
    ):
        findings, _ = check_invoice(invoice, seller=seller, buyer=buyer)
        for f in findings:
            if f.problem_type == MISSING_PROBLEM and f.rule_id and f.pointer.startswith("/model/"):
                out.setdefault(_INDEX.sub("/*", f.pointer), set()).add(f.rule_id)
    return {p: sorted(ids) for p, ids in sorted(out.items())}
