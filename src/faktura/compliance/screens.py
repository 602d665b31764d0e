"""Screens: one fast pass over the request that rules out a whole group of rules.

Most rules cannot fire on most requests, and proving that rule by rule costs more than the
rest of the check: each rule walks its part of the request again, builds pointers, tuples and
generators. A screen walks the request once for a whole group, with plain attribute reads and
exact set lookups, and answers "might one of these rules fire?". It may answer yes too often
(the group then runs and judges exactly as without the screen); it must never answer no when
a rule of the group would fire. `tests/test_screens.py` holds every screen to that on thousands
of generated valid and broken invoices by comparing findings with and without screens.

A screen is stricter than its rules on purpose: it compares codes as written, so a code with
stray whitespace, which the Schematron normalises and accepts, merely opens the screen.

The screens here cover groups that span rule modules. A screen over one module's own data
sits beside its rules: the VAT families' (`en16931.vat`), the identifier schemes'
(`peppol.common`), each national block's (`peppol.national.*`).
"""

from __future__ import annotations

from decimal import Decimal

from faktura.compliance.engine import Context
from faktura.compliance.identifiers import endpoint_valid, iban_valid
from faktura.domain import codelists as cl
from faktura.domain.invoice import BIC, AllowanceCharge
from faktura.domain.totals import ZERO_TAX_CATEGORIES

#: the screens hold for every implemented Peppol version: a code passes a screen only when every
#: version's list has it (a code one version dropped opens the screen, and the rules decide)
#: type codes listed by both EN 16931 (BR-CL-01) and Peppol (P0100/P0101), minus those only
#: German (or Slovak) pairs may use (P0112: 326, 384, and 389 from 3.0.22)
_INVOICE_TYPES = (
    cl.INVOICE_TYPE_CODES & cl.PEPPOL_INVOICE_TYPE_CODES & cl.PEPPOL_INVOICE_TYPE_CODES_3_0_21
) - {"326", "384", "389"}
_CREDIT_TYPES = (
    cl.CREDIT_NOTE_TYPE_CODES & cl.PEPPOL_CREDIT_NOTE_TYPE_CODES & cl.PEPPOL_CREDIT_NOTE_TYPE_CODES_3_0_21
)
_CURRENCIES = cl.CURRENCY_CODES & cl.PEPPOL_CURRENCY_CODES & cl.PEPPOL_CURRENCY_CODES_3_0_21
_ENDPOINT_SCHEMES = cl.EAS_SCHEMES & cl.PEPPOL_EAS_SCHEMES & cl.PEPPOL_EAS_SCHEMES_3_0_21
_ALLOWANCE_REASONS = (
    cl.ALLOWANCE_REASON_CODES & cl.PEPPOL_ALLOWANCE_REASON_CODES & cl.PEPPOL_ALLOWANCE_REASON_CODES_3_0_21
)
_CHARGE_REASONS = (
    cl.CHARGE_REASON_CODES & cl.PEPPOL_CHARGE_REASON_CODES & cl.PEPPOL_CHARGE_REASON_CODES_3_0_21
)
_PARTY_SCHEMES = cl.ICD_SCHEMES | {"SEPA"}
_MIME_CODES = cl.MIME_CODES & cl.PEPPOL_MIME_CODES & cl.PEPPOL_MIME_CODES_3_0_21
_LOCATION_SCHEMES = cl.ICD_SCHEMES | {None}


