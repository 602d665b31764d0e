"""Basic checks run before anything is numbered or stored.

These are the checks without which the rendered UBL could not be valid: required fields,
code lists, exact-decimal ranges, VAT category/rate pairs and client-declared totals. Each
finding carries the official rule id it mirrors (EN 16931 1.3.16, Peppol BIS 3.0.18) and
a pointer into the request. All checks run; all findings come back together.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec

from faktura.compliance.findings import Finding, Severity, pointer
from faktura.domain import codelists as cl
from faktura.domain.invoice import AllowanceCharge, InvoiceInput, Party
from faktura.domain.totals import NO_RATE_CATEGORIES, ZERO_TAX_CATEGORIES, Totals, compute

MAX_ABS = Decimal("1e12")  # no invoice amount, price or quantity is larger than this
MAX_EXPONENT = -10  # at most 10 decimal places on any number

_CATEGORY_FAMILY = {
    "S": "BR-S",
    "Z": "BR-Z",
    "E": "BR-E",
    "AE": "BR-AE",
    "K": "BR-IC",
    "G": "BR-G",
    "O": "BR-O",
}
_CATEGORY_FAMILY |= {"L": "BR-IG", "M": "BR-IP"}


class Checks:
    """Collects findings; one method per concern keeps each rule easy to find."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        rule_id: str | None,
        ptr: str,
        detail: str,
        *,
        title: str = "Invalid Field",
        problem_type: str = "INVALID_FIELD",
        severity: Severity = Severity.FATAL,
        bt: str | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity,
                title=title,
                detail=detail,
                pointer=ptr,
                problem_type=problem_type,
                business_term=bt,
            )
        )

    def missing(self, rule_id: str | None, ptr: str, what: str, bt: str | None = None) -> None:
        self.add(
            rule_id,
            ptr,
            f"{what} is required.",
            title="Missing Required Field",
            problem_type="MISSING_REQUIRED_FIELD",
            bt=bt,
        )


def _decimals(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Decimal]]:
    """Every Decimal inside a struct tree, with its path: one generic sweep for ranges."""
    if isinstance(value, Decimal):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _decimals(getattr(value, name), (*path, name))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _decimals(v, (*path, i))


def check_numbers(c: Checks, invoice: InvoiceInput, base: tuple[str | int, ...]) -> bool:
    """Finite, bounded, not absurdly precise. Returns False when the totals cannot be computed."""
    ok = True
    for path, v in _decimals(invoice, base):
        p = pointer(*path)
        if not v.is_finite():
            c.add(None, p, "Must be a finite decimal number.")
            ok = False
        elif abs(v) > MAX_ABS:
            c.add(None, p, f"Absolute value must not exceed {MAX_ABS:f}.", problem_type="OUT_OF_RANGE")
            ok = False
        elif v.as_tuple().exponent < MAX_EXPONENT:  # type: ignore[operator]
            c.add(None, p, "At most 10 decimal places are allowed.", problem_type="OUT_OF_RANGE")
            ok = False
    return ok


def _two_decimals(c: Checks, value: Decimal | None, ptr: str, rule_id: str) -> None:
    if value is not None and value.is_finite() and value.as_tuple().exponent < -2:  # type: ignore[operator]
        c.add(rule_id, ptr, "The amount must have at most 2 decimals.")


