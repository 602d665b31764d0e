"""Italy (IT-R-*): the seller's fiscal code format and full postal address."""

from __future__ import annotations

import re
from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.peppol.national import supplier_country
from faktura.compliance.predicates import normalize_space, present


def _it(ctx: Context) -> bool:
    return ctx.seller is not None and supplier_country(ctx) == "IT"


def _r001(ctx: Context) -> Iterator[str]:
    s = ctx.seller
    code = normalize_space(s.tax_registration_id or "") if s else ""
    if _it(ctx) and s and present(s.tax_registration_id) and not re.match(r"^[A-Z0-9]{11,16}$", code):
        yield f"{ctx.seller_ptr}/tax_registration_id"


def _address(rid: str, field: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if _it(ctx) and ctx.seller and not present(getattr(ctx.seller.address, field)):
            yield f"{ctx.seller_ptr}/address/{field}"

    return Rule(
        rid,
        Severity.FATAL,
        f"Italian suppliers MUST provide the postal address {field}.",
        check,
        "BG-5",
        "MISSING_REQUIRED_FIELD",
    )


RULES = (
    Rule("IT-R-001", Severity.FATAL, "BT-32 (Seller tax registration identifier) - For Italian suppliers BT-32 minimum length 11 and maximum length shall be 16.", _r001, "BT-32"),
    _address("IT-R-002", "line1"),
    _address("IT-R-003", "city"),
    _address("IT-R-004", "postal_code"),
)  # fmt: skip