def codes_off_list(ctx: Context) -> bool:
    """The code-list rules on values every invoice has (BR-CL-01/03/04/10/11/14/16..20/23/25,
    PEPPOL-EN16931-CL002/003/007/008, P0100/P0101/P0112): is any code not exactly as listed?"""
    inv = ctx.invoice
    if ctx.type_code not in (_CREDIT_TYPES if ctx.credit_note else _INVOICE_TYPES):
        return True
    if ctx.currency not in _CURRENCIES or (
        inv.tax_currency is not None and inv.tax_currency not in _CURRENCIES
    ):
        return True
    countries = cl.COUNTRY_CODES
    for party, buyer in ((ctx.seller, False), (ctx.buyer, True), (inv.payee, False)):
        if party is None:
            continue
        schemes = cl.ICD_SCHEMES if buyer else _PARTY_SCHEMES
        for ident in party.identifiers:
            if ident.scheme is not None and ident.scheme not in schemes:
                return True
        lid = party.legal_id
        if lid is not None and lid.scheme is not None and lid.scheme not in cl.ICD_SCHEMES:
            return True
        ep = getattr(party, "endpoint", None)
        if ep is not None and ep.scheme is not None and ep.scheme not in _ENDPOINT_SCHEMES:
            return True
    if ctx.seller is not None and ctx.seller.address.country not in countries:
        return True
    if ctx.buyer is not None and ctx.buyer.address.country not in countries:
        return True
    d = inv.delivery
    if d is not None and d.address is not None and d.address.country not in countries:
        return True
    for pm in inv.payment_means:
        if pm.code not in cl.PAYMENT_MEANS_CODES:
            return True
    categories = cl.VAT_CATEGORY_CODES
    for ac in inv.allowances:
        if (ac.tax_category is not None and ac.tax_category not in categories) or (
            ac.reason_code is not None and ac.reason_code not in _ALLOWANCE_REASONS
        ):
            return True
    for ac in inv.charges:
        if (ac.tax_category is not None and ac.tax_category not in categories) or (
            ac.reason_code is not None and ac.reason_code not in _CHARGE_REASONS
        ):
            return True
    units = cl.UNIT_CODES
    for li in inv.line_items:
        # the breakdown's categories are the lines', allowances' and charges' (S when absent)
        if li.unit_code not in units or li.tax_category not in categories:
            return True
        for ac in li.allowances:
            if ac.reason_code is not None and ac.reason_code not in _ALLOWANCE_REASONS:
                return True
        for ac in li.charges:
            if ac.reason_code is not None and ac.reason_code not in _CHARGE_REASONS:
                return True
    return False


def _blank(text: str | None) -> bool:
    """Not written: absent, empty or whitespace only (the negation of `predicates.present`)."""
    return not text or text.isspace()


def parties_irregular(ctx: Context) -> bool:
    """The party rules (BR-06/07, BR-62/63, BR-CO-09, BR-CO-26, PEPPOL-EN16931-R010/R020,
    UBL-SR-16, FK-VAT-COUNTRY, FK-ENDPOINT, FK-GR-UNSUPPORTED): does a seller or buyer lack a
    name, a VAT id or an electronic address, or is one of them not plainly right? (The VAT id's
    check digits are FK-VAT-ID's own business.)"""
    inv = ctx.invoice
    seller, buyer = ctx.seller, ctx.buyer
    if seller is None or buyer is None or inv.tax_representative is not None:
        return True
    if len(buyer.identifiers) > 1:
        return True
    for party in (seller, buyer):
        if _blank(party.name):
            return True
        ep = party.endpoint
        if ep is None or not ep.scheme or _blank(ep.value) or endpoint_valid(ep.scheme, ep.value) is False:
            return True
        country = party.address.country
        if country in ("GR", "EL", "XI") or country not in cl.COUNTRY_CODES:
            return True
        vat = party.vat_id
        if vat is not None and vat[:2] != country:
            return True
    if not _blank(seller.vat_id):
        return False
    # BR-CO-26: without a VAT id, a legal registration id or a (non-SEPA) identifier will do
    lid = seller.legal_id
    return (lid is None or _blank(lid.value)) and not any(
        not _blank(i.value) and i.scheme != "SEPA" for i in seller.identifiers
    )


def allowances_irregular(ctx: Context) -> bool:
    """The allowance and charge rules (BR-32/33/37/38/42/44, BR-CO-21..24, BR-DEC-01/02/05/06/
    24/25/27/28, PEPPOL-EN16931-R040/R042): is any of them without a reason or (at document
    level) a VAT category, given with more than two decimals, or with a percentage and an
    amount or base of its own that the percentage may contradict?"""
    inv = ctx.invoice
    if ctx.totals is None:
        return True
    for ac in inv.allowances:
        if _blank(ac.tax_category) or _ac_irregular(ac):
            return True
    for ac in inv.charges:
        if _blank(ac.tax_category) or _ac_irregular(ac):
            return True
    for li in inv.line_items:
        if li.allowances or li.charges:
            for ac in (*li.allowances, *li.charges):
                if _ac_irregular(ac):
                    return True
    return False


