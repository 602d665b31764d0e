"""Iceland (IS-R-*): kennitala as legal id (scheme 0196), street and post code, bank accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule
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


RULES = (
    Rule("IS-R-001", Severity.WARNING, "If seller is icelandic then invoice type should be 380 or 381", _r001, "BT-3"),
    Rule("IS-R-002", Severity.FATAL, "Icelandic legal id (kennitala) MUST be provided for the seller, with schemeID 0196", _r002, "BT-30"),
    Rule("IS-R-003", Severity.FATAL, "Icelandic seller's address MUST have street name and post code", _r003, "BG-5"),
    Rule("IS-R-004", Severity.FATAL, "Icelandic buyer's legal id (kennitala) MUST be provided, with schemeID 0196", _r004, "BT-47"),
    Rule("IS-R-005", Severity.FATAL, "Icelandic buyer's address MUST have street name and post code", _r005, "BG-8"),
    Rule("IS-R-006", Severity.FATAL, "If seller is Icelandic and payment means code is 9 then a 12 digit account id must exist", _account("9"), "BT-84"),
    Rule("IS-R-007", Severity.FATAL, "If seller is Icelandic and payment means code is 42 then a 12 digit account id must exist", _account("42"), "BT-84"),
)  # fmt: skip
