"""`render_cii(doc, profile)`: a `Document` as a UN/CEFACT Cross Industry Invoice (D16B).

One renderer for every CII profile: EN 16931 itself, XRechnung in CII, and the Factur-X /
ZUGFeRD conformance levels that are invoices (BASIC, EN 16931, EXTENDED). A profile only
changes the specification identifier (BT-24) and the business process (BT-23); the content is
the same. The elements Faktura writes are in both the D16B schema and the Factur-X 1.09.2
schemas (a D22B subset). Invoices and credit notes share the root; a credit note is type 381
with its preceding invoices (BG-3). Same Document in, same bytes out.
"""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from faktura.domain.document import FRENCH_PROFILES, Document
from faktura.domain.notes import subject_and_text
from faktura.render.cii.allowances import allowance_charge
from faktura.render.cii.common import NS_RSM, NSMAP, Element, date_time, leaf, period, ram
from faktura.render.cii.lines import line
from faktura.render.cii.party import payee_party, ship_to_party, tax_representative_party, trade_party
from faktura.render.cii.payment import payment_means, payment_reference, payment_terms
from faktura.render.cii.references import agreement_references, delivery_references, preceding_invoices
from faktura.render.cii.tax import breakdown
from faktura.render.cii.totals import monetary_summation
from faktura.render.ubl.party import creditor_id

EN16931 = "en16931"
XRECHNUNG_3_CII = "xrechnung-3"
FACTURX_BASIC = "factur-x-basic"
FACTURX_EN16931 = "factur-x-en16931"
FACTURX_EXTENDED = "factur-x-extended"
#: France (XP Z12-012): plain CII under the EN 16931 profile and EXTENDED-CTC-FR, and the same
#: XML as the Factur-X of a French invoice (BT-23 is the invoice's billing mode)
FR_CTC_CII = "fr-ctc"
FR_CTC_EXTENDED_CII = "fr-ctc-extended"
FR_CTC_FACTURX = "fr-ctc-factur-x-en16931"
FR_CTC_EXTENDED_FACTURX = "fr-ctc-factur-x-extended"

PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
#: BT-24 of EXTENDED-CTC-FR in plain CII (as in UBL). A Factur-X EXTENDED invoice keeps the
#: Factur-X EXTENDED id: the Factur-X Schematron checks BT-24 against its own code list
#: (FX-SCH-A-000636), where the French id is not.
EXTENDED_CTC_FR = "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr"
FACTURX_EXTENDED_ID = "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"

#: What Factur-X 1.09.2 BASIC has no place for, of what Faktura writes (its XSD and
#: Schematron): contacts, bank details beyond the account id, item details, line references,
#: document references, the VAT point date. `compliance.syntax` warns about each one present
#: (FK-FACTURX-BASIC) and refuses a rounding amount (BT-114), without which BR-CO-16 fails.
BASIC_OMITTED = (
    "ram:ApplicableHeaderTradeAgreement/*/ram:DefinedTradeContact",
    "ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:Description",
    "ram:ApplicableHeaderTradeAgreement/*/ram:SpecifiedLegalOrganization/ram:TradingBusinessName",
    "ram:ApplicableHeaderTradeAgreement/ram:SellerOrderReferencedDocument",
    "ram:ApplicableHeaderTradeAgreement/ram:AdditionalReferencedDocument",
    "ram:ApplicableHeaderTradeAgreement/ram:SpecifiedProcuringProject",
    "ram:ApplicableHeaderTradeDelivery/ram:ReceivingAdviceReferencedDocument",
    "ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:TaxPointDate",
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementPaymentMeans/ram:Information",
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementPaymentMeans/ram:ApplicableTradeSettlementFinancialCard",
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/ram:AccountName",
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeeSpecifiedCreditorFinancialInstitution",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:SellerAssignedID",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:BuyerAssignedID",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:Description",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:ApplicableProductCharacteristic",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:DesignatedProductClassification",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:OriginTradeCountry",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeAgreement/ram:BuyerOrderReferencedDocument",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge/ram:CalculationPercent",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge/ram:BasisAmount",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement/ram:AdditionalReferencedDocument",
    "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement/ram:ReceivableSpecifiedTradeAccountingAccount",
)


