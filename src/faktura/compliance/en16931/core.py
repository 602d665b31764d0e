"""EN 16931 core business rules BR-01 … BR-65 that can fail on what Faktura renders.

Most core rules are cardinalities that the input model or the renderer satisfy by
construction (BR-01 … BR-05, BR-12 … BR-15, BR-21 … BR-26 …); they are listed in
`NOT_APPLICABLE` with that reason so that `docs/compliance.md` accounts for every id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.en16931.cl import tax_currency_total_written, tax_currency_written
from faktura.compliance.engine import MISSING_PROBLEM, Check, Context, Rule, required, rule, screened, sends
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import present
from faktura.compliance.screens import (
    allowances_irregular,
    details_irregular,
    document_irregular,
    parties_irregular,
    payment_irregular,
    period_irregular,
)
from faktura.domain.invoice import AllowanceCharge

BY_CONSTRUCTION = "holds by construction: the model requires it or the renderer always writes it"

NOT_APPLICABLE: dict[str, str] = {
    "BR-01": BY_CONSTRUCTION + " (CustomizationID from the profile)",
    "BR-02": BY_CONSTRUCTION + " (the number is assigned at issue)",
    "BR-03": BY_CONSTRUCTION + " (issue date defaults to today)",
    "BR-04": BY_CONSTRUCTION + " (type code defaults to 380/381)",
    "BR-05": BY_CONSTRUCTION + " (currency defaults to the tenant's)",
    "BR-08": BY_CONSTRUCTION + " (`address` is required on every party)",
    "BR-09": BY_CONSTRUCTION + " (`address.country` is required)",
    "BR-10": BY_CONSTRUCTION + " (`address` is required on every party)",
    "BR-11": BY_CONSTRUCTION + " (`address.country` is required)",
    "BR-12": BY_CONSTRUCTION + " (totals are computed)",
    "BR-13": BY_CONSTRUCTION + " (totals are computed)",
    "BR-14": BY_CONSTRUCTION + " (totals are computed)",
    "BR-15": BY_CONSTRUCTION + " (totals are computed)",
    "BR-19": BY_CONSTRUCTION + " (`tax_representative.address` is required)",
    "BR-20": BY_CONSTRUCTION + " (`tax_representative.address.country` is required)",
    "BR-21": BY_CONSTRUCTION + " (line ids default to the position)",
    "BR-22": BY_CONSTRUCTION + " (`quantity` is required)",
    "BR-23": BY_CONSTRUCTION + " (`unit_code` defaults to C62)",
    "BR-24": BY_CONSTRUCTION + " (line net amounts are computed)",
    "BR-26": BY_CONSTRUCTION + " (`unit_price` is required)",
    "BR-31": BY_CONSTRUCTION + " (allowance amounts are resolved)",
    "BR-36": BY_CONSTRUCTION + " (charge amounts are resolved)",
    "BR-41": BY_CONSTRUCTION + " (allowance amounts are resolved)",
    "BR-43": BY_CONSTRUCTION + " (charge amounts are resolved)",
    "BR-45": BY_CONSTRUCTION + " (the VAT breakdown is computed)",
    "BR-46": BY_CONSTRUCTION + " (the VAT breakdown is computed)",
    "BR-47": BY_CONSTRUCTION + " (the VAT breakdown is computed)",
    "BR-49": BY_CONSTRUCTION + " (`payment_means.code` defaults to 58)",
    "BR-51": "holds by construction: the model takes only the last 4 to 6 digits of a card number (BT-87), never a full PAN (warning)",
    "BR-55": BY_CONSTRUCTION + " (`preceding_invoices[].number` is required)",
    "BR-57": BY_CONSTRUCTION + " (`delivery.address.country` is required)",
    "BR-65": BY_CONSTRUCTION + " (`classifications[].list_id` is required)",
}


def _blank_name(ptr: str, name: str | None) -> str | None:
    return None if present(name) else ptr


BR_06 = required(
    "BR-06",
    "An Invoice shall contain the Seller name (BT-27).",
    lambda c: _blank_name(f"{c.seller_ptr}/legal_name", c.seller.name) if c.seller else None,
    "BT-27",
)
BR_07 = required(
    "BR-07",
    "An Invoice shall contain the Buyer name (BT-44).",
    lambda c: (
        f"{c.base}/contact"
        if c.buyer is None and c.invoice.contact is None
        else (_blank_name(f"{c.buyer_ptr}/name", c.buyer.name) if c.buyer else None)
    ),
    "BT-44",
)


def _representative_blank(field: str) -> Callable[[Context], str | None]:
    """Pointer to a blank BG-11 field, when the invoice has a tax representative."""

    def pointer_of(c: Context) -> str | None:
        rep = c.invoice.tax_representative
        return (
            c.at("tax_representative", field)
            if rep is not None and not present(getattr(rep, field))
            else None
        )

    return pointer_of


BR_18 = required(
    "BR-18",
    "The Seller tax representative name (BT-62) shall be provided in the Invoice, if the Seller (BG-4) has a Seller tax representative party (BG-11).",
    _representative_blank("name"),
    "BT-62",
)
BR_56 = required(
    "BR-56",
    "Each Seller tax representative party (BG-11) shall have a Seller tax representative VAT identifier (BT-63).",
    _representative_blank("vat_id"),
    "BT-63",
)
BR_16 = required(
    "BR-16",
    "An Invoice shall have at least one Invoice line (BG-25).",
    lambda c: None if c.invoice.line_items else c.at("line_items"),
    "BG-25",
)


@rule(
    "BR-52",
    "Each Additional supporting document (BG-24) shall contain a Supporting document reference (BT-122).",
    bt="BT-122",
    problem_type=MISSING_PROBLEM,
)
def br_52(ctx: Context) -> Iterator[str]:
    for i, doc in enumerate(ctx.invoice.attachments):
        if not present(doc.reference):
            yield ctx.at("attachments", i, "reference")


@rule(
    "BR-17", "The Payee name (BT-59) shall be provided if the Payee is different from the Seller.", bt="BT-59"
)
def br_17(ctx: Context) -> Iterator[str]:
    """The payee's name must be written and differ from the seller's trading name (BT-28),
    and none of its identifiers may be one of the seller's (UBL binding of BR-17)."""
    payee, seller = ctx.invoice.payee, ctx.seller
    if payee is None:
        return
    if not present(payee.name):
        yield ctx.at("payee", "name")
        return
    if seller is not None and present(seller.trading_name) and payee.name == seller.trading_name:
        yield ctx.at("payee", "name")
        return
    seller_ids = {i.value for i in seller.identifiers if present(i.value)} if seller else set()
    if ctx.invoice.payee is not None and seller is not None:
        payee_ids = [i.value for i in payee.identifiers if present(i.value)]
        creditor = _creditor_id(ctx)
        if creditor:
            payee_ids.append(creditor)
        if seller_ids & set(payee_ids):
            yield ctx.at("payee", "identifiers")


