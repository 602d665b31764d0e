"""Beyond the Schematron: what a careful issuer also checks (`FK-*` ids).

Identifier check digits (VAT ids, IBAN, electronic addresses) over python-stdnum, the
VAT-id prefix against the party's country, due date against issue date. These never stand
in for an official rule; the differential test ignores them.
"""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule, RuleSet, declares_line_totals, screened
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import (
    endpoint_valid,
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
    Rule("FK-GR-UNSUPPORTED", Severity.FATAL, "Greek sellers need an AADE invoice number and a MARK reference (GR-R-001, GR-R-004), which Faktura cannot write yet.", _greek, "BT-1"),
)  # fmt: skip

RULES = screened(RULES, {
    "FK-IBAN": payment_irregular,
    "FK-BIC": payment_irregular,
    **{rid: parties_irregular for rid in ("FK-VAT-COUNTRY", "FK-ENDPOINT", "FK-GR-UNSUPPORTED")},
    "FK-DUE-DATE": document_irregular,
    "FK-PAYMENT-DATE": document_irregular,
    "FK-GROSS-PRICE": details_irregular,
})  # fmt: skip

RULE_SET = RuleSet(name="faktura", version="1", source="faktura", rules=RULES)
