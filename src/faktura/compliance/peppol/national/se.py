"""Sweden (SE-R-*): VAT id and organisation number formats, F-skatt, Swedish VAT rates."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule, screened
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import se_orgnr_check
from faktura.compliance.predicates import is_number, normalize_space, present, vat_id


def _se_vat(ctx: Context) -> str | None:
    v = vat_id(ctx.seller)
    return v if ctx.seller_country == "SE" and v and v[:2] == "SE" else None


def _r001(ctx: Context) -> Iterator[str]:
    v = _se_vat(ctx)
    if v and len(normalize_space(v)) != 14:
        yield f"{ctx.seller_ptr}/vat_id"


def _r002(ctx: Context) -> Iterator[str]:
    v = _se_vat(ctx)
    if v and not is_number(v[2:14]):
        yield f"{ctx.seller_ptr}/vat_id"


def _legal(ctx: Context) -> str | None:
    s = ctx.seller
    if s and s.address.country == "SE" and s.legal_id and present(s.legal_id.value):
        return s.legal_id.value
    return None


def _r003(ctx: Context) -> Iterator[str]:
    v = _legal(ctx)
    if v is not None and not is_number(v):
        yield f"{ctx.seller_ptr}/legal_id/value"


def _r004(ctx: Context) -> Iterator[str]:
    v = _legal(ctx)
    if v is not None and len(normalize_space(v)) != 10:
        yield f"{ctx.seller_ptr}/legal_id/value"


def _r013(ctx: Context) -> Iterator[str]:
    v = _legal(ctx)
    if v is not None and not se_orgnr_check(normalize_space(v)):
        yield f"{ctx.seller_ptr}/legal_id/value"


def _giro_accounts(kind: str) -> Callable[[Context], Iterator[tuple[int, str]]]:
    """(index, account id) of the credit transfers (code 30) to a Swedish giro account."""

    def accounts(ctx: Context) -> Iterator[tuple[int, str]]:
        if ctx.seller_country != "SE":
            return
        for i, pm in enumerate(ctx.invoice.payment_means):
            acc = pm.account
            if (
                acc is not None
                and normalize_space(pm.code) == "30"
                and normalize_space(acc.bic or "") == kind
            ):
                yield i, normalize_space(acc.iban)

    return accounts


def _giro(kind: str, test: Callable[[str], bool]) -> Callable[[Context], Iterator[str]]:
    accounts = _giro_accounts(kind)

    def check(ctx: Context) -> Iterator[str]:
        for i, value in accounts(ctx):
            if not test(value):
                yield ctx.at("payment_means", i, "account", "iban")

    return check


def _means_code(codes: tuple[str, ...], *, domestic: bool) -> Callable[[Context], Iterator[str]]:
    """Payment means codes Swedish suppliers should not use (SE-R-011, and SE-R-012 between
    Swedish parties); the Schematron compares the code as written."""

    def check(ctx: Context) -> Iterator[str]:
        if ctx.seller_country != "SE" or (domestic and ctx.buyer_country != "SE"):
            return
        for i, pm in enumerate(ctx.invoice.payment_means):
            if pm.code in codes:
                yield ctx.at("payment_means", i, "code")

    return check


def _r005(ctx: Context) -> Iterator[str]:
    s = ctx.seller
    f_skatt = (
        s is not None and normalize_space((s.tax_registration_id or "").upper()) == "GODKÄND FÖR F-SKATT"
    )
    if _legal(ctx) is not None and s and present(s.tax_registration_id) and not f_skatt:
        yield f"{ctx.seller_ptr}/tax_registration_id"


SE_RATES = {25, 12, 6}


def _r006(ctx: Context) -> Iterator[str]:
    if _se_vat(ctx) is None:
        return
    for i, (cat, rate) in enumerate(ctx.line_categories):
        if cat == "S" and (rate is None or rate not in SE_RATES):
            yield ctx.at("line_items", i, "tax_rate")
    for ac in ctx.doc_acs:
        if ac.category == "S" and (ac.rate is None or ac.rate not in SE_RATES):
            yield ctx.at(ac.pointer_name, ac.position, "tax_rate")
    if ctx.totals:
        for b in ctx.totals.breakdown:
            if b.category == "S" and (b.rate is None or b.rate not in SE_RATES):
                yield ctx.at("line_items")


def swedish_irregular(ctx: Context) -> bool:
    """Screen of the block: a Swedish VAT id of the wrong shape or rates other than 25, 12 and
    6 %, an organisation number that is not ten digits with a valid Luhn digit, a tax
    registration other than F-skatt, a giro account, or payment means codes 31, 50 or 56."""
    s = ctx.seller
    if s is None:
        return False
    v = s.vat_id
    if v is not None and v[:2] == "SE":
        if not (len(v) == 14 and v[2:].isascii() and v[2:].isdigit()):
            return True
        t = ctx.totals
        if t is None or any(b.category == "S" and b.rate not in SE_RATES for b in t.breakdown):
            return True  # the breakdown holds every (S, rate) of the lines and allowances
    lid = s.legal_id
    if lid is not None and present(lid.value):
        n = lid.value
        if not (len(n) == 10 and n.isascii() and n.isdigit() and se_orgnr_check(n)):
            return True
        reg = s.tax_registration_id
        if reg is not None and present(reg) and normalize_space(reg.upper()) != "GODKÄND FÖR F-SKATT":
            return True
    for pm in ctx.invoice.payment_means:
        if pm.code in ("31", "50", "56") or pm.code != pm.code.strip():
            return True
        if pm.account is not None and pm.account.bic is not None and "GIRO" in pm.account.bic:
            return True
    return False


RULES: tuple[Rule, ...] = (
    Rule("SE-R-001", Severity.FATAL, "For Swedish suppliers, Swedish VAT-numbers must consist of 14 characters.", _r001, "BT-31"),
    Rule("SE-R-002", Severity.FATAL, "For Swedish suppliers, the Swedish VAT-numbers must have the trailing 12 characters in numeric form", _r002, "BT-31"),
    Rule("SE-R-003", Severity.FATAL, "Swedish organisation numbers should be numeric.", _r003, "BT-30"),
    Rule("SE-R-004", Severity.FATAL, "Swedish organisation numbers consist of 10 characters.", _r004, "BT-30"),
    Rule("SE-R-013", Severity.FATAL, "The last digit of a Swedish organization number must be valid according to the Luhn algorithm.", _r013, "BT-30"),
    Rule("SE-R-005", Severity.FATAL, "For Swedish suppliers, when using Seller tax registration identifier, 'Godkänd för F-skatt' must be stated", _r005, "BT-32"),
    Rule("SE-R-006", Severity.FATAL, "For Swedish suppliers, only standard VAT rate of 6, 12 or 25 are used", _r006, "BT-152"),
    Rule("SE-R-007", Severity.WARNING, "For Swedish suppliers using Plusgiro, the Account ID must be numeric", _giro("SE:PLUSGIRO", is_number), "BT-84"),
    Rule("SE-R-010", Severity.WARNING, "For Swedish suppliers using Plusgiro, the Account ID must have 2-8 characters", _giro("SE:PLUSGIRO", lambda v: 2 <= len(v) <= 8), "BT-84"),
    Rule("SE-R-008", Severity.WARNING, "For Swedish suppliers using Bankgiro, the Account ID must be numeric", _giro("SE:BANKGIRO", is_number), "BT-84"),
    Rule("SE-R-009", Severity.WARNING, "For Swedish suppliers using Bankgiro, the Account ID must have 7-8 characters", _giro("SE:BANKGIRO", lambda v: len(v) in (7, 8)), "BT-84"),
    Rule("SE-R-011", Severity.WARNING, "For Swedish suppliers using Swedish Bankgiro or Plusgiro, the proper way to indicate this is to use Code 30 for PaymentMeans and FinancialInstitutionBranch ID with code SE:BANKGIRO or SE:PLUSGIRO", _means_code(("50", "56"), domestic=False), "BT-81"),
    Rule("SE-R-012", Severity.WARNING, "For domestic transactions between Swedish trading partners, credit transfer should be indicated by PaymentMeansCode=\"30\"", _means_code(("31",), domestic=True), "BT-81"),
)  # fmt: skip

RULES = screened(RULES, {r.id: swedish_irregular for r in RULES})