def check_party(c: Checks, party: Party | None, base: str, role: str) -> None:
    seller = role == "seller"
    if party is None:
        return
    if party.address.country not in cl.COUNTRY_CODES:
        c.add("BR-CL-14", f"{base}/address/country", "Country must be an ISO 3166-1 alpha-2 code.")
    if role == "payee":  # the payee (BG-10) has no electronic address
        pass
    elif party.endpoint is None:
        c.missing(
            "PEPPOL-EN16931-R020" if seller else "PEPPOL-EN16931-R010",
            f"{base}/endpoint",
            f"The {role}'s electronic address (Peppol endpoint id)",
            bt="BT-34" if seller else "BT-49",
        )
    elif party.endpoint.scheme is None:
        c.missing("BR-62" if seller else "BR-63", f"{base}/endpoint/scheme", "The electronic address scheme")
    elif party.endpoint.scheme not in cl.PEPPOL_EAS_SCHEMES:
        c.add("PEPPOL-EN16931-CL008", f"{base}/endpoint/scheme", "Scheme must be from the EAS code list.")
    if party.legal_id and party.legal_id.scheme and party.legal_id.scheme not in cl.ICD_SCHEMES:
        c.add(
            "BR-CL-11", f"{base}/legal_id/scheme", "Legal registration scheme must be an ISO 6523 ICD code."
        )
    for i, ident in enumerate(party.identifiers):
        if ident.scheme and ident.scheme not in cl.ICD_SCHEMES and ident.scheme != "SEPA":
            c.add(
                "BR-CL-10",
                f"{base}/identifiers/{i}/scheme",
                "Identifier scheme must be an ISO 6523 ICD code.",
            )
    if party.vat_id and party.vat_id[:2].upper() not in cl.COUNTRY_CODES | {"EL"}:
        c.add(
            "BR-CO-09", f"{base}/vat_id", "The VAT identifier must start with an ISO 3166-1 country prefix."
        )


def _check_allowance_charge(
    c: Checks, ac: AllowanceCharge, base: str, *, charge: bool, line_level: bool
) -> None:
    kind = "charge" if charge else "allowance"
    if ac.amount is None and ac.percentage is None:
        c.missing(None, f"{base}/amount", f"The {kind} amount (or a percentage)")
    if ac.amount is not None and ac.amount < 0:
        c.add(None, f"{base}/amount", "Must not be negative.")
    if not ac.reason and not ac.reason_code:
        rule = {
            (False, False): "BR-33",
            (True, False): "BR-38",
            (False, True): "BR-42",
            (True, True): "BR-44",
        }
        c.missing(rule[(charge, line_level)], f"{base}/reason", f"A {kind} reason or reason code")
    if ac.reason_code:
        codes = cl.CHARGE_REASON_CODES if charge else cl.ALLOWANCE_REASON_CODES
        if ac.reason_code not in codes:
            c.add("BR-CL-20" if charge else "BR-CL-19", f"{base}/reason_code", f"Unknown {kind} reason code.")
    if ac.amount is not None and ac.percentage is not None and ac.base_amount is not None:
        expected = ac.base_amount * ac.percentage / 100
        if abs(expected - ac.amount) > Decimal("0.02"):
            c.add(
                "PEPPOL-EN16931-R040", f"{base}/amount", "Amount must equal base amount × percentage / 100."
            )
    if line_level:
        if ac.tax_category or ac.tax_rate is not None:
            c.add(
                None,
                f"{base}/tax_category",
                "Line-level allowances and charges take the line's VAT category.",
            )
        return
    if not ac.tax_category:
        c.missing(
            "BR-37" if charge else "BR-32", f"{base}/tax_category", f"The document-level {kind} VAT category"
        )
        return
    check_category(c, ac.tax_category, ac.tax_rate, base)


def check_category(c: Checks, category: str, rate: Decimal | None, base: str) -> None:
    if category not in cl.PEPPOL_VAT_CATEGORY_CODES:
        c.add(
            "BR-CL-18", f"{base}/tax_category", "VAT category must be a UNCL 5305 code (S Z E AE K G O L M)."
        )
        return
    family = _CATEGORY_FAMILY[category]
    if category in NO_RATE_CATEGORIES:
        if rate is not None:
            c.add(f"{family}-05", f"{base}/tax_rate", "Category O (not subject to VAT) has no VAT rate.")
    elif category in ZERO_TAX_CATEGORIES:
        if rate is not None and rate != 0:
            c.add(f"{family}-05", f"{base}/tax_rate", f"The VAT rate of category {category} must be 0.")
    elif rate is None:
        c.missing(f"{family}-05", f"{base}/tax_rate", f"The VAT rate of category {category}", bt="BT-152")
    elif category == "S" and rate <= 0:
        c.add("BR-S-05", f"{base}/tax_rate", "The VAT rate of category S must be greater than zero.")
    elif rate < 0 or rate >= 100:
        c.add(None, f"{base}/tax_rate", "The VAT rate must be a percentage between 0 and 100.")


