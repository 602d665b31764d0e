"""The Netherlands (NL-R-*): addresses, KvK/OIN legal ids, payment means, credit note reference."""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule, screened
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import normalize_space, present
from faktura.domain.invoice import Party, TaxRepresentative


def _nl(ctx: Context) -> bool:
    return (ctx.seller_country or "").upper() == "NL"


def _nl_nl(ctx: Context) -> bool:
    return _nl(ctx) and (ctx.buyer_country or "").upper() == "NL"


def _r001(ctx: Context) -> Iterator[str]:
    if _nl(ctx) and ctx.credit_note and not ctx.invoice.preceding_invoices:
        yield ctx.at("preceding_invoices")


def _full_address(party: Party | TaxRepresentative | None) -> bool:
    a = party.address if party else None
    return a is not None and present(a.line1) and present(a.city) and present(a.postal_code)


def _r006(ctx: Context) -> Iterator[str]:
    rep = ctx.invoice.tax_representative
    if (
        _nl(ctx)
        and rep is not None
        and normalize_space(rep.address.country).upper() == "NL"
        and not _full_address(rep)
    ):
        yield ctx.at("tax_representative", "address")


def _r002(ctx: Context) -> Iterator[str]:
    if _nl(ctx) and not _full_address(ctx.seller):
        yield f"{ctx.seller_ptr}/address"


def _r004(ctx: Context) -> Iterator[str]:
    if _nl_nl(ctx) and not _full_address(ctx.buyer):
        yield f"{ctx.buyer_ptr}/address"


def _legal(party: Party | None) -> bool:
    lid = party.legal_id if party else None
    return lid is None or not present(lid.value) or (lid.scheme or "") in ("0106", "0190")


def _r003(ctx: Context) -> Iterator[str]:
    if _nl(ctx) and not _legal(ctx.seller):
        yield f"{ctx.seller_ptr}/legal_id/scheme"


def _r005(ctx: Context) -> Iterator[str]:
    if _nl_nl(ctx) and not _legal(ctx.buyer):
        yield f"{ctx.buyer_ptr}/legal_id/scheme"


def _r007(ctx: Context) -> Iterator[str]:
    t = ctx.totals
    if not _nl(ctx) or t is None or ctx.invoice.payment_means:
        return
    if (not ctx.credit_note and t.payable_amount <= 0) or (ctx.credit_note and t.payable_amount >= 0):
        return
    yield ctx.at("payment_means")


NL_MEANS = frozenset({"30", "48", "49", "57", "58", "59"})


def _r008(ctx: Context) -> Iterator[str]:
    if _nl_nl(ctx):
        for i, pm in enumerate(ctx.invoice.payment_means):
            if normalize_space(pm.code) not in NL_MEANS:
                yield ctx.at("payment_means", i, "code")


def _r009(ctx: Context) -> Iterator[str]:
    if not _nl(ctx) or present(ctx.invoice.order_reference) or present(ctx.invoice.sales_order_reference):
        return
    for i, li in enumerate(ctx.invoice.line_items):
        if present(li.order_line_reference):
            yield ctx.at("line_items", i, "order_line_reference")


def dutch_irregular(ctx: Context) -> bool:
    """Screen of the block: a credit note, a tax representative, an incomplete seller (or Dutch
    buyer) address, a legal id outside KvK/OIN, no payment means, a Dutch buyer paying by a
    code outside NL_MEANS, or an order line reference without an order reference."""
    inv = ctx.invoice
    if ctx.credit_note or inv.tax_representative is not None or not inv.payment_means:
        return True
    if not (_full_address(ctx.seller) and _legal(ctx.seller)):
        return True
    if (ctx.buyer_country or "").upper() == "NL" and (
        not (_full_address(ctx.buyer) and _legal(ctx.buyer))
        or any(pm.code not in NL_MEANS for pm in inv.payment_means)
    ):
        return True
    if present(inv.order_reference) or present(inv.sales_order_reference):
        return False
    return any(li.order_line_reference is not None for li in inv.line_items)


RULES: tuple[Rule, ...] = (
    Rule("NL-R-001", Severity.FATAL, "For suppliers in the Netherlands, if the document is a creditnote, the document MUST contain an invoice reference (cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)", _r001, "BT-25", "MISSING_REQUIRED_FIELD"),
    Rule("NL-R-002", Severity.FATAL, "For suppliers in the Netherlands the supplier's address (cac:AccountingSupplierParty/cac:Party/cac:PostalAddress) MUST contain street name (cbc:StreetName), city (cbc:CityName) and post code (cbc:PostalZone)", _r002, "BG-5", "MISSING_REQUIRED_FIELD"),
    Rule("NL-R-003", Severity.FATAL, "For suppliers in the Netherlands, the legal entity identifier MUST be either a KVK or OIN number (schemeID 0106 or 0190)", _r003, "BT-30-1"),
    Rule("NL-R-004", Severity.FATAL, "For suppliers in the Netherlands, if the customer is in the Netherlands, the customer address (cac:AccountingCustomerParty/cac:Party/cac:PostalAddress) MUST contain the street name (cbc:StreetName), the city (cbc:CityName) and post code (cbc:PostalZone)", _r004, "BG-8", "MISSING_REQUIRED_FIELD"),
    Rule("NL-R-005", Severity.FATAL, "For suppliers in the Netherlands, if the customer is in the Netherlands, the customer's legal entity identifier MUST be either a KVK or OIN number (schemeID 0106 or 0190)", _r005, "BT-47-1"),
    Rule("NL-R-006", Severity.FATAL, "For suppliers in the Netherlands, if the fiscal representative is in the Netherlands, the representative's address (cac:TaxRepresentativeParty/cac:PostalAddress) MUST contain street name (cbc:StreetName), city (cbc:CityName) and post code (cbc:PostalZone)", _r006, "BG-12", "MISSING_REQUIRED_FIELD"),
    Rule("NL-R-007", Severity.FATAL, "For suppliers in the Netherlands, the supplier MUST provide a means of payment (cac:PaymentMeans) if the payment is from customer to supplier", _r007, "BG-16", "MISSING_REQUIRED_FIELD"),
    Rule("NL-R-008", Severity.FATAL, "For suppliers in the Netherlands, if the customer is in the Netherlands, the payment means code (cac:PaymentMeans/cbc:PaymentMeansCode) MUST be one of 30, 48, 49, 57, 58 or 59", _r008, "BT-81"),
    Rule("NL-R-009", Severity.FATAL, "For suppliers in the Netherlands, if an order line reference (cac:OrderLineReference/cbc:LineID) is used, there must be an order reference on the document level (cac:OrderReference/cbc:ID)", _r009, "BT-13", "MISSING_REQUIRED_FIELD"),
)  # fmt: skip

RULES = screened(RULES, {r.id: dutch_irregular for r in RULES})
