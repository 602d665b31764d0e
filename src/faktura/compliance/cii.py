"""EN 16931 rules whose CII binding judges more than the UBL one, run natively when the
invoice is issued in CII (official ids, official texts).

Faktura's rule sets follow the UBL binding. Where the CEN CII Schematron tests the same
business rule differently, the difference is checked here: the IGIC rules BR-AF-05..07 ask
for a rate *greater than* zero in CII (UBL: zero or greater), and XRechnung's CII binding of
PEPPOL-EN16931-R055 counts a zero VAT total as positive. The CII syntax rules that the input
can break run here too: one payment means code (CII-SR-467), an account for a credit transfer
(CII-SR-470), a scheme for an item's standard identifier (CII-SR-046). Where the CII
Schematron tests a business rule in substance differently from the UBL one (BR-17, BR-CL-10,
BR-O-12..14, BR-IC-11, XRechnung's BR-DE-23-b/24-b and R054), its test runs here, and
`compliance.binding` drops the UBL finding for CII. The other CII-SR-* and
CII-DT-* rules hold by construction on what the renderer writes (one VAT point date, CII-SR-461).
The CII differential test (`tests/test_cii_differential.py`) holds these claims to the
official CII Schematron.
"""

from __future__ import annotations

from decimal import Decimal

from faktura.compliance.findings import Finding, Severity
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.totals import Totals

IGIC = "L"
_IGIC_RULES = (
    (
        "BR-AF-05",
        "line_items",
        'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "IGIC" the'
        " invoiced item VAT rate (BT-152) shall be greater than 0 (zero).",
        "BT-152",
    ),
    (
        "BR-AF-06",
        "allowances",
        'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "IGIC"'
        " the Document level allowance VAT rate (BT-96) shall be greater than 0 (zero) in CII.",
        "BT-96",
    ),
    (
        "BR-AF-07",
        "charges",
        'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "IGIC"'
        " the Document level charge VAT rate (BT-103) shall be greater than 0 (zero) in CII.",
        "BT-103",
    ),
)


def _fatal(rule_id: str, text: str, pointer: str, term: str | None) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.FATAL,
        title="Validation Error",
        detail=f"[{rule_id}]-{text}",
        pointer=pointer,
        business_term=term,
    )


#: payment means codes of a credit transfer, which needs the payee's account (BT-84)
CREDIT_TRANSFER = frozenset({"30", "58"})


def _written(text: str | None) -> bool:
    return text is not None and bool(text.strip())


def _unschemed_ids(party: Party) -> set[str]:
    """The party's `ram:ID`s (identifiers without a scheme; those with one are GlobalIDs)."""
    return {i.value for i in party.identifiers if i.scheme is None and _written(i.value)}


def payee_findings(invoice: InvoiceInput, seller: Party | None, base: str = "/model") -> list[Finding]:
    """BR-17 as the CII Schematron tests it (context //ram:PayeeTradeParty): the payee has a
    name, and its name, ids and legal registration id each differ from the seller's. The UBL
    test of BR-17 is another one (`compliance.binding` drops it for CII)."""
    payee = invoice.payee
    if payee is None or seller is None:
        return []
    legal = payee.legal_id.value if payee.legal_id is not None and _written(payee.legal_id.value) else None
    seller_legal = seller.legal_id.value if seller.legal_id is not None else None
    same = (
        not _written(payee.name)
        or (_written(seller.name) and payee.name == seller.name)
        or bool(_unschemed_ids(payee) & _unschemed_ids(seller))
        or (legal is not None and legal == seller_legal)
    )
    if not same:
        return []
    return [
        _fatal(
            "BR-17",
            "The Payee name (BT-59) shall be provided in the Invoice, if the Payee (BG-10) is different from"
            " the Seller (BG-4).",
            f"{base}/payee/name",
            "BT-59",
        )
    ]


def sepa_scheme_findings(invoice: InvoiceInput, seller: Party | None, base: str = "/model") -> list[Finding]:
    """BR-CL-10 as the CII Schematron tests it: every `ram:GlobalID` outside products and the
    ship-to party has an ISO 6523 ICD scheme. UBL allows the scheme 'SEPA' on a seller's or
    payee's party identifier (the creditor id); in CII it would be a GlobalID, and 'SEPA' is no
    ICD code."""
    out = []
    for party, ptr in ((seller, "/tenant"), (invoice.payee, f"{base}/payee")):
        for i, ident in enumerate(party.identifiers if party is not None else []):
            if (
                _written(ident.value)
                and ident.scheme is not None
                and " ".join(ident.scheme.split()) == "SEPA"
            ):
                out.append(
                    _fatal(
                        "BR-CL-10",
                        "Any identifier identification scheme identifier MUST be coded using one of the ISO 6523"
                        " ICD list.",
                        f"{ptr}/identifiers/{i}/scheme",
                        "BT-29-1",
                    )
                )
    return out


