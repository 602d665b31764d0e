"""Iceland (IS-R-*): kennitala as legal id (scheme 0196), street and post code, bank accounts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule, screened
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import normalize_space, present
from faktura.domain.invoice import Party


def _is(ctx: Context) -> bool:
    return ctx.seller_country == "IS"


def _legal_0196(party: Party | None) -> bool:
    lid = party.legal_id if party else None
    return lid is not None and present(lid.value) and lid.scheme == "0196"


def _street_zip(party: Party | None) -> bool:
    return party is not None and present(party.address.line1) and present(party.address.postal_code)


def _r002(ctx: Context) -> Iterator[str]:
    if _is(ctx) and not _legal_0196(ctx.seller):
        yield f"{ctx.seller_ptr}/legal_id"


def _r003(ctx: Context) -> Iterator[str]:
    if _is(ctx) and not _street_zip(ctx.seller):
        yield f"{ctx.seller_ptr}/address"


def _r004(ctx: Context) -> Iterator[str]:
    if _is(ctx) and ctx.buyer_country == "IS" and not _legal_0196(ctx.buyer):
        yield f"{ctx.buyer_ptr}/legal_id"


def _r005(ctx: Context) -> Iterator[str]:
    if _is(ctx) and ctx.buyer_country == "IS" and not _street_zip(ctx.buyer):
        yield f"{ctx.buyer_ptr}/address"


def _account(code: str) -> Callable[[Context], Iterator[str]]:
    def check(ctx: Context) -> Iterator[str]:
        if not _is(ctx):
            return
        means = [pm for pm in ctx.invoice.payment_means if pm.code == code]
        if not means:
            return
        first = means[0]
        account = first.account.iban if first.account and present(first.account.iban) else None
        if account is None or len(normalize_space(account)) != 12:
            yield ctx.at("payment_means", ctx.invoice.payment_means.index(first), "account")

    return check


def _r001(ctx: Context) -> Iterator[str]:
    if _is(ctx) and normalize_space(ctx.type_code) not in ("380", "381"):
        yield ctx.at("type_code")


EINDAGI = "EINDAGI"  # the Icelandic final due date, sent as a supporting document


def _eindagi(ctx: Context) -> list[tuple[int, str]]:
    return [(i, doc.reference) for i, doc in enumerate(ctx.invoice.attachments) if doc.description == EINDAGI]


def _r008(ctx: Context) -> Iterator[str]:
    """The EINDAGI reference (BT-122) must be a date YYYY-MM-DD."""
    for i, ref in _eindagi(ctx)[:1] if _is(ctx) else ():
        if not (len(ref) == 10 and _iso_date(ref)):
            yield ctx.at("attachments", i, "reference")


def _due_date(ctx: Context) -> dt.date | None:
    """`/*/cbc:DueDate`: a credit note carries BT-9 in PaymentMeans, not at its root."""
    return None if ctx.credit_note else ctx.invoice.due_date


def _r009(ctx: Context) -> Iterator[str]:
    if _is(ctx) and _eindagi(ctx) and _due_date(ctx) is None:
        yield ctx.at("due_date")


def _r010(ctx: Context) -> Iterator[str]:
    """The due date (BT-9) must not be after the EINDAGI date (compared as text, as XPath does)."""
    if not _is(ctx):
        return
    due = _due_date(ctx)
    refs = _eindagi(ctx)
    if refs and (due is None or not any(due.isoformat() <= ref for _, ref in refs)):
        yield ctx.at("attachments", refs[0][0], "reference")


def _iso_date(text: str) -> bool:
    """`castable as xs:date` for ten characters: YYYY-MM-DD and a real day."""
    if not re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def icelandic_irregular(ctx: Context) -> bool:
    """Screen of the block: a type code other than 380/381, a seller (or Icelandic buyer)
    without a kennitala (0196) or without street and post code, payment means 9 or 42, or an
    EINDAGI document."""
    if ctx.type_code not in ("380", "381"):
        return True
    if not (_legal_0196(ctx.seller) and _street_zip(ctx.seller)):
        return True
    if ctx.buyer_country == "IS" and not (_legal_0196(ctx.buyer) and _street_zip(ctx.buyer)):
        return True
    if any(pm.code in ("9", "42") for pm in ctx.invoice.payment_means):
        return True
    return any(doc.description == EINDAGI for doc in ctx.invoice.attachments)


RULES: tuple[Rule, ...] = (
    Rule("IS-R-001", Severity.WARNING, "If seller is icelandic then invoice type should be 380 or 381", _r001, "BT-3"),
    Rule("IS-R-002", Severity.FATAL, "Icelandic legal id (kennitala) MUST be provided for the seller, with schemeID 0196", _r002, "BT-30"),
    Rule("IS-R-003", Severity.FATAL, "Icelandic seller's address MUST have street name and post code", _r003, "BG-5"),
    Rule("IS-R-004", Severity.FATAL, "Icelandic buyer's legal id (kennitala) MUST be provided, with schemeID 0196", _r004, "BT-47"),
    Rule("IS-R-005", Severity.FATAL, "Icelandic buyer's address MUST have street name and post code", _r005, "BG-8"),
    Rule("IS-R-006", Severity.FATAL, "If seller is Icelandic and payment means code is 9 then a 12 digit account id must exist", _account("9"), "BT-84"),
    Rule("IS-R-008", Severity.FATAL, "If seller is icelandic and invoice contains supporting description EINDAGI then the id form must be YYYY-MM-DD", _r008, "BT-122"),
    Rule("IS-R-009", Severity.FATAL, "If seller is icelandic and invoice contains supporting description EINDAGI invoice must have due date", _r009, "BT-9", "MISSING_REQUIRED_FIELD"),
    Rule("IS-R-010", Severity.FATAL, "If seller is icelandic and invoice contains supporting description EINDAGI the id date must be same or later than due date", _r010, "BT-122"),
    Rule("IS-R-007", Severity.FATAL, "If seller is Icelandic and payment means code is 42 then a 12 digit account id must exist", _account("42"), "BT-84"),
)  # fmt: skip

RULES = screened(RULES, {r.id: icelandic_irregular for r in RULES})