def _creditor_id(ctx: Context) -> str | None:
    for pm in ctx.invoice.payment_means:
        if pm.mandate is not None and pm.mandate.creditor_id:
            return pm.mandate.creditor_id if present(pm.mandate.creditor_id) else None
    return None


@rule("BR-27", "The Item net price (BT-146) shall NOT be negative.", bt="BT-146")
def br_27(ctx: Context) -> Iterator[str]:
    """BT-146 as written: after any inclusive-of-tax conversion."""
    if ctx.totals is None:
        return
    for i, lt in enumerate(ctx.totals.lines):
        if lt.net_price < 0:
            yield ctx.at("line_items", i, "unit_price")


@rule("BR-28", "The Item gross price (BT-148) shall NOT be negative.", bt="BT-148")
def br_28(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        if li.gross_unit_price is not None and li.gross_unit_price < 0:
            yield ctx.at("line_items", i, "gross_unit_price")


@rule(
    "BR-29",
    "If both Invoicing period start date (BT-73) and end date (BT-74) are given then the end date shall be later or equal to the start date.",
    bt="BT-74",
)
def br_29(ctx: Context) -> Iterator[str]:
    p = ctx.invoice.invoicing_period
    if p and p.start_date and p.end_date and p.end_date < p.start_date:
        yield ctx.at("invoicing_period", "end_date")


@rule(
    "BR-30",
    "If both Invoice line period start date (BT-134) and end date (BT-135) are given then the end date shall be later or equal to the start date.",
    bt="BT-135",
)
def br_30(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        p = li.period
        if p and p.start_date and p.end_date and p.end_date < p.start_date:
            yield ctx.at("line_items", i, "period", "end_date")


def _doc_category_missing(charge: bool) -> Rule:
    rid, kind, bt = ("BR-37", "charge", "BT-102") if charge else ("BR-32", "allowance", "BT-95")
    name = "charges" if charge else "allowances"

    def check(ctx: Context) -> Iterator[str]:
        for i, ac in enumerate(ctx.invoice.charges if charge else ctx.invoice.allowances):
            if not present(ac.tax_category):
                yield ctx.at(name, i, "tax_category")

    msg = f"Each Document level {kind} shall have a Document level {kind} VAT category code ({bt})."
    return _req_many(rid, msg, check, bt)


def _req_many(rid: str, message: str, check: Check, bt: str | None) -> Rule:
    return Rule(rid, Severity.FATAL, message, check, bt, MISSING_PROBLEM)


def _reason(ac: AllowanceCharge) -> bool:
    return present(ac.reason) or present(ac.reason_code)


def reason_rules(rid: str, co_id: str, *, charge: bool, line: bool) -> tuple[Rule, Rule]:
    """BR-33/38/42/44 and their BR-CO-21..24 twins: the same test under two ids."""
    kind = ("Invoice line " if line else "Document level ") + ("charge" if charge else "allowance")
    bt = {(False, False): "BT-97", (True, False): "BT-104", (False, True): "BT-139", (True, True): "BT-144"}[
        (charge, line)
    ]
    name = "charges" if charge else "allowances"

    def check(ctx: Context) -> Iterator[str]:
        if line:
            for i, li in enumerate(ctx.invoice.line_items):
                for j, ac in enumerate(li.charges if charge else li.allowances):
                    if not _reason(ac):
                        yield ctx.at("line_items", i, name, j, "reason")
        else:
            for j, ac in enumerate(ctx.invoice.charges if charge else ctx.invoice.allowances):
                if not _reason(ac):
                    yield ctx.at(name, j, "reason")

    msg = f"Each {kind} shall have a {kind} reason or a reason code."
    return _req_many(rid, msg, check, bt), _req_many(co_id, msg, check, bt)


BR_32 = _doc_category_missing(False)
BR_37 = _doc_category_missing(True)
BR_33, BR_CO_21 = reason_rules("BR-33", "BR-CO-21", charge=False, line=False)
BR_38, BR_CO_22 = reason_rules("BR-38", "BR-CO-22", charge=True, line=False)
BR_42, BR_CO_23 = reason_rules("BR-42", "BR-CO-23", charge=False, line=True)
BR_44, BR_CO_24 = reason_rules("BR-44", "BR-CO-24", charge=True, line=True)


@rule(
    "BR-48",
    "Each VAT breakdown (BG-23) shall have a VAT category rate (BT-119), except if the Invoice is not subject to VAT.",
    bt="BT-119",
)
def br_48(ctx: Context) -> Iterator[str]:
    if ctx.totals is None:
        return
    for b in ctx.totals.breakdown:
        if b.rate is None and b.category != "O":
            yield ctx.category_pointer(b.category, "tax_rate")


@rule(
    "BR-50",
    "A Payment account identifier (BT-84) shall be present if Credit transfer (BG-17) information is provided.",
    bt="BT-84",
)
def br_50(ctx: Context) -> Iterator[str]:
    for i, pm in enumerate(ctx.invoice.payment_means):
        if pm.code.strip() in ("30", "58") and pm.account is not None and not present(pm.account.iban):
            yield ctx.at("payment_means", i, "account", "iban")


@rule(
    "BR-61",
    "If the Payment means type code (BT-81) means SEPA credit transfer, Local credit transfer or Non-SEPA international credit transfer, the Payment account identifier (BT-84) shall be present.",
    bt="BT-84",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_61(ctx: Context) -> Iterator[str]:
    for i, pm in enumerate(ctx.invoice.payment_means):
        if pm.code.strip() in ("30", "58") and (pm.account is None or not present(pm.account.iban)):
            yield ctx.at("payment_means", i, "account")


BR_62 = required(
    "BR-62",
    "The Seller electronic address (BT-34) shall have a Scheme identifier.",
    lambda c: (
        f"{c.seller_ptr}/endpoint/scheme"
        if c.seller
        and c.seller.endpoint
        and present(c.seller.endpoint.value)
        and not c.seller.endpoint.scheme
        else None
    ),
    "BT-34-1",
)
BR_63 = required(
    "BR-63",
    "The Buyer electronic address (BT-49) shall have a Scheme identifier.",
    lambda c: (
        f"{c.buyer_ptr}/endpoint/scheme"
        if c.buyer and c.buyer.endpoint and present(c.buyer.endpoint.value) and not c.buyer.endpoint.scheme
        else None
    ),
    "BT-49-1",
)


@rule(
    "BR-64",
    "The Item standard identifier (BT-157) shall have a Scheme identifier.",
    bt="BT-157-1",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_64(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        std = li.item.standard_id
        if std is not None and present(std.value) and not std.scheme:
            yield ctx.at("line_items", i, "item", "standard_id", "scheme")


@rule(
    "BR-25",
    "Each Invoice line (BG-25) shall contain the Item name (BT-153).",
    bt="BT-153",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_25(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        if not present(li.item.name):
            yield ctx.at("line_items", i, "item", "name")


@rule(
    "BR-54",
    "Each Item attribute (BG-32) shall contain an Item attribute name (BT-160) and an Item attribute value (BT-161).",
    bt="BG-32",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_54(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        for j, attr in enumerate(li.item.attributes):
            if not (present(attr.name) and present(attr.value)):
                yield ctx.at("line_items", i, "item", "attributes", j)


def _br_53(ctx: Context) -> Iterator[str]:
    """BT-111 must be given in the VAT accounting currency when BT-6 is used."""
    if ctx.totals is not None and tax_currency_written(ctx) and not tax_currency_total_written(ctx):
        yield ctx.at("exchange_rate")


BR_53 = _req_many(
    "BR-53",
    "If the VAT accounting currency code (BT-6) is present, then the Invoice total VAT amount in accounting currency (BT-111) shall be provided.",
    _br_53,
    "BT-111",
)

RULES: tuple[Rule, ...] = (
    BR_06, BR_07, BR_16, br_17, BR_18, BR_56, br_25, br_27, br_28, br_29, br_30, BR_32, BR_33, BR_37, BR_38, BR_42, BR_44,
    br_48, br_50, br_52, BR_53, br_54, br_61, BR_62, BR_63, br_64,
    BR_CO_21, BR_CO_22, BR_CO_23, BR_CO_24,
)  # fmt: skip

RULES = screened(RULES, {
    "BR-17": sends("payee"),
    "BR-18": sends("tax_representative"),
    "BR-56": sends("tax_representative"),
    "BR-28": details_irregular,
    "BR-29": period_irregular,
    "BR-30": details_irregular,
    "BR-50": payment_irregular,
    "BR-61": payment_irregular,
    **{rid: parties_irregular for rid in ("BR-06", "BR-07", "BR-62", "BR-63")},
    **{rid: document_irregular for rid in ("BR-16", "BR-25", "BR-27", "BR-48")},
    **{
        rid: allowances_irregular
        for rid in ("BR-32", "BR-33", "BR-37", "BR-38", "BR-42", "BR-44", "BR-CO-21", "BR-CO-22", "BR-CO-23", "BR-CO-24")
    },
    "BR-52": details_irregular,
    "BR-53": sends("tax_currency"),
    "BR-54": details_irregular,
    "BR-64": details_irregular,
})  # fmt: skip
