"""The syntax and Factur-X level an invoice is issued in, checked before anything is numbered.

Refusals with `FK-*` ids where the choice does not exist (Peppol BIS in CII, Factur-X in UBL,
a conformance level outside Factur-X), where the chosen level is not an invoice (MINIMUM and
BASIC WL: no lines, not EN 16931; for a German seller not an invoice under §14 UStG), and
where the CII document could not carry the data: the D16B schema of EN 16931 / XRechnung CII
has room for one preceding invoice (BG-3), and the Factur-X EXTENDED Schematron enforces
BR-CO-25 (a due date or payment terms when an amount is due), for credit notes as well. What
Factur-X BASIC leaves out is a warning per business term (FK-FACTURX-BASIC), so that no
datum disappears from the XML unannounced. Plain functions over the resolved input; no
rule-set registration, so the profiles' rule sets are untouched.
"""

from __future__ import annotations

from faktura.compliance.cii import cii_findings
from faktura.compliance.findings import Finding, Severity
from faktura.compliance.france.cii import french_cii_findings
from faktura.domain.document import FR_CTC_EXTENDED, FRENCH_PROFILES, XRECHNUNG_3
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.syntax import (
    CII,
    FACTURX_PROFILES,
    FRENCH_FACTURX_LEVELS,
    ISSUED_LEVELS,
    allowed_syntaxes,
    facturx_level,
    syntax_of,
)
from faktura.domain.totals import Totals


def _fatal(rule_id: str, title: str, detail: str, pointer: str, term: str | None = None) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.FATAL,
        title=title,
        detail=detail,
        pointer=pointer,
        problem_type="INVALID_FIELD" if term is None else "VALIDATION_ERROR",
        business_term=term,
    )


def _basic_leaves_out(
    invoice: InvoiceInput, seller: Party | None, buyer: Party | None, base: str
) -> list[Finding]:
    """FK-FACTURX-BASIC: what BASIC has no place for (the renderer leaves it out; the PDF still
    shows it), one warning per business term at its first occurrence; a rounding amount is
    refused, since the totals would not add up without it (BR-CO-16)."""
    present: dict[str, tuple[str, str]] = {}  # term -> (what, pointer)

    def note(term: str, what: str, value: object, ptr: str) -> None:
        if value and term not in present:
            present[term] = (what, ptr)

    for term, what, name in (
        ("BT-11", "project reference", "project_reference"),
        ("BT-14", "sales order reference", "sales_order_reference"),
        ("BT-15", "receiving advice reference", "receiving_advice_reference"),
        ("BT-17", "tender or lot reference", "tender_reference"),
        ("BT-18", "invoiced object identifier", "object_id"),
        ("BG-24", "additional supporting documents", "attachments"),
        ("BT-7", "VAT point date", "tax_point_date"),
    ):
        note(term, what, getattr(invoice, name), f"{base}/{name}")
    if seller is not None:
        note("BT-28", "seller trading name", seller.trading_name, "/tenant/trading_name")
        note("BG-6", "seller contact", seller.contact, "/tenant/contact")
        note("BT-33", "seller additional legal information", seller.legal_form, "/tenant/legal_form")
    if buyer is not None:
        buyer_ptr = f"{base}/buyer" if invoice.buyer else f"{base}/contact"
        note(
            "BT-45",
            "buyer trading name",
            buyer.trading_name,
            f"{buyer_ptr}/trading_name" if invoice.buyer else buyer_ptr,
        )
        note("BG-9", "buyer contact", buyer.contact, f"{buyer_ptr}/contact" if invoice.buyer else buyer_ptr)
    for i, pm in enumerate(invoice.payment_means):
        ptr = f"{base}/payment_means/{i}"
        note("BT-82", "payment means text", pm.name, f"{ptr}/name")
        note("BG-18", "payment card information", pm.card, f"{ptr}/card")
        note("BT-85", "payment account name", pm.account and pm.account.name, f"{ptr}/account/name")
        note(
            "BT-86",
            "payment service provider identifier",
            pm.account and pm.account.bic,
            f"{ptr}/account/bic",
        )
    for i, li in enumerate(invoice.line_items):
        ptr = f"{base}/line_items/{i}"
        note(
            "BT-132", "referenced purchase order line", li.order_line_reference, f"{ptr}/order_line_reference"
        )
        note("BT-128", "invoice line object identifier", li.object_id, f"{ptr}/object_id")
        note(
            "BT-133", "invoice line buyer accounting reference", li.accounting_cost, f"{ptr}/accounting_cost"
        )
        note("BT-154", "item description", li.item.description or li.description, f"{ptr}/item/description")
        note("BT-155", "item seller's identifier", li.item.seller_id, f"{ptr}/item/seller_id")
        note("BT-156", "item buyer's identifier", li.item.buyer_id, f"{ptr}/item/buyer_id")
        note("BT-158", "item classification", li.item.classifications, f"{ptr}/item/classifications")
        note("BT-159", "item country of origin", li.item.origin_country, f"{ptr}/item/origin_country")
        note("BG-32", "item attributes", li.item.attributes, f"{ptr}/item/attributes")
        for kind in ("allowances", "charges"):
            for j, ac in enumerate(getattr(li, kind)):
                note(
                    "BT-138",
                    "line allowance/charge percentage and base",
                    ac.percentage,
                    f"{ptr}/{kind}/{j}/percentage",
                )
    out = [
        Finding(
            rule_id="FK-FACTURX-BASIC",
            severity=Severity.WARNING,
            title="Not Carried By Factur-X BASIC",
            detail=f"Factur-X BASIC has no place for the {what} ({term}): it is left out of the XML."
            " Choose conformance level EN16931 to keep it.",
            pointer=ptr,
            business_term=term,
        )
        for term, (what, ptr) in present.items()
    ]
    if invoice.rounding_amount is not None:
        out.append(
            _fatal(
                "FK-FACTURX-BASIC",
                "Not Carried By Factur-X BASIC",
                "Factur-X BASIC has no rounding amount (BT-114), and without it the amount due would not add"
                " up (BR-CO-16). Choose conformance level EN16931.",
                f"{base}/rounding_amount",
                "BT-114",
            )
        )
    return out