def check_invoice(
    invoice: InvoiceInput,
    *,
    seller: Party | None,
    buyer: Party | None,
    buyer_pointer: str = "/model/buyer",
    base: str = "/model",
) -> tuple[list[Finding], Totals | None]:
    """All basic findings, and the computed totals when the numbers allow computing them."""
    c = Checks()
    numbers_ok = check_numbers(c, invoice, tuple(p for p in base.split("/") if p))

    if invoice.currency is not None and invoice.currency not in cl.CURRENCY_CODES:
        c.add("BR-CL-04", f"{base}/currency", "Currency must be an ISO 4217 code.")
    if invoice.tax_currency is not None:
        if invoice.tax_currency not in cl.CURRENCY_CODES:
            c.add("BR-CL-05", f"{base}/tax_currency", "Tax currency must be an ISO 4217 code.")
        if (
            invoice.tax_currency != invoice.currency
            and invoice.exchange_rate is None
            and invoice.tax_currency_total_tax_amount is None
        ):
            c.missing(
                "BR-53", f"{base}/exchange_rate", "An exchange rate (or the VAT total in the tax currency)"
            )
    if invoice.exchange_rate is not None and invoice.exchange_rate <= 0:
        c.add(None, f"{base}/exchange_rate", "The exchange rate must be greater than zero.")
    if invoice.type_code:
        codes = cl.CREDIT_NOTE_TYPE_CODES if invoice.document_type == "CREDIT_NOTE" else cl.INVOICE_TYPE_CODES
        if invoice.type_code not in codes:
            c.add(
                "BR-CL-01",
                f"{base}/type_code",
                "Type code is not an UNTDID 1001 code for this document type.",
            )
    if invoice.issue_date and invoice.due_date and invoice.due_date < invoice.issue_date:
        c.add("FK-DUE-DATE", f"{base}/due_date", "The due date must not be before the issue date.")
    if not invoice.buyer_reference and not invoice.order_reference:
        c.missing(
            "PEPPOL-EN16931-R003",
            f"{base}/buyer_reference",
            "A buyer reference or an order reference",
            "BT-10",
        )
    if invoice.invoicing_period:
        p = invoice.invoicing_period
        if p.start_date and p.end_date and p.end_date < p.start_date:
            c.add(
                "BR-29", f"{base}/invoicing_period/end_date", "The period end must not be before its start."
            )
        if p.description_code and p.description_code not in cl.PERIOD_DESCRIPTION_CODES:
            c.add("BR-CL-06", f"{base}/invoicing_period/description_code", "Unknown UNTDID 2005 code.")

    if invoice.contact is None and invoice.buyer is None:
        c.missing("BR-07", f"{base}/contact", "The buyer (a contact id or an inline buyer)", bt="BG-7")
    if invoice.contact is not None and invoice.buyer is not None:
        c.add(None, f"{base}/buyer", "Give either a contact id or an inline buyer, not both.")
    check_party(c, seller, "/tenant", "seller")
    check_party(c, buyer, buyer_pointer, "buyer")
    if invoice.payee is not None:
        check_party(c, invoice.payee, f"{base}/payee", "payee")

    if not invoice.line_items:
        c.missing("BR-16", f"{base}/line_items", "At least one invoice line", bt="BG-25")
    for i, li in enumerate(invoice.line_items):
        lp = f"{base}/line_items/{i}"
        if li.unit_price < 0:
            c.add("BR-27", f"{lp}/unit_price", "The item net price must not be negative.", bt="BT-146")
        if li.gross_unit_price is not None and li.gross_unit_price < li.unit_price:
            c.add("BR-28", f"{lp}/gross_unit_price", "The gross price must not be below the net price.")
        if li.base_quantity is not None and li.base_quantity <= 0:
            c.add("PEPPOL-EN16931-R121", f"{lp}/base_quantity", "The base quantity must be above zero.")
        if li.unit_code not in cl.UNIT_CODES:
            c.add("BR-CL-23", f"{lp}/unit_code", "Unit must be a UN/ECE Recommendation 20 or 21 code.")
        check_category(c, li.tax_category, li.tax_rate, lp)
        if (
            li.tax_exemption_reason_code
            and li.tax_exemption_reason_code.upper() not in cl.VAT_EXEMPTION_REASON_CODES
        ):
            c.add("BR-CL-22", f"{lp}/tax_exemption_reason_code", "Unknown VATEX exemption reason code.")
        if li.item.origin_country and li.item.origin_country not in cl.COUNTRY_CODES:
            c.add("BR-CL-15", f"{lp}/item/origin_country", "Country must be an ISO 3166-1 alpha-2 code.")
        for j, cls in enumerate(li.item.classifications):
            if cls.list_id not in cl.ITEM_CLASSIFICATION_SCHEMES:
                c.add("BR-CL-13", f"{lp}/item/classifications/{j}/list_id", "Unknown UNTDID 7143 list id.")
        if (
            li.period
            and li.period.start_date
            and li.period.end_date
            and li.period.end_date < li.period.start_date
        ):
            c.add("BR-30", f"{lp}/period/end_date", "The period end must not be before its start.")
        for j, a in enumerate(li.allowances):
            _check_allowance_charge(c, a, f"{lp}/allowances/{j}", charge=False, line_level=True)
            _two_decimals(c, a.amount, f"{lp}/allowances/{j}/amount", "BR-DEC-24")
        for j, ch in enumerate(li.charges):
            _check_allowance_charge(c, ch, f"{lp}/charges/{j}", charge=True, line_level=True)
            _two_decimals(c, ch.amount, f"{lp}/charges/{j}/amount", "BR-DEC-27")
    for j, a in enumerate(invoice.allowances):
        _check_allowance_charge(c, a, f"{base}/allowances/{j}", charge=False, line_level=False)
        _two_decimals(c, a.amount, f"{base}/allowances/{j}/amount", "BR-DEC-01")
    for j, ch in enumerate(invoice.charges):
        _check_allowance_charge(c, ch, f"{base}/charges/{j}", charge=True, line_level=False)
        _two_decimals(c, ch.amount, f"{base}/charges/{j}/amount", "BR-DEC-05")
    _two_decimals(c, invoice.prepaid_amount, f"{base}/prepaid_amount", "BR-DEC-16")
    _two_decimals(c, invoice.rounding_amount, f"{base}/rounding_amount", "BR-DEC-17")

    for i, pm in enumerate(invoice.payment_means):
        pp = f"{base}/payment_means/{i}"
        if pm.code not in cl.PAYMENT_MEANS_CODES:
            c.add("BR-CL-16", f"{pp}/code", "Payment means must be an UNTDID 4461 code.")
        if pm.code in ("30", "58") and pm.account is None:
            c.missing("BR-61", f"{pp}/account", "The payee account for a credit transfer", bt="BT-84")
        if pm.code in ("49", "59") and pm.mandate is None:
            c.missing(None, f"{pp}/mandate", "The direct debit mandate", bt="BT-89")

    _check_vat_parties(c, invoice, seller, buyer, buyer_pointer, base)

    totals = compute(invoice) if numbers_ok else None
    if totals is not None:
        _check_declared_totals(c, invoice, totals, base)
        if totals.payable_amount > 0 and invoice.due_date is None and not invoice.payment_terms:
            # EN 16931 states this as BR-CO-25, but the 1.3.16 UBL Schematron does not
            # enforce it; we warn so that a buyer is never left without a payment date.
            c.add(
                "FK-PAYMENT-DATE",
                f"{base}/due_date",
                "Give a due date or payment terms: the amount due is positive.",
                severity=Severity.WARNING,
                problem_type="MISSING_RECOMMENDED_FIELD",
                title="Missing Recommended Field",
            )
    return c.findings, totals


