"""The syntax and Factur-X level an invoice is issued in, checked before anything is numbered.

Refusals with `FK-*` ids where the choice does not exist (Peppol BIS in CII, Factur-X in UBL,
a conformance level outside Factur-X), where the chosen level is not an invoice (MINIMUM and
BASIC WL: no lines, not EN 16931; for a German seller not an invoice under §14 UStG), and
where the CII document could not carry the data: the D16B schema of EN 16931 / XRechnung CII
has room for one preceding invoice (BG-3), and the Factur-X EXTENDED Schematron applies
BR-CO-25 to credit notes as well. Plain functions over the resolved input; no rule-set
registration, so the profiles' rule sets are untouched.
"""

from __future__ import annotations

from decimal import Decimal

from faktura.compliance.findings import Finding, Severity
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.syntax import CII, FACTURX_PROFILES, ISSUED_LEVELS, allowed_syntaxes, syntax_of


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


def syntax_findings(
    invoice: InvoiceInput, seller: Party | None, payable: Decimal | None = None, base: str = "/model"
) -> list[Finding]:
    """Findings of the resolved `profile`, `syntax` and `conformance_level` of `invoice`;
    `payable` is the computed amount due (BT-115) when the numbers allowed computing it."""
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
    facturx = profile in FACTURX_PROFILES
    if level is not None and not facturx:
        out.append(
            _fatal(
                "FK-SYNTAX",
                "Conformance Level Outside Factur-X",
                f"A conformance level belongs to the factur-x and zugferd profiles, not to {profile}.",
                f"{base}/conformance_level",
            )
        )
    elif facturx and level is not None and level not in ISSUED_LEVELS:
        german = seller is not None and seller.address.country == "DE"
        why = (
            "is not an invoice for a German seller: since 2025 an e-invoice must carry the EN 16931 data"
            " (§14 UStG), which MINIMUM and BASIC WL do not"
            if german
            else "carries no invoice lines and is not an EN 16931 invoice; Faktura issues BASIC, EN16931 and EXTENDED"
        )
        out.append(
            _fatal("FK-FACTURX-LEVEL", "Conformance Level Not An Invoice", f"{level} {why}.", f"{base}/conformance_level")
        )
    if syntax != CII:
        return out
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
    if (
        facturx
        and level == "EXTENDED"
        and invoice.document_type == "CREDIT_NOTE"
        and (payable is None or payable > 0)
        and invoice.due_date is None
        and not (invoice.payment_terms and invoice.payment_terms.strip())
    ):
        out.append(
            _fatal(
                "BR-CO-25",
                "Payment Due Date Or Terms Missing",
                "[BR-CO-25]-In case the Amount due for payment (BT-115) is positive, either the Payment due date"
                " (BT-9) or the Payment terms (BT-20) shall be present. Factur-X EXTENDED applies this to"
                " credit notes too.",
                f"{base}/payment_terms",
                "BT-20",
            )
        )
    return out
