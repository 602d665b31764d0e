"""Beyond the Schematron: what a careful issuer also checks (`FK-*` ids).

Identifier check digits (VAT ids, IBAN, electronic addresses, GTINs) over python-stdnum, the
VAT-id prefix against the party's country, dates against the issue date, a VAT category that
does not fit where seller and buyer are registered, and declared totals that the official
rules would let through but that differ from the totals Faktura writes. These never stand
in for an official rule; the differential test ignores them.
"""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.en16931.co import (
    declared_mismatch,
    on_client_document,
    sub_total_consistent,
    tax_total_consistent,
    total_on_client_document,
)
from faktura.compliance.en16931.vat import uses_category
from faktura.compliance.engine import (
    TOTAL_PROBLEM,
    Context,
    Rule,
    RuleSet,
    declares_line_totals,
    screened,
    sends,
)
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import (
    GTIN_SCHEME,
    endpoint_valid,
    gtin_valid,
    iban_valid,
    looks_like_iban,
    vat_country,
    vat_id_valid,
)
from faktura.compliance.peppol.national.gr import greek_sender
from faktura.compliance.predicates import present
from faktura.compliance.screens import (
    details_irregular,
    document_irregular,
    parties_irregular,
    payment_irregular,
)
from faktura.domain.document import PEPPOL_BIS_3
from faktura.domain.invoice import BIC, Party, TaxRepresentative

#: the member states of the European Union (ISO 3166-1; Greece's VAT prefix EL maps to GR)
EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


def _vat_parties(ctx: Context) -> list[tuple[Party | TaxRepresentative | None, str]]:
    parties: list[tuple[Party | TaxRepresentative | None, str]] = [
        (ctx.seller, ctx.seller_ptr),
        (ctx.buyer, ctx.buyer_ptr),
    ]
    if ctx.invoice.tax_representative is not None:
        parties.append((ctx.invoice.tax_representative, ctx.at("tax_representative")))
    return parties


def _vat_ids(ctx: Context) -> list[str]:
    return [
        f"{ptr}/vat_id"
        for party, ptr in _vat_parties(ctx)
        if party is not None
        and party.vat_id
        and present(party.vat_id)
        and vat_id_valid(party.vat_id) is False
    ]


def _vat_country(ctx: Context) -> Iterator[str]:
    for party, ptr in _vat_parties(ctx):
        if (
            party is not None
            and party.vat_id
            and present(party.vat_id)
            and vat_country(party.vat_id) != party.address.country
        ):
            yield f"{ptr}/vat_id"


def _ibans(ctx: Context) -> Iterator[str]:
    for i, pm in enumerate(ctx.invoice.payment_means):
        checked = pm.account is not None and (pm.code == "58" or looks_like_iban(pm.account.iban))
        if checked and pm.account is not None and not iban_valid(pm.account.iban):
            yield ctx.at("payment_means", i, "account", "iban")
        if (
            pm.mandate is not None
            and pm.mandate.debited_account
            and looks_like_iban(pm.mandate.debited_account)
        ) and not iban_valid(pm.mandate.debited_account):
            yield ctx.at("payment_means", i, "mandate", "debited_account")


def _bics(ctx: Context) -> Iterator[str]:
    """A provider id (BT-86) next to an IBAN should be a BIC (8 or 11 characters)."""
    for i, pm in enumerate(ctx.invoice.payment_means):
        acc = pm.account
        if acc is not None and acc.bic and looks_like_iban(acc.iban) and not BIC.match(acc.bic.strip()):
            yield ctx.at("payment_means", i, "account", "bic")


def _endpoints(ctx: Context) -> Iterator[str]:
    for party, ptr in ((ctx.seller, ctx.seller_ptr), (ctx.buyer, ctx.buyer_ptr)):
        ep = party.endpoint if party else None
        if (
            ep is not None
            and ep.scheme
            and present(ep.value)
            and endpoint_valid(ep.scheme, ep.value) is False
        ):
            yield f"{ptr}/endpoint/value"


def _due_date(ctx: Context) -> Iterator[str]:
    inv = ctx.invoice
    if inv.issue_date and inv.due_date and inv.due_date < inv.issue_date:
        yield ctx.at("due_date")


def _payment_date(ctx: Context) -> Iterator[str]:
    """EN 16931 states BR-CO-25 (a positive amount due needs a due date or payment terms), but
    the 1.3.16 UBL Schematron does not enforce it; we warn."""
    inv = ctx.invoice
    if (
        ctx.totals is not None
        and ctx.totals.payable_amount > 0
        and inv.due_date is None
        and not inv.payment_terms
    ):
        yield ctx.at("due_date")


