"""EN 16931 UBL syntax binding rules (UBL-SR-*, fatal) that the input model can break.

The UBL-CR-* rules (all warnings: elements EN 16931 does not use) and most UBL-SR-*
cardinalities cannot fail, because the renderer writes each of those elements at most
once; `scripts/gen_compliance_doc.py` lists them with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule, screened, sends
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import present
from faktura.compliance.screens import details_irregular, parties_irregular, payment_irregular

NOT_APPLICABLE: dict[str, str] = {
    "UBL-CR-666": "holds by construction: the invoiced-object reference (130) is written without an attachment",
    "UBL-CR-673": "holds by construction: the invoiced-object reference (130) is written without a description",
    "UBL-SR-22": "holds by construction: the tax representative's name is written once",
    "UBL-SR-23": "holds by construction: the tax representative's VAT identifier is written once",
    "UBL-SR-33": "holds by construction: a supporting document has one description",
}


def _binary_attribute(field: str) -> Callable[[Context], Iterator[str]]:
    """UBL-DT-06/07: an embedded document (BT-125) needs its MIME code and file name."""

    def check(ctx: Context) -> Iterator[str]:
        for i, doc in enumerate(ctx.invoice.attachments):
            if doc.content and getattr(doc, field) is None:
                yield ctx.at("attachments", i, field)

    return check


def _payee_name_differs(ctx: Context) -> bool:
    """`(cac:PartyName/cbc:Name) != (../…/RegistrationName)`: false when the payee name is not written."""
    payee, seller = ctx.invoice.payee, ctx.seller
    if payee is None or seller is None:
        return True
    if not present(payee.name):
        return False
    return not present(seller.name) or payee.name != seller.name


def _payee(extra: str) -> Rule:
    rid = {"name": "UBL-SR-19", "identifiers": "UBL-SR-20", "legal": "UBL-SR-21"}[extra]

    def check(ctx: Context) -> Iterator[str]:
        payee = ctx.invoice.payee
        if payee is None:
            return
        too_many = (
            extra == "identifiers"
            and sum(1 for i in payee.identifiers if present(i.value) and (i.scheme or "").upper() != "SEPA")
            > 1
        )
        if too_many or not _payee_name_differs(ctx):
            yield ctx.at("payee", "identifiers" if too_many else "name")

    return Rule(
        rid,
        Severity.FATAL,
        "Payee name shall occur maximum once, if the Payee is different from the Seller.",
        check,
        "BT-59",
    )


def _sr_16(ctx: Context) -> Iterator[str]:
    if ctx.buyer is not None and sum(1 for i in ctx.buyer.identifiers if present(i.value)) > 1:
        yield f"{ctx.buyer_ptr}/identifiers"


def _sr_29(ctx: Context) -> Iterator[str]:
    """Bank assigned creditor identifier (BT-90) shall occur maximum once."""
    n = 0
    for party in (ctx.seller, ctx.buyer, ctx.invoice.payee):
        if party is not None:
            n += sum(1 for i in party.identifiers if present(i.value) and (i.scheme or "").upper() == "SEPA")
    if any(pm.mandate is not None and present(pm.mandate.creditor_id) for pm in ctx.invoice.payment_means):
        n += 1
    if n > 1:
        yield ctx.at("payment_means")


def _distinct(values: list[str]) -> int:
    return len(set(values))


def _sr_44(ctx: Context) -> Iterator[str]:
    if (
        _distinct(
            [pm.payment_id for pm in ctx.invoice.payment_means if pm.payment_id and present(pm.payment_id)]
        )
        > 1
    ):
        yield ctx.at("payment_means")


def _sr_46(ctx: Context) -> Iterator[str]:
    if sum(1 for pm in ctx.invoice.payment_means if pm.name and present(pm.name)) > 1:
        yield ctx.at("payment_means")


def _sr_47(ctx: Context) -> Iterator[str]:
    if _distinct([pm.code for pm in ctx.invoice.payment_means]) > 1:
        yield ctx.at("payment_means")


def _sr_54(ctx: Context) -> Iterator[str]:
    if sum(1 for pm in ctx.invoice.payment_means if pm.card is not None) > 1:
        yield ctx.at("payment_means")


def _sr_55(ctx: Context) -> Iterator[str]:
    if sum(1 for pm in ctx.invoice.payment_means if pm.mandate is not None) > 1:
        yield ctx.at("payment_means")


RULES: tuple[Rule, ...] = (
    Rule("UBL-DT-06", Severity.FATAL, "Binary object elements shall contain the mime code attribute", _binary_attribute("mime_code"), "BT-125-1", "MISSING_REQUIRED_FIELD"),
    Rule("UBL-DT-07", Severity.FATAL, "Binary object elements shall contain the file name attribute", _binary_attribute("filename"), "BT-125-2", "MISSING_REQUIRED_FIELD"),
    Rule("UBL-SR-16", Severity.FATAL, "Buyer identifier shall occur maximum once.", _sr_16, "BT-46"),
    _payee("name"),
    _payee("identifiers"),
    _payee("legal"),
    Rule("UBL-SR-29", Severity.FATAL, "Bank creditor reference shall occur maximum once.", _sr_29, "BT-90"),
    Rule("UBL-SR-44", Severity.FATAL, "An Invoice may only have one unique PaymentID, but the PaymentID may be used for multiple PaymentMeans.", _sr_44, "BT-83"),
    Rule("UBL-SR-46", Severity.FATAL, "Payment means text shall occur maximum once.", _sr_46, "BT-82"),
    Rule("UBL-SR-47", Severity.FATAL, "When there are more than one payment means code, they shall be equal.", _sr_47, "BT-81"),
    Rule("UBL-SR-54", Severity.FATAL, "Each Invoice shall contain maximum one card account.", _sr_54, "BG-18"),
    Rule("UBL-SR-55", Severity.FATAL, "Each Invoice shall contain maximum one payment mandate.", _sr_55, "BG-19"),
)  # fmt: skip


def several_payment_means(ctx: Context) -> bool:
    """The "at most once" rules on payment means can only fail with two or more of them."""
    return len(ctx.invoice.payment_means) > 1


RULES = screened(RULES, {
    "UBL-DT-06": details_irregular,
    "UBL-SR-16": parties_irregular,
    "UBL-SR-29": payment_irregular,
    "UBL-DT-07": details_irregular,
    "UBL-SR-19": sends("payee"),
    "UBL-SR-20": sends("payee"),
    "UBL-SR-21": sends("payee"),
    **{rid: several_payment_means for rid in ("UBL-SR-44", "UBL-SR-46", "UBL-SR-47", "UBL-SR-54", "UBL-SR-55")},
})  # fmt: skip