_O_RULES = {
    "BR-O-12": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not'
    ' subject to VAT" shall not contain an Invoice line (BG-25) where the Invoiced item VAT category code'
    ' (BT-151) is not "Not subject to VAT".',
    "BR-O-13": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not'
    ' subject to VAT" shall not contain Document level allowances (BG-20) where Document level allowance VAT'
    ' category code (BT-95) is not "Not subject to VAT".',
    "BR-O-14": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not'
    ' subject to VAT" shall not contain Document level charges (BG-21) where Document level charge VAT'
    ' category code (BT-102) is not "Not subject to VAT".',
}


def not_subject_findings(invoice: InvoiceInput, totals: Totals | None, base: str = "/model") -> list[Finding]:
    """BR-O-12..14 as the CII Schematron tests them, from an 'O' VAT breakdown: BR-O-12 is
    `not(//ram:ApplicableTradeTax[ram:CategoryCode != 'O'])` (any line or breakdown of another
    category), BR-O-13 and BR-O-14 both `not(//ram:CategoryTradeTax[ram:CategoryCode != 'O'])`
    (any document allowance *or* charge of another category)."""
    if totals is None or not any(b.category == "O" for b in totals.breakdown):
        return []

    def other(category: str | None) -> bool:
        return category is not None and bool(category.strip()) and category != "O"

    lines = [
        f"{base}/line_items/{i}/tax_category"
        for i, li in enumerate(invoice.line_items)
        if other(li.tax_category)
    ]
    acs = [
        f"{base}/{field}/{i}/tax_category"
        for field in ("allowances", "charges")
        for i, ac in enumerate(getattr(invoice, field))
        if other(ac.tax_category)
    ]
    out = []
    if lines or acs or any(other(b.category) for b in totals.breakdown):
        out.append(
            _fatal("BR-O-12", _O_RULES["BR-O-12"], (lines + acs + [f"{base}/line_items"])[0], "BT-151")
        )
    if acs:
        out.append(_fatal("BR-O-13", _O_RULES["BR-O-13"], acs[0], "BT-95"))
        out.append(_fatal("BR-O-14", _O_RULES["BR-O-14"], acs[0], "BT-102"))
    return out


def intra_community_findings(
    invoice: InvoiceInput, totals: Totals | None, base: str = "/model"
) -> list[Finding]:
    """BR-IC-11 as the CII Schematron tests it: with a 'K' breakdown, the actual delivery date or
    a start or end of the invoicing period (`ram:BillingSpecifiedPeriod`). The VAT point date
    code (BT-8), which UBL writes in the invoice period, is on the VAT breakdown in CII."""
    if totals is None or not any(b.category == "K" for b in totals.breakdown):
        return []
    d, p = invoice.delivery, invoice.invoicing_period
    if (d is not None and d.date is not None) or (p is not None and (p.start_date or p.end_date)):
        return []
    return [
        _fatal(
            "BR-IC-11",
            "In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is"
            ' "Intra-community supply" the Actual delivery date (BT-72) or the Invoicing period (BG-14) shall'
            " not be blank.",
            f"{base}/delivery/date" if d is not None else f"{base}/delivery",
            "BT-72",
        )
    ]


#: XRechnung's "-b" rules per payment means family: codes, the rule, and its text
_DE_MEANS_RULES = (
    (
        CREDIT_TRANSFER,
        "BR-DE-23-b",
        'Wenn BT-81 "Payment means type code" einen Schlüssel für Überweisungen enthält (30, 58), dürfen BG-18'
        " und BG-19 nicht übermittelt werden.",
    ),
    (
        frozenset({"48", "54", "55"}),
        "BR-DE-24-b",
        'Wenn BT-81 "Payment means type code" einen Schlüssel für Kartenzahlungen enthält (48, 54, 55), dürfen'
        " BG-17 und BG-19 nicht übermittelt werden.",
    ),
)