def _ac_irregular(ac: AllowanceCharge) -> bool:
    if _blank(ac.reason) and _blank(ac.reason_code):
        return True
    amount, base = ac.amount, ac.base_amount
    if ac.percentage is None:
        if base is not None:  # R042: a base needs its percentage
            return True
    elif amount is not None:  # R040: the amount may disagree with base × percentage
        return True  # (without one, it is that product rounded: within R040's 0.02)
    return (amount is not None and amount.as_tuple().exponent < -2) or (  # type: ignore[operator]
        base is not None and base.as_tuple().exponent < -2  # type: ignore[operator]
    )


_CREDIT_TRANSFER = ("30", "58")
_DIRECT_DEBIT = ("49", "59")


def payment_irregular(ctx: Context) -> bool:
    """The payment means rules (BR-50, BR-61, PEPPOL-EN16931-R061, UBL-SR-29, FK-IBAN, FK-BIC):
    a credit transfer without a valid IBAN, a direct debit without a mandate reference, a BIC
    of the wrong shape, a creditor id or SEPA identifier that could occur twice?"""
    creditor = 0
    for pm in ctx.invoice.payment_means:
        code = pm.code
        if code != code.strip():
            return True
        acc = pm.account
        if code in _CREDIT_TRANSFER and (acc is None or _blank(acc.iban)):
            return True
        if code in _DIRECT_DEBIT and (pm.mandate is None or _blank(pm.mandate.reference)):
            return True
        if acc is not None and (
            not iban_valid(acc.iban) or (acc.bic is not None and not BIC.match(acc.bic.strip()))
        ):
            return True
        mandate = pm.mandate
        if mandate is not None:
            if mandate.debited_account is not None and not iban_valid(mandate.debited_account):
                return True
            if mandate.creditor_id:
                creditor = 1
    # UBL-SR-29: at most one bank assigned creditor id, in a mandate or as a "SEPA" identifier
    sepa = 0
    for party in (ctx.seller, ctx.buyer, ctx.invoice.payee):
        if party is not None:
            for ident in party.identifiers:
                if ident.scheme is not None and ident.scheme not in cl.ICD_SCHEMES:
                    sepa += 1  # "SEPA" in any case, or a scheme that is not a scheme at all
    return creditor + sepa > 1


_HALF = Decimal("0.5")


def tax_amounts_irregular(ctx: Context) -> bool:
    """BR-CO-17 and the families' -09 rules: the breakdown's tax amounts are computed as
    taxable × rate rounded (and 0 for the zero-tax categories), well within the rules' ±1,
    except where XPath's rounding or a category disagrees with that: no rate for a rated
    category, a rate that rounds to 0 without being 0, a zero-tax category with a rate."""
    t = ctx.totals
    if t is None:
        return True
    for b in t.breakdown:
        rate = b.rate
        if rate is None:
            if b.category != "O" or b.tax_amount != 0:
                return True
        elif rate == 0:
            if b.tax_amount != 0:
                return True
        elif rate < _HALF or b.category in ZERO_TAX_CATEGORIES:
            return True
    return False


def breakdown_irregular(ctx: Context) -> bool:
    """The families' -01 and -08 rules: the breakdown is grouped from the lines, allowances and
    charges by category and rate, so each used category has its breakdown and its taxable
    amount is their sum, except for an allowance or charge without a category of its own
    (counted as S but written without one), an invoice without lines, or a zero-tax category
    with two rates (two breakdowns where exactly one is allowed)."""
    inv, t = ctx.invoice, ctx.totals
    if t is None or not inv.line_items:
        return True
    for ac in inv.allowances:
        if _blank(ac.tax_category):
            return True
    for ac in inv.charges:
        if _blank(ac.tax_category):
            return True
    single: set[str] = set()
    for b in t.breakdown:
        if b.category in ZERO_TAX_CATEGORIES:
            if b.category in single:
                return True
            single.add(b.category)
    return False


def document_irregular(ctx: Context) -> bool:
    """The rules every invoice meets in the ordinary way (BR-16, BR-25, BR-27, BR-48,
    BR-CO-18, PEPPOL-EN16931-R003/R053/R054, FK-PAYMENT-DATE, FK-DUE-DATE): lines with item
    names and non-negative prices, a breakdown with rates, a buyer or order reference, a due
    date (not before the issue date) or payment terms, no VAT accounting currency."""
    inv, t = ctx.invoice, ctx.totals
    if t is None or not inv.line_items or not t.breakdown or inv.tax_currency is not None:
        return True
    if _blank(inv.buyer_reference) and _blank(inv.order_reference) and _blank(inv.sales_order_reference):
        return True
    if inv.due_date is None:
        if not inv.payment_terms:
            return True
    elif inv.issue_date is not None and inv.due_date < inv.issue_date:  # FK-DUE-DATE
        return True
    for li in inv.line_items:
        if _blank(li.item.name):
            return True
    for lt in t.lines:
        if lt.net_price < 0:
            return True
    return any(b.rate is None and b.category != "O" for b in t.breakdown)


