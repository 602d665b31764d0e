"""Norway (NO-R-*): the seller's VAT id format and the 'Foretaksregisteret' statement."""

from __future__ import annotations

import re
from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import mod11
from faktura.compliance.peppol.national import supplier_country
from faktura.compliance.predicates import normalize_space, present, vat_id


def _no_001(ctx: Context) -> Iterator[str]:
    v = vat_id(ctx.seller)
    valid = v is not None and re.match(r"^[0-9]{9}MVA$", v[2:]) is not None and mod11(v[2:11])
    if supplier_country(ctx) == "NO" and v and v[:2] == "NO" and not valid:
        yield f"{ctx.seller_ptr}/vat_id"


def _no_002(ctx: Context) -> Iterator[str]:
    s = ctx.seller
    if s is None or supplier_country(ctx) != "NO":
        return
    written = s.tax_registration_id if present(s.tax_registration_id) and s.address.country == "NO" else None
    if normalize_space(written or "") != "Foretaksregisteret":
        yield f"{ctx.seller_ptr}/tax_registration_id"


RULES = (
    Rule("NO-R-001", Severity.FATAL, "For Norwegian suppliers, a VAT number MUST be the country code prefix NO followed by a valid Norwegian organization number (nine numbers) followed by the letters MVA.", _no_001, "BT-31"),
    Rule("NO-R-002", Severity.WARNING, "For Norwegian suppliers, most invoice issuers are required to append \"Foretaksregisteret\" to their invoice.", _no_002, "BT-32"),
)  # fmt: skip