def payment_means_findings(invoice: InvoiceInput, base: str = "/model") -> list[Finding]:
    """XRechnung's BR-DE-23-b and BR-DE-24-b as its CII Schematron tests them: a credit transfer
    (30, 58) has no card, a card payment (48, 54, 55) no payee account, and neither a debited
    account, nor may the document carry a mandate reference (BT-89, in the payment terms) or a
    creditor id (BT-90): in CII those two are written once for the document, not on the direct
    debit's payment means as in UBL."""
    means = invoice.payment_means
    mandate = next((pm.mandate for pm in means if pm.mandate is not None), None)
    creditor = next(
        (pm.mandate.creditor_id for pm in means if pm.mandate is not None and pm.mandate.creditor_id), None
    )
    document_wide = (mandate is not None and _written(mandate.reference)) or _written(creditor)
    out = []
    for i, pm in enumerate(means):
        code = " ".join(pm.code.split())
        for codes, rule_id, text in _DE_MEANS_RULES:
            if code not in codes:
                continue
            other = pm.card is not None if rule_id == "BR-DE-23-b" else pm.account is not None
            debited = pm.mandate is not None and _written(pm.mandate.debited_account)
            if other or debited or document_wide:
                out.append(_fatal(rule_id, text, f"{base}/payment_means/{i}", "BT-81"))
    return out


def cii_findings(
    invoice: InvoiceInput,
    totals: Totals | None = None,
    *,
    xrechnung: bool = False,
    base: str = "/model",
    seller: Party | None = None,
) -> list[Finding]:
    """Findings of the CII binding beyond the UBL one. A missing or negative IGIC rate is
    already reported by the EN 16931 rule set; a zero rate is refused here only."""
    out: list[Finding] = payee_findings(invoice, seller, base) + sepa_scheme_findings(invoice, seller, base)
    out += not_subject_findings(invoice, totals, base) + intra_community_findings(invoice, totals, base)
    if xrechnung:
        out += payment_means_findings(invoice, base)
    if (
        xrechnung
        and totals is not None
        and invoice.tax_currency is not None
        and invoice.tax_currency != invoice.currency
        and totals.tax_amount_in_tax_currency is None
    ):
        # XRechnung's CII binding of R054: one TaxTotalAmount in the VAT accounting currency
        # exactly when TaxCurrencyCode is written
        out.append(
            _fatal(
                "PEPPOL-EN16931-R054",
                "Only one tax total without tax subtotals MUST be provided when tax currency code is provided.",
                f"{base}/tax_currency_total_tax_amount",
                "BT-111",
            )
        )
    codes = [pm.code for pm in invoice.payment_means]
    for i, code in enumerate(codes):
        if code.strip() != codes[0].strip():
            out.append(
                _fatal(
                    "CII-SR-467",
                    "All Payment means type codes (BT-81) shall have the same value across all"
                    " SpecifiedTradeSettlementPaymentMeans.",
                    f"{base}/payment_means/{i}/code",
                    "BT-81",
                )
            )
            break
    for i, pm in enumerate(invoice.payment_means):
        if pm.code.strip() in CREDIT_TRANSFER and pm.account is None:
            out.append(
                _fatal(
                    "CII-SR-470",
                    "Either the IBAN or a Proprietary ID (BT-84) shall be used.",
                    f"{base}/payment_means/{i}/account",
                    "BT-84",
                )
            )
    for i, li in enumerate(invoice.line_items):
        if li.item.standard_id is not None and li.item.standard_id.scheme is None:
            out.append(
                _fatal(
                    "CII-SR-046",
                    "schemeID must be present if GlobalID is present",
                    f"{base}/line_items/{i}/item/standard_id/scheme",
                    "BT-157",
                )
            )
    accounting = totals.tax_amount_in_tax_currency if totals is not None else None
    if (
        xrechnung
        and totals is not None
        and accounting is not None
        and invoice.tax_currency != invoice.currency
    ):
        vat = totals.tax_amount
        # XRechnung's CII binding of R055 counts a zero VAT total as positive; the UBL one as
        # either sign. Only the zero-against-negative case is left for this check to report.
        if (vat < 0) != (accounting < 0) and not (vat > 0 or accounting > 0):
            out.append(
                _fatal(
                    "PEPPOL-EN16931-R055",
                    "Invoice total VAT amount and Invoice total VAT amount in accounting currency MUST have the"
                    " same operational sign",
                    f"{base}/tax_currency_total_tax_amount",
                    "BT-111",
                )
            )
    for rule_id, field, text, term in _IGIC_RULES:
        for i, item in enumerate(getattr(invoice, field)):
            if item.tax_category == IGIC and item.tax_rate is not None and item.tax_rate == Decimal(0):
                out.append(_fatal(rule_id, text, f"{base}/{field}/{i}/tax_rate", term))
    return out