class CiiProfile(NamedTuple):
    guideline_id: str  # BT-24
    business_process: str | None  # BT-23
    #: Factur-X / ZUGFeRD conformance level (the XMP `fx:ConformanceLevel`), None outside Factur-X
    facturx_level: str | None = None
    #: elements (paths below `SupplyChainTradeTransaction`) the profile's data set leaves out
    omitted: tuple[str, ...] = ()

    @property
    def max_preceding_invoices(self) -> int | None:
        """BG-3 repeats in the Factur-X schemas (D22B); the D16B schema has room for one."""
        return None if self.facturx_level else 1


#: profile key -> specification identifiers. The keys are what callers pass to `render_cii`.
PROFILES: dict[str, CiiProfile] = {
    EN16931: CiiProfile("urn:cen.eu:en16931:2017", None),
    XRECHNUNG_3_CII: CiiProfile(
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", PEPPOL_BILLING_PROCESS
    ),
    FACTURX_BASIC: CiiProfile(
        "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", None, "BASIC", BASIC_OMITTED
    ),
    FACTURX_EN16931: CiiProfile("urn:cen.eu:en16931:2017", None, "EN 16931"),
    FACTURX_EXTENDED: CiiProfile(FACTURX_EXTENDED_ID, None, "EXTENDED"),
    FR_CTC_CII: CiiProfile("urn:cen.eu:en16931:2017", None),
    FR_CTC_EXTENDED_CII: CiiProfile(EXTENDED_CTC_FR, None),
    FR_CTC_FACTURX: CiiProfile("urn:cen.eu:en16931:2017", None, "EN 16931"),
    FR_CTC_EXTENDED_FACTURX: CiiProfile(FACTURX_EXTENDED_ID, None, "EXTENDED"),
}

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _context(root: Element, profile: CiiProfile, doc: Document) -> None:
    el = etree.SubElement(root, f"{{{NS_RSM}}}ExchangedDocumentContext")
    # BT-23: a French invoice's billing mode (BR-FR-08), else the profile's business process
    process = doc.invoice.billing_mode if doc.profile in FRENCH_PROFILES else profile.business_process
    if process:
        leaf(ram(el, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", process)
    leaf(ram(el, "GuidelineSpecifiedDocumentContextParameter"), "ID", profile.guideline_id)


def _exchanged_document(root: Element, doc: Document) -> None:
    el = etree.SubElement(root, f"{{{NS_RSM}}}ExchangedDocument")
    leaf(el, "ID", doc.number)
    leaf(el, "TypeCode", doc.type_code)
    date_time(el, "IssueDateTime", doc.issue_date)
    for note in doc.invoice.notes:
        if note.strip():
            # French rules read the subject code from ram:SubjectCode (BR-FR-05)
            subject, content = subject_and_text(note) if doc.profile in FRENCH_PROFILES else (None, note)
            included = ram(el, "IncludedNote")
            leaf(included, "Content", content)
            leaf(included, "SubjectCode", subject)


def _agreement(parent: Element, doc: Document) -> None:
    inv = doc.invoice
    el = ram(parent, "ApplicableHeaderTradeAgreement")
    leaf(el, "BuyerReference", inv.buyer_reference)
    el.append(trade_party("SellerTradeParty", doc.seller, seller=True))
    el.append(trade_party("BuyerTradeParty", doc.buyer, seller=False))
    rep = tax_representative_party(inv.tax_representative)
    if rep is not None:
        el.append(rep)
    agreement_references(el, inv)


def _delivery(parent: Element, doc: Document) -> None:
    """BG-13; the aggregate is mandatory in CII even when it is empty."""
    inv = doc.invoice
    el = ram(parent, "ApplicableHeaderTradeDelivery")
    ship_to = ship_to_party(inv.delivery)
    if ship_to is not None:
        el.append(ship_to)
    if inv.delivery is not None and inv.delivery.date is not None:
        date_time(ram(el, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", inv.delivery.date)
    delivery_references(el, inv)


def _settlement(parent: Element, doc: Document) -> None:
    inv, totals, currency = doc.invoice, doc.totals, doc.currency
    el = ram(parent, "ApplicableHeaderTradeSettlement")
    leaf(el, "CreditorReferenceID", creditor_id(inv))
    leaf(el, "PaymentReference", payment_reference(inv))
    leaf(el, "TaxCurrencyCode", inv.tax_currency if inv.tax_currency != currency else None)
    leaf(el, "InvoiceCurrencyCode", currency)
    payee = payee_party(inv.payee)
    if payee is not None:
        el.append(payee)
    payment_means(el, inv.payment_means)
    p = inv.invoicing_period
    breakdown(
        el,
        totals,
        tax_point_date=inv.tax_point_date,
        period_code=p.description_code if p is not None else None,
    )
    if p is not None:
        period(el, p.start_date, p.end_date)
    for source, res in zip(inv.allowances, totals.allowances, strict=True):
        allowance_charge(el, res, source)
    for source, res in zip(inv.charges, totals.charges, strict=True):
        allowance_charge(el, res, source)
    payment_terms(el, inv, inv.due_date)
    monetary_summation(el, totals, inv, currency)
    preceding_invoices(el, inv)
    if inv.accounting_cost:
        leaf(ram(el, "ReceivableSpecifiedTradeAccountingAccount"), "ID", inv.accounting_cost)


#: aggregates that go when an omission leaves them empty (the others are mandatory)
OPTIONAL_AGGREGATES = frozenset({"SpecifiedLegalOrganization"})


def _omit(transaction: Element, paths: tuple[str, ...]) -> None:
    for path in paths:
        for el in transaction.xpath(path, namespaces=NSMAP):
            parent = el.getparent()
            parent.remove(el)
            if len(parent) == 0 and etree.QName(parent).localname in OPTIONAL_AGGREGATES:
                parent.getparent().remove(parent)  # no empty elements


def render_cii(doc: Document, profile: str) -> bytes:
    """The CII XML of `doc` for `profile` (a key of `PROFILES`), UTF-8 with an XML declaration.
    `memo` is private: never written."""
    spec = PROFILES.get(profile)
    if spec is None:
        raise ValueError(f"no CII profile {profile!r}; known: {', '.join(PROFILES)}")
    if spec.omitted and doc.invoice.rounding_amount is not None:
        # BASIC has no rounding amount (BT-114), and BR-CO-16 fails without it (FK-FACTURX-BASIC)
        raise ValueError(f"CII profile {profile!r} cannot carry a rounding amount (BT-114)")
    limit = spec.max_preceding_invoices
    if limit is not None and len(doc.invoice.preceding_invoices) > limit:
        # the compliance check refuses this before issuing (FK-CII-BG3); never drop a reference
        raise ValueError(
            f"CII profile {profile!r} carries at most {limit} preceding invoice reference (BG-3)"
        )
    root = etree.Element(f"{{{NS_RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    _context(root, spec, doc)
    _exchanged_document(root, doc)
    transaction = etree.SubElement(root, f"{{{NS_RSM}}}SupplyChainTradeTransaction")
    for i, (li, lt) in enumerate(zip(doc.invoice.line_items, doc.totals.lines, strict=True), start=1):
        line(transaction, i, li, lt)
    _agreement(transaction, doc)
    _delivery(transaction, doc)
    _settlement(transaction, doc)
    if spec.omitted:
        _omit(transaction, spec.omitted)
    etree.indent(root, space="  ")
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False) + b"\n"
