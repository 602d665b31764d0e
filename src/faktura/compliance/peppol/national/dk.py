"""Denmark (DK-R-*): legal entity (CVR), payment means and allowance codes for DK→DK."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule, screened
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import is_number, normalize_space, present
from faktura.domain.invoice import AllowanceCharge


def _dk(ctx: Context) -> bool:
    return ctx.seller_country == "DK"


def _dk_dk(ctx: Context) -> bool:
    return ctx.seller_country == "DK" and ctx.buyer_country == "DK"


def _legal(ctx: Context) -> str | None:
    s = ctx.seller
    return s.legal_id.value if s and s.legal_id and present(s.legal_id.value) else None


def _r002(ctx: Context) -> Iterator[str]:
    if _dk(ctx) and _legal(ctx) is None:
        yield f"{ctx.seller_ptr}/legal_id"


def _r014(ctx: Context) -> Iterator[str]:
    if (
        _dk(ctx)
        and _legal(ctx) is not None
        and ctx.seller
        and ctx.seller.legal_id
        and (ctx.seller.legal_id.scheme or "") != "0184"
    ):
        yield f"{ctx.seller_ptr}/legal_id/scheme"


def _r016(ctx: Context) -> Iterator[str]:
    if (
        _dk(ctx)
        and ctx.credit_note
        and ctx.buyer_country == "DK"
        and ctx.totals
        and ctx.totals.payable_amount < 0
    ):
        yield ctx.at("line_items")


def _r013(ctx: Context) -> Iterator[str]:
    if not _dk_dk(ctx):
        return
    for party, ptr in ((ctx.seller, ctx.seller_ptr), (ctx.buyer, ctx.buyer_ptr)):
        if party is None:
            continue
        for i, ident in enumerate(party.identifiers):
            if present(ident.value) and not (ident.scheme or "").strip():
                yield f"{ptr}/identifiers/{i}/scheme"


DK_MEANS = frozenset(["1", "10", "31", "42", "48", "49", "50", "58", "59", "93", "97"])


def _means(rid: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if ctx.credit_note or not _dk_dk(ctx):
            return
        for i, pm in enumerate(ctx.invoice.payment_means):
            code = pm.code  # written raw; XPath compares it untrimmed here
            pid = pm.payment_id if pm.payment_id and present(pm.payment_id) else ""
            account = pm.account.iban if pm.account and present(pm.account.iban) else ""
            bic = pm.account.bic if pm.account and pm.account.bic else ""
            bad = False
            if rid == "DK-R-005":
                bad = code not in DK_MEANS
            elif rid == "DK-R-006":
                bad = code in ("31", "42") and not (normalize_space(account) and normalize_space(bic))
            elif rid == "DK-R-007":
                mandate = pm.mandate
                bad = code == "49" and not (
                    mandate
                    and normalize_space(mandate.reference)
                    and mandate.debited_account
                    and normalize_space(mandate.debited_account)
                )
            elif rid == "DK-R-008":
                bad = code == "50" and not (pid[:3] in ("01#", "04#", "15#") and len(account) == 7)
            elif rid == "DK-R-009":
                bad = code == "50" and pid[:3] in ("04#", "15#") and len(pid) != 19
            elif rid == "DK-R-010":
                bad = code == "93" and not (pid[:3] in ("71#", "73#", "75#") and len(account) == 8)
            elif rid == "DK-R-011":
                bad = code == "93" and pid[:3] in ("71#", "75#") and len(pid) not in (18, 19)
            if bad:
                yield ctx.at("payment_means", i)

    return Rule(rid, Severity.FATAL, MEANS_MESSAGES[rid], check, "BG-16")


MEANS_MESSAGES = {
    "DK-R-005": "For Danish suppliers the following Payment means type codes are allowed: 1, 10, 31, 42, 48, 49, 50, 58, 59, 93 and 97",
    "DK-R-006": "For Danish suppliers bank account and registration account is mandatory if payment means is 31 or 42",
    "DK-R-007": "For Danish suppliers PaymentMandate/ID and PayerFinancialAccount/ID are mandatory when payment means is 49",
    "DK-R-008": "For Danish Suppliers PaymentID is mandatory and MUST start with 01#, 04# or 15# (kortartkode), and PayeeFinancialAccount/ID (Giro kontonummer) is mandatory and must be 7 characters long, when payment means equals 50 (Giro)",
    "DK-R-009": 'For Danish Suppliers if the PaymentID is prefixed with 04# or 15# the 16 digits instruction Id must be added to the PaymentID eg. "04#1234567890123456" when Payment means equals 50 (Giro)',
    "DK-R-010": "For Danish Suppliers the PaymentID is mandatory and MUST start with 71#, 73# or 75# (kortartkode) and PayeeFinancialAccount/ID (Kreditornummer) is mandatory and must be exactly 8 characters long, when Payment means equals 93 (FIK)",
    "DK-R-011": 'For Danish Suppliers if the PaymentID is prefixed with 71# or 75# the 15-16 digits instruction Id must be added to the PaymentID eg. "71#1234567890123456" when payment Method equals 93 (FIK)',
}


def _r004(ctx: Context) -> Iterator[str]:
    """An allowance/charge with reason code ZZZ must carry a four-digit reason (DK→DK)."""
    if not _dk_dk(ctx):
        return

    def bad(ac: AllowanceCharge) -> bool:
        code, reason = ac.reason_code, ac.reason
        if code != "ZZZ":
            return False
        r = reason if reason and present(reason) else ""
        ok = len(normalize_space(r)) == 4 and is_number(r) and 0 <= float(r) <= 9999
        return not ok

    yield from zzz_reasons(ctx, bad)


def zzz_reasons(ctx: Context, bad: Callable[[AllowanceCharge], bool]) -> Iterator[str]:
    """The reason of every allowance and charge (document and line level) that `bad` rejects."""
    for name in ("allowances", "charges"):
        for j, ac in enumerate(getattr(ctx.invoice, name)):
            if bad(ac):
                yield ctx.at(name, j, "reason")
        for i, li in enumerate(ctx.invoice.line_items):
            for j, ac in enumerate(getattr(li, name)):
                if bad(ac):
                    yield ctx.at("line_items", i, name, j, "reason")


def _r003(ctx: Context) -> Iterator[str]:
    """A line classified under UNSPSC (`TST`) should name version 19.0501 (any of its
    classifications may carry the version, as the Schematron's existential test reads)."""
    if not _dk_dk(ctx):
        return
    for i, li in enumerate(ctx.invoice.line_items):
        cls = li.item.classifications
        if any(c.list_id == "TST" for c in cls) and not any(
            c.list_version in ("19.05.01", "19.0501") for c in cls
        ):
            yield ctx.at("line_items", i, "item", "classifications")


def danish_irregular(ctx: Context) -> bool:
    """Screen of the block: no CVR legal id (0184), a credit note, or for a Danish buyer payment
    means outside DK_MEANS or without their account or mandate, giro or FIK payments, an
    identifier without scheme, a ZZZ allowance or an UNSPSC classification."""
    s = ctx.seller
    if s is None or s.legal_id is None or not present(s.legal_id.value) or s.legal_id.scheme != "0184":
        return True
    if ctx.credit_note:
        return True
    if ctx.buyer_country != "DK":
        return False
    inv = ctx.invoice
    for pm in inv.payment_means:
        code, acc, mandate = pm.code, pm.account, pm.mandate
        if code not in DK_MEANS or code in ("50", "93"):  # giro and FIK: their own formats
            return True
        if code in ("31", "42") and not (acc is not None and present(acc.iban) and present(acc.bic)):
            return True
        if code == "49" and not (
            mandate is not None and present(mandate.reference) and present(mandate.debited_account)
        ):
            return True
    for party in (s, ctx.buyer):
        if party is not None and any(not (i.scheme or "").strip() for i in party.identifiers):
            return True
    acs = [*inv.allowances, *inv.charges]
    for li in inv.line_items:
        acs += [*li.allowances, *li.charges]
        if any(c.list_id == "TST" for c in li.item.classifications):
            return True
    return any(ac.reason_code == "ZZZ" for ac in acs)


RULES: tuple[Rule, ...] = (
    Rule("DK-R-003", Severity.WARNING, "If ItemClassification is provided from Danish suppliers, UNSPSC version 19.0501 should be used.", _r003, "BT-158"),
    Rule("DK-R-002", Severity.FATAL, "Danish suppliers MUST provide legal entity (CVR-number)", _r002, "BT-30", "MISSING_REQUIRED_FIELD"),
    Rule("DK-R-014", Severity.FATAL, "For Danish Suppliers it is mandatory to specify schemeID as \"0184\" (DK CVR-number) when PartyLegalEntity/CompanyID is used for AccountingSupplierParty", _r014, "BT-30-1"),
    Rule("DK-R-016", Severity.FATAL, "For Danish Suppliers, a Credit note cannot have a negative total (PayableAmount)", _r016, "BT-115"),
    Rule("DK-R-013", Severity.FATAL, "For Danish Suppliers it is mandatory to use schemeID when PartyIdentification/ID is used for AccountingCustomerParty or AccountingSupplierParty", _r013, "BT-29-1"),
    *(_means(rid) for rid in MEANS_MESSAGES),
    Rule("DK-R-004", Severity.FATAL, "When specifying non-VAT Taxes for Danish customers, Danish suppliers MUST use the AllowanceChargeReasonCode=\"ZZZ\" and MUST be specified in AllowanceChargeReason and be a 4-digit number", _r004, "BT-97"),
)  # fmt: skip

RULES = screened(RULES, {r.id: danish_irregular for r in RULES})

#: the block's conditions, for the rules of later versions
is_danish_seller = _dk
dk_to_dk = _dk_dk
