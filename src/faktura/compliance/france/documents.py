"""BR-FR-01 .. -03, BR-FR-CO-03 .. -09, -12, BR-FR-DEC-02 .. -04: identifiers and dates as
written, the references a document type needs, the billing mode against the type and totals,
and the decimals of quantities, prices and rates. Plus `FK-FR-UNSUPPORTED`: the billing modes
whose sub-lines (EXT-FR-FE-163) the model has no place for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

from faktura.compliance.engine import Context, Rule, rule
from faktura.compliance.findings import Severity
from faktura.compliance.france.common import SUB_LINE_MODES
from faktura.render.ubl.common import decimal_text, price_text

ID_FORMAT = re.compile(r"^[A-Za-z0-9+\-_/]+$")
PAID_MODES = frozenset({"B2", "S2", "M2"})
FINAL_AFTER_DEPOSIT = frozenset({"B4", "S4", "M4"})
DEPOSIT_TYPES = frozenset({"386", "500", "503"})
CORRECTIVE_TYPES = frozenset({"384", "471", "472", "473"})
CREDIT_TYPES = frozenset({"261", "381", "396", "502", "503"})
#: bidirectional invoices (`custom:isSpecialContractBD`): their prices may be negative
BIDIRECTIONAL = frozenset({"B9", "S9", "M9"})


def id_format_ok(value: str) -> bool:
    """`custom:is-valid-id-format`: letters, digits, + - _ / and no space anywhere."""
    return bool(ID_FORMAT.match(" ".join(value.split()))) and " " not in value


def _preceding(rule_id: str, *, length: bool) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        for i, ref in enumerate(ctx.invoice.preceding_invoices):
            if not ref.number.strip():
                continue
            bad = len(ref.number) > 35 if length else not id_format_ok(ref.number)
            if bad:
                yield ctx.at("preceding_invoices", i, "number")

    group = rule_id.split("_")[0]
    text = (
        f"[{group}/BT-25] : L'identifiant de facture référencée ne doit pas dépasser 35 caractères."
        if length
        else f"[{group}/BT-25] : L'identifiant de facture référencée contient des caractères non autorisés."
        " Seuls les caractères alphanumériques et les symboles + - _ / sont autorisés, sans espace."
    )
    return Rule(rule_id, Severity.FATAL, text, check, "BT-25")


def _year_ok(day: dt.date | None) -> bool:
    return day is None or 2000 <= day.year <= 2099


def _date_rule(rule_id: str, bt: str, dates: str) -> Rule:
    """BR-FR-03: a date of the given group has a year between 2000 and 2099."""

    def check(ctx: Context) -> Iterator[str]:
        inv = ctx.invoice
        if dates == "issue" and not _year_ok(inv.issue_date):
            yield ctx.at("issue_date")
        elif dates == "tax_point" and not _year_ok(inv.tax_point_date):
            yield ctx.at("tax_point_date")
        elif dates == "due" and not ctx.credit_note and not _year_ok(inv.due_date):
            yield ctx.at("due_date")  # a credit note's due date is a PaymentDueDate, not cbc:DueDate
        elif dates == "preceding":
            for i, ref in enumerate(inv.preceding_invoices):
                if not _year_ok(ref.issue_date):
                    yield ctx.at("preceding_invoices", i, "issue_date")
        elif dates == "delivery" and inv.delivery is not None and not _year_ok(inv.delivery.date):
            yield ctx.at("delivery", "date")
        elif dates in ("start", "end") and inv.invoicing_period is not None:
            field = f"{dates}_date"
            if not _year_ok(getattr(inv.invoicing_period, field)):
                yield ctx.at("invoicing_period", field)
        elif dates in ("line_start", "line_end"):
            field = f"{dates[5:]}_date"
            for i, li in enumerate(inv.line_items):
                if li.period is not None and not _year_ok(getattr(li.period, field)):
                    yield ctx.at("line_items", i, "period", field)

    return Rule(
        rule_id,
        Severity.FATAL,
        f"[BR-FR-03/{bt}] : La date doit contenir une année comprise entre 2000 et 2099.",
        check,
        bt,
    )


@rule(
    "BR-FR-CO-03_BT-3",
    "[BR-FR-CO-03/BT-3] : Si le code type est 262 (avoir remise globale), le numéro de contrat (BT-12) et la"
    " période de facturation (BG-14, début et fin) doivent être présents.",
    bt="BT-3",
)
def co_03(ctx: Context) -> Iterator[str]:
    inv = ctx.invoice
    if not ctx.credit_note or ctx.type_code != "262":
        return
    period = inv.invoicing_period
    if not (inv.contract_reference and inv.contract_reference.strip()):
        yield ctx.at("contract_reference")
    if period is None or period.start_date is None or period.end_date is None:
        yield ctx.at("invoicing_period")


@rule(
    "BR-FR-CO-04_BT-3",
    "[BR-FR-CO-04/BT-3] : Une facture rectificative (384, 471, 472, 473) porte une et une seule référence à une"
    " facture antérieure (BT-25).",
    bt="BT-25",
)
def co_04(ctx: Context) -> Iterator[str]:
    if not ctx.credit_note and ctx.type_code in CORRECTIVE_TYPES and len(ctx.invoice.preceding_invoices) != 1:
        yield ctx.at("preceding_invoices")


@rule(
    "BR-FR-CO-05_BT-3",
    "[BR-FR-CO-05/BT-3] : Un avoir (261, 381, 396, 502, 503) porte au moins une référence à une facture"
    " antérieure (BT-25) avec sa date (BT-26).",
    bt="BT-25",
)
def co_05(ctx: Context) -> Iterator[str]:
    if not ctx.credit_note or ctx.type_code not in CREDIT_TYPES:
        return
    if not any(r.number.strip() and r.issue_date is not None for r in ctx.invoice.preceding_invoices):
        yield ctx.at("preceding_invoices")


@rule(
    "BR-FR-CO-07_BT-9",
    "[BR-FR-CO-07/BT-9] : La date d'échéance (BT-9) doit être postérieure ou égale à la date de facture (BT-2),"
    " sauf pour un acompte (386, 500, 503) ou un cadre de facturation B2, S2 ou M2.",
    bt="BT-9",
)
def co_07(ctx: Context) -> Iterator[str]:
    inv = ctx.invoice
    if ctx.credit_note or inv.due_date is None or inv.issue_date is None:
        return
    if ctx.type_code in DEPOSIT_TYPES or inv.billing_mode in PAID_MODES:
        return
    if inv.due_date < inv.issue_date:
        yield ctx.at("due_date")


@rule(
    "BR-FR-CO-08_BT-23",
    "[BR-FR-CO-08/BT-23] : Si le cadre de facturation est B4, S4 ou M4 (facture définitive après acompte), le"
    " type de facture ne peut pas être un acompte (386, 500, 503).",
    bt="BT-23",
)
def co_08(ctx: Context) -> Iterator[str]:
    if ctx.invoice.billing_mode in FINAL_AFTER_DEPOSIT and ctx.type_code in DEPOSIT_TYPES:
        yield ctx.at("billing_mode")


def _paid(part: str) -> Rule:
    """BR-FR-CO-09: an invoice already paid (B2, S2, M2) says so in its totals and due date."""

    def check(ctx: Context) -> Iterator[str]:
        inv, totals = ctx.invoice, ctx.totals
        if inv.billing_mode not in PAID_MODES or totals is None:
            return
        if part == "1":
            # PrepaidAmount is written only when sent; number(()) is NaN, never equal
            if inv.prepaid_amount is None or totals.prepaid_amount != totals.tax_inclusive_amount:
                yield ctx.at("prepaid_amount")
        elif part == "2":
            if totals.payable_amount != 0:
                yield ctx.at("prepaid_amount")
        elif not _due_date_written(ctx):
            yield ctx.at("due_date")

    what = {
        "1": "le montant déjà payé (BT-113) doit être égal au montant total TTC (BT-112)",
        "2": "le net à payer (BT-115) doit être égal à 0",
        "3": "la date d'échéance (BT-9) doit être renseignée et correspondre à la date de paiement",
    }[part]
    return Rule(
        f"BR-FR-CO-09_BT-23-{part}",
        Severity.FATAL,
        f"[BR-FR-CO-09/BT-23] : Si le cadre de facturation est B2, S2 ou M2 (facture déjà payée), {what}.",
        check,
        "BT-23",
    )


def _due_date_written(ctx: Context) -> bool:
    """`cbc:DueDate | cac:PaymentMeans/cbc:PaymentDueDate`: a credit note writes its due date
    into each payment means, so it needs one."""
    inv = ctx.invoice
    if inv.due_date is None:
        return False
    return not ctx.credit_note or bool(inv.payment_means)


@rule(
    "BR-FR-CO-12_BT-5",
    "[BR-FR-CO-12/BT-5] : Si la devise de facture (BT-5) n'est pas EUR, la devise de comptabilité (BT-6) est"
    " EUR et le montant de TVA en devise de comptabilité (BT-111) est renseigné en EUR.",
    bt="BT-6",
)
def co_12(ctx: Context) -> Iterator[str]:
    inv = ctx.invoice
    if ctx.currency == "EUR":
        return
    if inv.tax_currency != "EUR":
        yield ctx.at("tax_currency")
    elif ctx.totals is None or ctx.totals.tax_amount_in_tax_currency is None:
        yield ctx.at("tax_currency_total_tax_amount")


DIGITS19 = 19


def decimal_ok(text: str, places: int, *, signed: bool = True) -> bool:
    """`custom:is-valid-decimal-19-N`: at most `places` decimals and 19 digits in all."""
    sign = "-?" if signed else ""
    return (
        bool(re.match(rf"^{sign}\d{{1,19}}(\.\d{{1,{places}}})?$", text))
        and len(text.replace(".", "")) <= DIGITS19
    )


@rule(
    "BR-FR-DEC-02_BT-129",
    "[BR-FR-DEC-02/BT-129] : La quantité doit avoir au plus 4 décimales et 19 chiffres.",
    bt="BT-129",
)
def dec_02_quantity(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        if not decimal_ok(decimal_text(li.quantity), 4):
            yield ctx.at("line_items", i, "quantity")


@rule(
    "BR-FR-DEC-02_BT-149",
    "[BR-FR-DEC-02/BT-149] : La quantité de base du prix doit avoir au plus 4 décimales et 19 chiffres.",
    bt="BT-149",
)
def dec_02_base(ctx: Context) -> Iterator[str]:
    if ctx.totals is None:
        return
    for i, lt in enumerate(ctx.totals.lines):
        if lt.base_quantity is not None and not decimal_ok(decimal_text(lt.base_quantity), 4):
            yield ctx.at("line_items", i, "base_quantity")


@rule(
    "BR-FR-DEC-03_BT-146",
    "[BR-FR-DEC-03/BT-146] : Le prix net doit être positif, avec au plus 6 décimales et 19 chiffres.",
    bt="BT-146",
)
def dec_03_price(ctx: Context) -> Iterator[str]:
    if ctx.totals is None:
        return
    for i, lt in enumerate(ctx.totals.lines):
        if not decimal_ok(price_text(lt.net_price), 6, signed=ctx.invoice.billing_mode in BIDIRECTIONAL):
            yield ctx.at("line_items", i, "unit_price")


def _price_discount(rule_id: str, bt: str, *, base: bool) -> Rule:
    """BR-FR-DEC-03 on the price discount written from a gross price: BT-147 (gross - net) and BT-148."""

    def check(ctx: Context) -> Iterator[str]:
        if ctx.totals is None:
            return
        for i, (li, lt) in enumerate(zip(ctx.invoice.line_items, ctx.totals.lines, strict=True)):
            if li.gross_unit_price is None:
                continue
            value = li.gross_unit_price if base else li.gross_unit_price - lt.net_price
            if not decimal_ok(price_text(value), 6, signed=ctx.invoice.billing_mode in BIDIRECTIONAL):
                yield ctx.at("line_items", i, "gross_unit_price")

    return Rule(
        rule_id,
        Severity.FATAL,
        f"[BR-FR-DEC-03/{bt}] : Le montant doit être positif, avec au plus 6 décimales et 19 chiffres.",
        check,
        bt,
    )


@rule(
    "BR-FR-28-Value",
    "[BR-FR-28] : La valeur d'attribut (cbc:Value) ou la valeur (cbc:ValueQuantity avec unité de mesure)"
    " doivent être présentes, mais pas les deux.",
    bt="BT-161",
)
def br_fr_28(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        for j, attr in enumerate(li.item.attributes):
            if not attr.value.strip():  # a blank value is not written
                yield ctx.at("line_items", i, "item", "attributes", j, "value")


def _rate_format(rule_id: str, group: str, bt: str) -> Rule:
    """BR-FR-DEC-04: a written VAT rate has at most 4 digits, 2 of them decimals, and no sign."""

    def bad(rate: Decimal | None) -> bool:
        if rate is None:
            return False
        text = decimal_text(rate)
        return not (re.match(r"^\d{1,4}(\.\d{1,2})?$", text) and len(text.replace(".", "")) <= 4)

    def check(ctx: Context) -> Iterator[str]:
        if group == "ac":
            for ac in ctx.doc_acs:
                if ac.category is not None and bad(ac.rate):
                    yield ctx.at(ac.pointer_name, ac.position, "tax_rate")
        elif group == "breakdown" and ctx.totals is not None:
            for b in ctx.totals.breakdown:
                if b.category != "O" and bad(b.rate):
                    yield ctx.category_pointer(b.category, "tax_rate")
        else:
            for i, (_, rate) in enumerate(ctx.line_categories):
                if bad(rate):
                    yield ctx.at("line_items", i, "tax_rate")

    return Rule(
        rule_id,
        Severity.FATAL,
        f"[BR-FR-DEC-04/{bt}] : Le taux de TVA doit être positif, avec au plus 2 décimales et 4 chiffres.",
        check,
        bt,
    )


@rule(
    "FK-FR-UNSUPPORTED",
    "Billing modes B8, S8, M8 (multi-vendor) and B9, S9, M9 (bidirectional) need sub-lines and extra parties"
    " (EXT-FR-FE-163 ..) that Faktura's invoice model has no place for; they are not issued.",
    bt="BT-23",
)
def unsupported_mode(ctx: Context) -> Iterator[str]:
    if ctx.invoice.billing_mode in SUB_LINE_MODES:
        yield ctx.at("billing_mode")


RULES: tuple[Rule, ...] = (
    _preceding("BR-FR-01_BT-25-1", length=True),
    _preceding("BR-FR-01_BT-25-2", length=False),
    _preceding("BR-FR-02_BT-25", length=False),
    _date_rule("BR-FR-03_BT-2", "BT-2", "issue"),
    _date_rule("BR-FR-03_BT-7", "BT-7", "tax_point"),
    _date_rule("BR-FR-03_BT-9", "BT-9", "due"),
    _date_rule("BR-FR-03_BT-26", "BT-26", "preceding"),
    _date_rule("BR-FR-03_BT-72", "BT-72", "delivery"),
    _date_rule("BR-FR-03_BT-73", "BT-73", "start"),
    _date_rule("BR-FR-03_BT-74", "BT-74", "end"),
    _date_rule("BR-FR-03_BT-134", "BT-134", "line_start"),
    _date_rule("BR-FR-03_BT-135", "BT-135", "line_end"),
    co_03,
    co_04,
    co_05,
    co_07,
    co_08,
    _paid("1"),
    _paid("2"),
    _paid("3"),
    co_12,
    dec_02_quantity,
    dec_02_base,
    dec_03_price,
    _price_discount("BR-FR-DEC-03_BT-147", "BT-147", base=False),
    _price_discount("BR-FR-DEC-03_BT-148", "BT-148", base=True),
    br_fr_28,
    _rate_format("BR-FR-DEC-04_BT-96_BT-103", "ac", "BT-96"),
    _rate_format("BR-FR-DEC-04_BT-119", "breakdown", "BT-119"),
    _rate_format("BR-FR-DEC-04_BT-152", "line", "BT-152"),
    unsupported_mode,
)
