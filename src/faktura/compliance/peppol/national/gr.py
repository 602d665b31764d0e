"""Greece (GR-R-*): names, TIN check digits, Greek electronic addresses (scheme 9933).

GR-R-001-* (the number's AADE structure) depend on the invoice number, which Faktura
assigns at issue, and GR-R-004-1 needs a MARK document reference, which the input model
cannot carry: `FK-GR-UNSUPPORTED` refuses Greek sellers under Peppol instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import greek_tin
from faktura.compliance.peppol.national import customer_country, supplier_country
from faktura.compliance.predicates import present, vat_id


def greek_sender(ctx: Context) -> bool:
    return supplier_country(ctx) in ("GR", "EL")


def _greek_receiver(ctx: Context) -> bool:
    return customer_country(ctx) in ("GR", "EL")


def _r002(ctx: Context) -> Iterator[str]:
    if greek_sender(ctx) and ctx.seller and not present(ctx.seller.trading_name):
        yield f"{ctx.seller_ptr}/trading_name"


def _r005(ctx: Context) -> Iterator[str]:
    if greek_sender(ctx) and ctx.buyer and not present(ctx.buyer.trading_name):
        yield f"{ctx.buyer_ptr}/trading_name"


def _el_tin(v: str | None) -> bool:
    return v is not None and v[:2] == "EL" and greek_tin(v[2:])


def _r003(ctx: Context) -> Iterator[str]:
    v = vat_id(ctx.seller)
    if greek_sender(ctx) and v is not None and not _el_tin(v):
        yield f"{ctx.seller_ptr}/vat_id"


def _r006(ctx: Context) -> Iterator[str]:
    if greek_sender(ctx) and _greek_receiver(ctx) and ctx.buyer and not _el_tin(vat_id(ctx.buyer)):
        yield f"{ctx.buyer_ptr}/vat_id"


def _endpoint_ok(ctx: Context, buyer: bool) -> bool:
    party = ctx.buyer if buyer else ctx.seller
    ep = party.endpoint if party else None
    if ep is None or not present(ep.value):
        return True
    return ep.scheme == "9933" and greek_tin(ep.value)


def _r009(ctx: Context) -> Iterator[str]:
    if greek_sender(ctx) and not _endpoint_ok(ctx, buyer=False):
        yield f"{ctx.seller_ptr}/endpoint"


def _r010(ctx: Context) -> Iterator[str]:
    if greek_sender(ctx) and _greek_receiver(ctx) and not _endpoint_ok(ctx, buyer=True):
        yield f"{ctx.buyer_ptr}/endpoint"


RULES = (
    Rule("GR-R-002", Severity.FATAL, "Greek Suppliers must provide their full name as they are registered in the Greek Business Registry (G.E.MH.) as a legal entity or in the Tax Registry as a natural person", _r002, "BT-28", "MISSING_REQUIRED_FIELD"),
    Rule("GR-R-003", Severity.FATAL, "For the Greek Suppliers, the VAT must start with 'EL' and must be a valid TIN number", _r003, "BT-31"),
    Rule("GR-R-005", Severity.FATAL, "Greek Suppliers must provide the full name of the buyer", _r005, "BT-45", "MISSING_REQUIRED_FIELD"),
    Rule("GR-R-006", Severity.FATAL, "Greek Suppliers must provide the VAT number of the buyer, if the buyer is Greek", _r006, "BT-48"),
    Rule("GR-R-009", Severity.FATAL, "Greek suppliers that send an invoice through the PEPPOL network must use a correct TIN number as an electronic address according to PEPPOL Electronic Address Identifier scheme (schemeID 9933).", _r009, "BT-34"),
    Rule("GR-R-010", Severity.FATAL, "Greek Suppliers that send an invoice through the PEPPOL network to a greek buyer must use a correct TIN number as an electronic address according to PEPPOL Electronic Address Identifier scheme (SchemeID 9933)", _r010, "BT-49"),
)  # fmt: skip