#: PEPPOL-EN16931-P0104..P0111: the VATEX codes tied to one category
_VATEX_CATEGORY = {
    "VATEX-EU-G": "G", "VATEX-EU-O": "O", "VATEX-EU-IC": "K", "VATEX-EU-AE": "AE",
    "VATEX-EU-D": "E", "VATEX-EU-F": "E", "VATEX-EU-I": "E", "VATEX-EU-J": "E",
}  # fmt: skip


def exemption_codes_irregular(ctx: Context) -> bool:
    """BR-CL-22 and PEPPOL-EN16931-P0104..P0111: an exemption reason code of the breakdown
    that is not listed as written, or a VATEX code on a category it does not belong to."""
    if ctx.totals is None:
        return True
    for b in ctx.totals.breakdown:
        code = b.exemption_reason_code
        if code is not None:
            if code not in cl.VAT_EXEMPTION_REASON_CODES:
                return True
            expected = _VATEX_CATEGORY.get(code.upper())
            if expected is not None and b.category != expected:
                return True
    return False


def period_irregular(ctx: Context) -> bool:
    """BR-29, BR-CL-06, PEPPOL-EN16931-R110/R111/CL006: an invoicing period that ends before
    it starts, has an unlisted description code, or does not contain a line's period."""
    p = ctx.invoice.invoicing_period
    if p is None:
        return False
    if p.description_code is not None and p.description_code not in cl.PERIOD_DESCRIPTION_CODES:
        return True
    start, end = p.start_date, p.end_date
    if start and end and end < start:
        return True
    for li in ctx.invoice.line_items:
        lp = li.period
        if lp is not None and (
            (start and lp.start_date and lp.start_date < start) or (end and lp.end_date and lp.end_date > end)
        ):
            return True
    return False


def details_irregular(ctx: Context) -> bool:
    """The rules on optional details of lines and items (BR-28, BR-30, BR-54, BR-64,
    BR-CL-07/08/13/15/21, PEPPOL-EN16931-R002/R121, FK-GROSS-PRICE): a gross price below the
    net one or below zero, a line period that ends before it starts, an item attribute without
    name or value, a code or scheme not listed as written, a base quantity not above zero, a
    note that may carry a subject code, or a second note; a supporting document without its
    reference, or a file without a listed MIME code or a file name; a delivery location
    scheme not listed (BR-CL-26)."""
    inv = ctx.invoice
    notes = inv.notes
    if notes and (len(notes) > 1 or "#" in notes[0]):
        return True
    for doc in inv.attachments:  # BR-52, BR-CL-24, UBL-DT-06/07, PEPPOL-EN16931-CL001
        if _blank(doc.reference) or (
            doc.content and (doc.mime_code not in _MIME_CODES or doc.filename is None)
        ):
            return True
    obj = inv.object_id
    if obj is not None and obj.scheme is not None and obj.scheme not in cl.OBJECT_ID_SCHEMES:
        return True
    d = inv.delivery  # BR-CL-26
    if d is not None and d.location_id is not None and d.location_id.scheme not in _LOCATION_SCHEMES:
        return True
    for li in inv.line_items:
        gross = li.gross_unit_price
        if gross is not None and (gross < 0 or gross < li.unit_price):
            return True
        if li.base_quantity is not None and li.base_quantity <= 0:
            return True
        p = li.period
        if p is not None and p.start_date and p.end_date and p.end_date < p.start_date:
            return True
        obj = li.object_id
        if obj is not None and obj.scheme is not None and obj.scheme not in cl.OBJECT_ID_SCHEMES:
            return True
        item = li.item
        if item.origin_country is not None and item.origin_country not in cl.COUNTRY_CODES:
            return True
        std = item.standard_id
        if std is not None and (std.scheme is None or std.scheme not in cl.ICD_SCHEMES):
            return True
        for c in item.classifications:
            if c.list_id not in cl.ITEM_CLASSIFICATION_SCHEMES:
                return True
        for a in item.attributes:
            if _blank(a.name) or _blank(a.value):
                return True
    return False
