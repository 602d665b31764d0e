"""The template's view of a document: every value already formatted for one locale.

Templates stay free of logic and of number formatting; Babel does the formatting (CLDR
data), so "1.234,56 €" (de), "1 234,56 €" (fr) and "€1,234.56" (en) come from one place.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from faktura.compliance.identifiers import looks_like_iban
from faktura.domain import france
from faktura.domain.document import Document
from faktura.domain.invoice import BIC, Address, Party, PaymentMeans, TaxRepresentative
from faktura.render.pdf.labels import LABELS
from faktura.render.pdf.qr import epc_payload, qr_png_data_uri

#: Babel locale per printed language. English invoices in Europe use day-month-year dates.
LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR", "nl": "nl_NL", "it": "it_IT", "es": "es_ES"}

CREDIT_TRANSFER = {"30", "31", "42", "58"}
DIRECT_DEBIT = {"49", "59"}
CARD = {"48", "54", "55"}


def locale_for(language: str) -> str:
    return LOCALES.get(language, "en_GB")


class Formatter:
    def __init__(self, language: str, currency: str):
        self.language = language
        self.locale = locale_for(language)
        self.currency = currency
        self._territories = Locale.parse(self.locale).territories

    def money(self, value: Decimal | None) -> str:
        return "" if value is None else format_currency(value, self.currency, locale=self.locale)

    def amount(self, value: Decimal | None) -> str:
        return "" if value is None else format_decimal(value, format="#,##0.00", locale=self.locale)

    def price(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.00######", locale=self.locale)

    def quantity(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.######", locale=self.locale)

    def percent(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        return format_percent(value / 100, locale=self.locale, decimal_quantization=False)

    def date(self, value: dt.date | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=self.locale)

    def country(self, code: str) -> str:
        return str(self._territories.get(code, code))


def _address_lines(a: Address, f: Formatter, seller_country: str) -> list[str]:
    lines = [x for x in (a.line1, a.line2, a.line3) if x]
    city = " ".join(x for x in (a.postal_code, a.city) if x)
    if city:
        lines.append(city)
    if a.subdivision:
        lines.append(a.subdivision)
    if a.country != seller_country or not city:
        lines.append(f.country(a.country))
    return lines


def _party(p: Party, f: Formatter, seller_country: str, labels: dict[str, str]) -> dict[str, Any]:
    ids = []
    if p.vat_id:
        ids.append((labels["vat_id"], p.vat_id))
    if p.tax_registration_id:
        ids.append((labels["tax_registration_id"], p.tax_registration_id))
    registration = france.legal_id(p)  # the SIREN where the party has one
    if registration is not None:
        ids.append((labels["legal_id"], registration.value))
    if p.siret:
        ids.append(("SIRET", p.siret))  # the same word in every language
    contact = []
    if p.contact:
        contact = [x for x in (p.contact.name, p.contact.phone, p.contact.email) if x]
    return {
        "name": p.name,
        "trading_name": p.trading_name if p.trading_name and p.trading_name != p.name else None,
        "address": _address_lines(p.address, f, seller_country),
        "ids": ids,
        "contact": contact,
    }


def _representative(
    rep: TaxRepresentative | None, f: Formatter, seller_country: str, labels: dict[str, str]
) -> dict[str, Any] | None:
    if rep is None:
        return None
    return {
        "name": rep.name,
        "trading_name": None,
        "address": _address_lines(rep.address, f, seller_country),
        "ids": [(labels["vat_id"], rep.vat_id)],
        "contact": [],
    }


GIRO = {"SE:BANKGIRO": "Bankgiro", "SE:PLUSGIRO": "Plusgiro"}


def _iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _unit(code: str, labels: dict[str, str]) -> str:
    return labels.get(f"unit_{code}", code)


def _payments(doc: Document, f: Formatter, labels: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    out = []
    qr = None
    payable = doc.totals.payable_amount
    for pm in doc.invoice.payment_means:
        out.append(_payment(pm, labels))
        if (
            qr is None
            and doc.currency == "EUR"
            and not doc.is_credit_note
            and pm.code in ("30", "58")
            and pm.account is not None
            and ":" not in (pm.account.bic or "")  # a Swedish giro account is no SEPA transfer
        ):
            payee = doc.invoice.payee.name if doc.invoice.payee else None
            payload = epc_payload(
                name=payee or pm.account.name or doc.seller.name,
                iban=pm.account.iban,
                # EPC QR version 002 may leave the BIC out in the EEA; a non-BIC never goes in
                bic=pm.account.bic if pm.account.bic and BIC.match(pm.account.bic) else None,
                amount=payable,
                remittance=pm.payment_id or doc.number,
            )
            if payload is not None:
                qr = qr_png_data_uri(payload)
    return out, qr


def _payment(pm: PaymentMeans, labels: dict[str, str]) -> dict[str, Any]:
    rows: list[tuple[str, str]] = []
    if pm.code in CREDIT_TRANSFER:
        title = labels["credit_transfer"]
    elif pm.code in DIRECT_DEBIT:
        title = labels["direct_debit"]
    elif pm.code in CARD:
        title = labels["card"]
    else:
        title = pm.name or labels["payment"]
    if pm.account:
        if pm.account.name:
            rows.append((labels["account_holder"], pm.account.name))
        giro = GIRO.get(pm.account.bic or "")
        if giro:  # a Swedish Bankgiro / Plusgiro number, not an IBAN
            rows.append((giro, pm.account.iban))
        else:
            rows.append(
                ("IBAN" if looks_like_iban(pm.account.iban) else labels["account"], _iban(pm.account.iban))
            )
            if pm.account.bic:
                rows.append(("BIC" if BIC.match(pm.account.bic) else labels["bank"], pm.account.bic))
    if pm.card:
        rows.append(
            (labels["card"], " ".join(x for x in (pm.card.network, "…" + pm.card.account_number) if x))
        )
    if pm.mandate:
        rows.append((labels["mandate"], pm.mandate.reference))
        if pm.mandate.creditor_id:
            rows.append((labels["creditor_id"], pm.mandate.creditor_id))
        if pm.mandate.debited_account:
            rows.append((labels["debited_account"], pm.mandate.debited_account))
    if pm.payment_id:
        rows.append((labels["payment_reference"], pm.payment_id))
    return {"title": title, "rows": rows}


def build_view(
    doc: Document,
    *,
    language: str,
    draft: bool,
    accent: str,
    footer_text: str | None,
    logo: tuple[bytes, str] | None,
) -> dict[str, Any]:
    labels = LABELS[language]
    f = Formatter(language, doc.currency)
    inv = doc.invoice
    t = doc.totals
    seller_country = doc.seller.address.country

    lines = []
    for i, (li, lt) in enumerate(zip(inv.line_items, t.lines, strict=True), start=1):
        adjustments = [
            {
                "label": (labels["charge"] if ac.charge else labels["allowance"])
                + (f" {f.percent(ac.percentage)}" if ac.percentage is not None else "")
                + (f": {ac.reason}" if ac.reason else ""),
                "amount": f.amount(ac.amount if ac.charge else -ac.amount),
            }
            for ac in (*lt.allowances, *lt.charges)
        ]
        details = [x for x in (li.description,) if x and x != li.item.name]
        if li.item.seller_id:
            details.append(li.item.seller_id)
        if li.period and (li.period.start_date or li.period.end_date):
            details.append(f"{f.date(li.period.start_date)} – {f.date(li.period.end_date)}")
        if li.note:
            details.append(li.note)
        lines.append(
            {
                "pos": li.id or str(i),
                "name": li.item.name,
                "details": details,
                "quantity": f.quantity(li.quantity),
                "unit": _unit(li.unit_code, labels),
                "price": f.price(lt.net_price)
                + (f" / {f.quantity(lt.base_quantity)}" if lt.base_quantity not in (None, 1) else ""),
                "rate": f.percent(lt.tax_rate) if lt.tax_rate is not None else lt.tax_category,
                "amount": f.amount(lt.net_amount),
                "adjustments": adjustments,
            }
        )

    doc_adjustments = [
        {
            "label": (labels["charge"] if ac.charge else labels["allowance"])
            + (f" {f.percent(ac.percentage)}" if ac.percentage is not None else "")
            + (f": {ac.reason}" if ac.reason else ""),
            "rate": f.percent(ac.tax_rate) if ac.tax_rate is not None else (ac.tax_category or ""),
            "amount": f.money(ac.amount if ac.charge else -ac.amount),
        }
        for ac in (*t.allowances, *t.charges)
    ]

    breakdown = [
        {
            "category": labels.get(f"cat_{b.category}", b.category),
            "rate": f.percent(b.rate),
            "taxable": f.money(b.taxable_amount),
            "tax": f.money(b.tax_amount),
            "reason": b.exemption_reason or b.exemption_reason_code,
        }
        for b in t.breakdown
    ]

    totals = [(labels["line_total"], f.money(t.line_extension_amount))]
    if t.allowance_total:
        totals.append((labels["allowance_total"], f.money(-t.allowance_total)))
    if t.charge_total:
        totals.append((labels["charge_total"], f.money(t.charge_total)))
    totals += [
        (labels["tax_exclusive"], f.money(t.tax_exclusive_amount)),
        (labels["tax_total"], f.money(t.tax_amount)),
        (labels["tax_inclusive"], f.money(t.tax_inclusive_amount)),
    ]
    if t.prepaid_amount:
        totals.append((labels["prepaid"], f.money(-t.prepaid_amount)))
    if t.rounding_amount:
        totals.append((labels["rounding"], f.money(t.rounding_amount)))
    tax_in_currency = None
    if t.tax_amount_in_tax_currency is not None and inv.tax_currency:
        tax_in_currency = (
            labels["tax_in_currency"].format(currency=inv.tax_currency),
            format_currency(t.tax_amount_in_tax_currency, inv.tax_currency, locale=f.locale),
        )

    meta = [(labels["credit_note_number" if doc.is_credit_note else "number"], doc.number)]
    meta.append((labels["issue_date"], f.date(doc.issue_date)))
    if inv.due_date:
        meta.append((labels["due_date"], f.date(inv.due_date)))
    if inv.tax_point_date:
        meta.append((labels["tax_point_date"], f.date(inv.tax_point_date)))
    if inv.delivery and inv.delivery.date:
        meta.append((labels["delivery_date"], f.date(inv.delivery.date)))
    if inv.invoicing_period and (inv.invoicing_period.start_date or inv.invoicing_period.end_date):
        p = inv.invoicing_period
        meta.append((labels["period"], f"{f.date(p.start_date)} – {f.date(p.end_date)}"))
    for key, value in (
        ("buyer_reference", inv.buyer_reference),
        ("order_reference", inv.order_reference),
        ("contract_reference", inv.contract_reference),
        ("project_reference", inv.project_reference),
    ):
        if value:
            meta.append((labels[key], value))

    corrects = []
    if doc.is_credit_note:
        for ref in inv.preceding_invoices:
            if ref.issue_date:
                corrects.append(labels["corrects"].format(number=ref.number, date=f.date(ref.issue_date)))
            else:
                corrects.append(labels["corrects_no_date"].format(number=ref.number))

    payments, qr = _payments(doc, f, labels)
    delivery = None
    if inv.delivery and (inv.delivery.address or inv.delivery.party_name):
        delivery = {
            "name": inv.delivery.party_name,
            "address": _address_lines(inv.delivery.address, f, seller_country)
            if inv.delivery.address
            else [],
        }

    page_css = (
        '"'
        + labels["page"].replace("{page}", '" counter(page) "').replace("{pages}", '" counter(pages) "')
        + '"'
    )
    return {
        "lang": language,
        "L": labels,
        "title": labels["credit_note" if doc.is_credit_note else "invoice"],
        "number": doc.number,
        "draft": draft,
        "accent": accent,
        "accent_tint": _tint(accent, 0.9),
        "accent_mid": _tint(accent, 0.6),
        "footer_text": footer_text,
        "logo": f"data:{logo[1]};base64,{base64.b64encode(logo[0]).decode()}" if logo else None,
        "page_css": page_css,
        "seller": _party(doc.seller, f, seller_country, labels),
        "buyer": _party(doc.buyer, f, seller_country, labels),
        "payee": _party(inv.payee, f, seller_country, labels) if inv.payee else None,
        "tax_representative": _representative(inv.tax_representative, f, seller_country, labels),
        "delivery": delivery,
        "meta": meta,
        "corrects": corrects,
        "amounts_in": labels["amounts_in"].format(currency=doc.currency),
        "lines": lines,
        "doc_adjustments": doc_adjustments,
        "breakdown": breakdown,
        "totals": totals,
        "tax_in_currency": tax_in_currency,
        "payable_label": labels["refund" if doc.is_credit_note else "payable"],
        "payable": f.money(t.payable_amount),
        "payments": payments,
        "payment_terms": inv.payment_terms,
        "qr": qr,
        "notes": inv.notes,  # not `memo`: the seller's private note, for no customer's eyes
    }


def _tint(hex_color: str, white: float) -> str:
    """`hex_color` mixed with `white` parts of white (0 → the colour, 1 → white)."""
    rgb = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * white):02x}" for c in rgb)