def _check_vat_parties(
    c: Checks, invoice: InvoiceInput, seller: Party | None, buyer: Party | None, buyer_ptr: str, base: str
) -> None:
    """The VAT-category family rules that depend on the parties (BR-S/AE/IC/G/O-02..04)."""
    categories = {li.tax_category for li in invoice.line_items}
    categories |= {ac.tax_category for ac in (*invoice.allowances, *invoice.charges) if ac.tax_category}
    seller_vat = seller is not None and bool(seller.vat_id or seller.tax_registration_id)
    buyer_vat = buyer is not None and bool(buyer.vat_id)
    for cat in sorted(categories & {"S", "Z", "E", "AE", "K", "G", "L", "M"}):
        if seller is not None and not seller_vat:
            c.missing(
                f"{_CATEGORY_FAMILY[cat]}-02", "/tenant/vat_id", f"The seller VAT id (category {cat} is used)"
            )
    if "AE" in categories and buyer is not None and not (buyer.vat_id or buyer.legal_id):
        c.missing(
            "BR-AE-02", f"{buyer_ptr}/vat_id", "The buyer VAT id or legal registration id (reverse charge)"
        )
    if "K" in categories:
        if buyer is not None and not buyer_vat:
            c.missing("BR-IC-02", f"{buyer_ptr}/vat_id", "The buyer VAT id (intra-community supply)")
        d = invoice.delivery
        if not (d and d.date) and not invoice.invoicing_period:
            c.missing(
                "BR-IC-11", f"{base}/delivery/date", "The delivery date or invoicing period (category K)"
            )
        if not (d and d.address):
            c.missing("BR-IC-12", f"{base}/delivery/address", "The deliver-to country (category K)")
    if "O" in categories:
        if len(categories) > 1:
            c.add(
                "BR-O-11",
                f"{base}/line_items",
                "An invoice with category O must not use other VAT categories.",
            )
        if seller is not None and seller.vat_id:
            c.add(
                "BR-O-02", "/tenant/vat_id", "An invoice not subject to VAT must not carry the seller VAT id."
            )
        if buyer is not None and buyer.vat_id:
            c.add(
                "BR-O-02",
                f"{buyer_ptr}/vat_id",
                "An invoice not subject to VAT must not carry the buyer VAT id.",
            )
    needs_reason = categories & {"E", "AE", "K", "G", "O"}
    for i, li in enumerate(invoice.line_items):
        if li.tax_category in needs_reason and not (li.tax_exemption_reason or li.tax_exemption_reason_code):
            rule = f"{_CATEGORY_FAMILY[li.tax_category]}-10"
            c.missing(rule, f"{base}/line_items/{i}/tax_exemption_reason", "A VAT exemption reason or code")
        if li.tax_category in ("S", "Z") and (li.tax_exemption_reason or li.tax_exemption_reason_code):
            rule = f"{_CATEGORY_FAMILY[li.tax_category]}-10"
            c.add(
                rule,
                f"{base}/line_items/{i}/tax_exemption_reason",
                "Category S and Z take no exemption reason.",
            )


def _check_declared_totals(c: Checks, invoice: InvoiceInput, t: Totals, base: str) -> None:
    """Totals the client sent must equal ours (they are never used as given)."""

    def differ(rule: str, field: str, sent: Decimal | None, ours: Decimal, bt: str) -> None:
        if sent is not None and sent != ours:
            c.add(
                rule,
                f"{base}/{field}",
                f"Sent {sent:f}, but the EN 16931 calculation gives {ours:f}.",
                title="Total Mismatch",
                problem_type="TOTAL_MISMATCH",
                bt=bt,
            )

    for i, (li, lt) in enumerate(zip(invoice.line_items, t.lines, strict=True)):
        differ(
            "PEPPOL-EN16931-R120", f"line_items/{i}/total_amount", li.total_amount, lt.net_amount, "BT-131"
        )
    differ("BR-CO-10", "sub_total", invoice.sub_total, t.line_extension_amount, "BT-106")
    differ("BR-CO-11", "total_discount", invoice.total_discount, t.allowance_total, "BT-107")
    differ("BR-CO-14", "total_tax_amount", invoice.total_tax_amount, t.tax_amount, "BT-110")
    differ("BR-CO-15", "total_amount", invoice.total_amount, t.tax_inclusive_amount, "BT-112")