#: VAT categories of the Factur-X 1.09.2 code lists (no Italian split payment 'B')
FACTURX_VAT_CATEGORIES = frozenset({"AE", "E", "G", "K", "L", "M", "O", "S", "Z"})


def _facturx_categories(invoice: InvoiceInput, base: str) -> list[Finding]:
    """The Factur-X Schematron checks VAT categories against its own code list (its
    FX-SCH-A-* code-list rules, numbered per level), which has no 'B'."""
    out = []
    for field, term in (("line_items", "BT-151"), ("allowances", "BT-95"), ("charges", "BT-102")):
        for i, item in enumerate(getattr(invoice, field)):
            if item.tax_category and item.tax_category not in FACTURX_VAT_CATEGORIES:
                out.append(
                    _fatal(
                        "FK-FACTURX-CODE",
                        "Code Not In Factur-X",
                        f"VAT category {item.tax_category!r} is not in the Factur-X code list"
                        f" ({', '.join(sorted(FACTURX_VAT_CATEGORIES))}).",
                        f"{base}/{field}/{i}/tax_category",
                        term,
                    )
                )
    return out


def syntax_findings(
    invoice: InvoiceInput,
    seller: Party | None,
    buyer: Party | None = None,
    totals: Totals | None = None,
    base: str = "/model",
) -> list[Finding]:
    """Findings of the resolved `profile`, `syntax` and `conformance_level` of `invoice`;
    `totals` are the computed ones when the numbers allowed computing them."""
    profile = invoice.profile or "peppol-bis-3"
    allowed = allowed_syntaxes(profile)
    syntax = syntax_of(profile, invoice.syntax)
    out: list[Finding] = []
    if syntax not in allowed:
        out.append(
            _fatal(
                "FK-SYNTAX",
                "Syntax Not Available",
                f"Profile {profile} is issued in {' or '.join(s.upper() for s in allowed)}, not {syntax.upper()}.",
                f"{base}/syntax",
            )
        )
        return out
    level = invoice.conformance_level
    facturx = facturx_level(profile, level) is not None
    french_level = FRENCH_FACTURX_LEVELS.get(profile)
    if level is not None and french_level is not None and (level != french_level or syntax != CII):
        out.append(
            _fatal(
                "FK-SYNTAX",
                "Factur-X Level Of A French Profile",
                f"A {profile} invoice is a Factur-X at level {french_level}, in syntax CII"
                f" (its XML is the {profile} CII); without a level it is a plain UBL or CII e-invoice.",
                f"{base}/conformance_level",
            )
        )
    elif level is not None and not facturx and profile not in FACTURX_PROFILES:
        out.append(
            _fatal(
                "FK-SYNTAX",
                "Conformance Level Outside Factur-X",
                f"A conformance level belongs to the factur-x and zugferd profiles, not to {profile}.",
                f"{base}/conformance_level",
            )
        )
    elif profile in FACTURX_PROFILES and level is not None and level not in ISSUED_LEVELS:
        german = seller is not None and seller.address.country == "DE"
        why = (
            "is not an invoice for a German seller: since 2025 an e-invoice must carry the EN 16931 data"
            " (§14 UStG), which MINIMUM and BASIC WL do not"
            if german
            else "carries no invoice lines and is not an EN 16931 invoice; Faktura issues BASIC, EN16931 and EXTENDED"
        )
        out.append(
            _fatal(
                "FK-FACTURX-LEVEL",
                "Conformance Level Not An Invoice",
                f"{level} {why}.",
                f"{base}/conformance_level",
            )
        )
    if syntax != CII:
        return out
    out += cii_findings(invoice, totals, xrechnung=profile == XRECHNUNG_3, base=base, seller=seller)
    if profile in FRENCH_PROFILES:
        out += french_cii_findings(invoice, seller, buyer, base)
    if not facturx and len(invoice.preceding_invoices) > 1:
        out.append(
            _fatal(
                "FK-CII-BG3",
                "One Preceding Invoice In CII",
                "The CII D16B schema of EN 16931 and XRechnung carries one preceding invoice reference (BG-3);"
                " issue in UBL, or one credit note per corrected invoice.",
                f"{base}/preceding_invoices/1",
                "BG-3",
            )
        )
    if facturx:
        out += _facturx_categories(invoice, base)
    if facturx and level == "BASIC":
        out += _basic_leaves_out(invoice, seller, buyer, base)
    if (
        ((facturx and level == "EXTENDED") or profile == FR_CTC_EXTENDED)
        and (totals is None or totals.payable_amount > 0)
        and invoice.due_date is None
        and not (invoice.payment_terms and invoice.payment_terms.strip())
    ):
        out.append(
            _fatal(
                "BR-CO-25",
                "Payment Due Date Or Terms Missing",
                "[BR-CO-25]-In case the Amount due for payment (BT-115) is positive, either the Payment due date"
                " (BT-9) or the Payment terms (BT-20) shall be present. Factur-X EXTENDED and EXTENDED-CTC-FR enforce"
                " it (EN 16931 1.3.16 does not), for credit notes too.",
                f"{base}/payment_terms",
                "BT-20",
            )
        )
    return out