def _gross_price(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        if (
            li.gross_unit_price is not None
            and li.gross_unit_price >= 0
            and li.gross_unit_price < li.unit_price
        ):
            yield ctx.at("line_items", i, "gross_unit_price")


def _line_totals(ctx: Context) -> Iterator[str]:
    """A declared line total that PEPPOL-EN16931-R120's slack lets through but that differs from
    the amount Faktura computes and writes."""
    if ctx.totals is None:
        return
    for i, (li, lt) in enumerate(zip(ctx.invoice.line_items, ctx.totals.lines, strict=True)):
        if li.total_amount is not None and li.total_amount != lt.net_amount:
            yield ctx.at("line_items", i, "total_amount")


def _gtins(ctx: Context) -> Iterator[str]:
    """An item standard identifier (BT-157) in the GTIN scheme (ICD 0160) whose GS1 check
    digit is wrong: no official rule checks it, and a receiver matching on it finds nothing."""
    for i, li in enumerate(ctx.invoice.line_items):
        std = li.item.standard_id
        if std is not None and std.scheme == GTIN_SCHEME and not gtin_valid(std.value):
            yield ctx.at("line_items", i, "item", "standard_id", "value")


def _sends_gtin(ctx: Context) -> bool:
    return any(
        li.item.standard_id is not None and li.item.standard_id.scheme == GTIN_SCHEME
        for li in ctx.invoice.line_items
    )


def _preceding_dates(ctx: Context) -> Iterator[str]:
    """A preceding invoice (BG-3) cannot have been issued after the invoice that refers to it."""
    issued = ctx.invoice.issue_date
    for i, ref in enumerate(ctx.invoice.preceding_invoices):
        if issued is not None and ref.issue_date is not None and ref.issue_date > issued:
            yield ctx.at("preceding_invoices", i, "issue_date")


def _sends_preceding(ctx: Context) -> bool:
    return bool(ctx.invoice.preceding_invoices)


def _party_country(party: Party | None) -> str | None:
    """Where a party is registered for VAT: its VAT id's country, else its address's."""
    if party is None:
        return None
    if party.vat_id and present(party.vat_id):
        return vat_country(party.vat_id)
    return party.address.country


def _category_pointers(ctx: Context, category: str) -> Iterator[str]:
    for i, (c, _) in enumerate(ctx.line_categories):
        if c == category:
            yield ctx.at("line_items", i, "tax_category")
    for ac in ctx.doc_acs:
        if ac.category == category:
            yield ctx.at(ac.pointer_name, ac.position, "tax_category")


def _domestic_ic_supply(ctx: Context) -> Iterator[str]:
    """An intra-community supply (K) is exempt only when the goods leave for another member
    state and the buyer is registered there (Directive 2006/112/EC art. 138). A buyer
    registered in the seller's own country, with the goods delivered there (or no other
    deliver-to country given), makes it a domestic supply."""
    seller = _party_country(ctx.seller)
    if seller is None or _party_country(ctx.buyer) != seller:
        return
    d = ctx.invoice.delivery
    if d is not None and d.address is not None and d.address.country != seller:
        return
    yield from _category_pointers(ctx, "K")


def _domestic_vat_across_border(ctx: Context) -> Iterator[str]:
    """A seller in one member state charging its standard VAT (S) to a business registered
    for VAT in another: a supply of goods to it is usually an intra-community supply (K), of
    services a reverse-charge supply (AE, art. 196). Sometimes S is right (a supply within
    the seller's country, a registration there), hence a warning."""
    buyer = ctx.buyer
    if buyer is None or not buyer.vat_id or not present(buyer.vat_id):
        return
    seller, customer = _party_country(ctx.seller), vat_country(buyer.vat_id)
    if seller in EU_MEMBER_STATES and customer in EU_MEMBER_STATES and seller != customer:
        yield from _category_pointers(ctx, "S")


# FK-SUB-TOTAL, FK-TAX-TOTAL, FK-TOTAL-AMOUNT: a declared total that is right on the client's
# own figures (its declared line nets, VAT within the official ±1 per breakdown), so that the
# official BR-CO-10/14/15 hold on the client's document, but that differs from Faktura's
# arithmetic, which is what the issued document states. Faktura refuses rather than issue other
# totals than those declared; BR-CO-10/14/15 fire only where the client's document breaks them.


def _greek(ctx: Context) -> Iterator[str]:
    if ctx.profile == PEPPOL_BIS_3 and ctx.seller is not None and greek_sender(ctx):
        yield f"{ctx.seller_ptr}/address/country"


RULES: tuple[Rule, ...] = (
    Rule("FK-VAT-ID", Severity.WARNING, "The VAT identifier's check digits or format are wrong for its country.", _vat_ids, "BT-31"),
    Rule("FK-VAT-COUNTRY", Severity.WARNING, "The VAT identifier's country prefix differs from the party's country.", _vat_country, "BT-31"),
    Rule("FK-IBAN", Severity.WARNING, "The IBAN's check digits or format are wrong.", _ibans, "BT-84"),
    Rule("FK-BIC", Severity.WARNING, "The payment service provider identifier (BT-86) of an IBAN account should be a BIC.", _bics, "BT-86"),
    Rule("FK-ENDPOINT", Severity.WARNING, "The electronic address does not fit its scheme (EAS).", _endpoints, "BT-34"),
    Rule("FK-DUE-DATE", Severity.FATAL, "The due date must not be before the issue date.", _due_date, "BT-9"),
    Rule("FK-PAYMENT-DATE", Severity.WARNING, "Give a due date or payment terms: the amount due is positive.", _payment_date, "BT-9", "MISSING_RECOMMENDED_FIELD"),
    Rule("FK-GROSS-PRICE", Severity.WARNING, "The gross price (BT-148) is below the net price (BT-146): the price discount would be negative.", _gross_price, "BT-148"),
    Rule("FK-LINE-TOTAL", Severity.WARNING, "The declared line net amount differs from the computed one; the computed amount is written.", _line_totals, "BT-131", "TOTAL_MISMATCH", on_input=True, when=declares_line_totals),
    Rule("FK-SUB-TOTAL", Severity.FATAL, "The declared sum of line net amounts (BT-106) adds up on the declared lines but differs from the computed one.", declared_mismatch("sub_total", "line_extension_amount", on_client_document(sub_total_consistent)), "BT-106", TOTAL_PROBLEM, on_input=True),
    Rule("FK-TAX-TOTAL", Severity.FATAL, "The declared VAT total (BT-110) is within the official rounding tolerance but differs from the computed one.", declared_mismatch("total_tax_amount", "tax_amount", on_client_document(tax_total_consistent)), "BT-110", TOTAL_PROBLEM, on_input=True),
    Rule("FK-TOTAL-AMOUNT", Severity.FATAL, "The declared total with VAT (BT-112) adds up on the declared figures but differs from the computed one.", declared_mismatch("total_amount", "tax_inclusive_amount", total_on_client_document), "BT-112", TOTAL_PROBLEM, on_input=True),
    Rule("FK-GTIN", Severity.WARNING, "The GTIN (item standard identifier, scheme 0160) has a wrong GS1 check digit.", _gtins, "BT-157", when=_sends_gtin),
    Rule("FK-PRECEDING-DATE", Severity.FATAL, "A preceding invoice (BG-3) cannot be dated after the issue date (BT-2).", _preceding_dates, "BT-26", when=_sends_preceding),
    Rule("FK-K-DOMESTIC", Severity.FATAL, "An intra-community supply (K) needs a buyer registered in another member state than the seller; this buyer is in the seller's country.", _domestic_ic_supply, "BT-151", when=uses_category("K")),
    Rule("FK-VAT-CROSS-BORDER", Severity.WARNING, "The buyer is registered for VAT in another EU member state, yet the seller's standard VAT (S) is charged: consider reverse charge (AE) for services or an intra-community supply (K) for goods.", _domestic_vat_across_border, "BT-151", when=uses_category("S")),
    Rule("FK-GR-UNSUPPORTED", Severity.FATAL, "Greek sellers need an AADE invoice number and a MARK reference (GR-R-001, GR-R-004), which Faktura cannot write yet.", _greek, "BT-1"),
)  # fmt: skip

RULES = screened(RULES, {
    "FK-SUB-TOTAL": sends("sub_total"),
    "FK-TAX-TOTAL": sends("total_tax_amount"),
    "FK-TOTAL-AMOUNT": sends("total_amount"),
    "FK-IBAN": payment_irregular,
    "FK-BIC": payment_irregular,
    **{rid: parties_irregular for rid in ("FK-VAT-COUNTRY", "FK-ENDPOINT", "FK-GR-UNSUPPORTED")},
    "FK-DUE-DATE": document_irregular,
    "FK-PAYMENT-DATE": document_irregular,
    "FK-GROSS-PRICE": details_irregular,
})  # fmt: skip

RULE_SET = RuleSet(name="faktura", version="1", source="faktura", rules=RULES)
