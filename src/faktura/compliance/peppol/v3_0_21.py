"""Peppol BIS Billing 3.0.21 (2026 May release, mandatory 2026-08-24): what changed since 3.0.18.

The release diff (`docs/rule-diff-peppol-3.0.18-3.0.21.md`, `scripts/rule_release_diff.py`)
lists every assert that was added or whose flag, context or test changed, and every code list
that changed. Rules whose test changed get a second predicate here; everything else is the
3.0.18 `Rule` object itself, shared. Code lists come from the 3.0.21 `.sch`
(`faktura.domain.codelists`, names ending `_3_0_21`).

Changes that cannot show on what Faktura writes are explained in `NOT_APPLICABLE` instead
(the new ProfileIDs, the `::` test of R004, the subtotal currency of R051).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

from faktura.compliance.en16931.cl import endpoint_schemes, reason_codes
from faktura.compliance.engine import Context, Rule, has_any_acs
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import PEPPOL_SCHEME_CHECKS
from faktura.compliance.peppol import common
from faktura.compliance.peppol import rules as base_rules
from faktura.compliance.peppol.national import dk
from faktura.compliance.peppol.national.de import KEYS as DE_KEYS
from faktura.compliance.peppol.national.de import german_rules, string_code_in
from faktura.compliance.predicates import is_number, normalize_space, present
from faktura.domain import codelists as cl
from faktura.domain.invoice import AllowanceCharge

VERSION = "3.0.21"

# -- code lists: the same rules over the 3.0.21 lists --------------------------------------------

_CODE_LISTS = {
    "PEPPOL-EN16931-CL002": (cl.PEPPOL_ALLOWANCE_REASON_CODES_3_0_21, reason_codes(False), has_any_acs),
    "PEPPOL-EN16931-CL003": (cl.PEPPOL_CHARGE_REASON_CODES_3_0_21, reason_codes(True), has_any_acs),
    "PEPPOL-EN16931-CL007": (cl.PEPPOL_CURRENCY_CODES_3_0_21, base_rules.currency_ids, None),
    "PEPPOL-EN16931-CL008": (cl.PEPPOL_EAS_SCHEMES_3_0_21, endpoint_schemes, None),
}


def _relist(old: Rule) -> Rule:
    codes, values, when = _CODE_LISTS[old.id]
    new = base_rules.code_list_rule(old.id, old.message, old.bt or "", codes, values, when)
    return dataclasses.replace(new, screen=old.screen)


# -- Denmark -------------------------------------------------------------------------------------

UNSPSC_VERSIONS = ("19.05.01", "19.0501", "26.08.01", "26.0801")


def _dk_r003(ctx: Context) -> Iterator[str]:
    """3.0.21: fatal, and UNSPSC 26.08.01 is accepted beside 19.05.01 (any classification of
    the line may carry the version, as the Schematron's existential test reads)."""
    if not dk.dk_to_dk(ctx):
        return
    for i, li in enumerate(ctx.invoice.line_items):
        cls = li.item.classifications
        if any(c.list_id == "TST" for c in cls) and not any(c.list_version in UNSPSC_VERSIONS for c in cls):
            yield ctx.at("line_items", i, "item", "classifications")


def _dk_r004(ctx: Context) -> Iterator[str]:
    """3.0.21: a ZZZ allowance's reason is a four-digit tax category, or text with a `#` that
    is neither its first nor its last character."""
    if not dk.dk_to_dk(ctx):
        return

    def bad(ac: AllowanceCharge) -> bool:
        if ac.reason_code != "ZZZ":
            return False
        r = ac.reason if ac.reason and present(ac.reason) else ""
        four = len(normalize_space(r)) == 4 and is_number(r) and 0 <= float(r) <= 9999
        hashed = bool(r) and "#" in r and not r.startswith("#") and not r.endswith("#")
        return not (four or hashed)

    yield from dk.zzz_reasons(ctx, bad)


_GIRO_ACCOUNT = re.compile(r"[0-9]{7,8}")


def _dk_r008(ctx: Context) -> Iterator[str]:
    """3.0.21: the giro account (BT-84) has 7 or 8 digits (was: is 7 characters long)."""
    if ctx.credit_note or not dk.dk_to_dk(ctx):
        return
    for i, pm in enumerate(ctx.invoice.payment_means):
        pid = pm.payment_id if pm.payment_id and present(pm.payment_id) else ""
        account = pm.account.iban if pm.account and present(pm.account.iban) else ""
        if pm.code == "50" and not (pid[:3] in ("01#", "04#", "15#") and _GIRO_ACCOUNT.fullmatch(account)):
            yield ctx.at("payment_means", i)


def _dk_r017(ctx: Context) -> Iterator[str]:
    """New in 3.0.21: a Danish buyer's legal registration id (BT-47) carries scheme 0184."""
    b = ctx.buyer
    if (
        dk.dk_to_dk(ctx)
        and b is not None
        and b.legal_id is not None
        and b.legal_id.value
        and normalize_space(b.legal_id.scheme or "") != "0184"
    ):
        yield f"{ctx.buyer_ptr}/legal_id/scheme"


# -- identifier schemes (PEPPOL-COMMON) ----------------------------------------------------------


def dk_cvr(value: str) -> bool:
    """PEPPOL-COMMON-R042 since 3.0.19: 'DK' and 8 digits, or 8 digits."""
    return (len(value) == 10 and value[:2] == "DK" and _digits(value[2:])) or (
        len(value) == 8 and _digits(value)
    )


def dk_p_number(value: str) -> bool:
    """PEPPOL-COMMON-R052 (0096): ten digits."""
    return len(value) == 10 and _digits(value)


def dk_erst(value: str) -> bool:
    """PEPPOL-COMMON-R053 (0198): 'DK' and eight digits."""
    return len(value) == 10 and value[:2] == "DK" and _digits(value[2:])


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _pattern(regex: str) -> Callable[[str], bool]:
    compiled = re.compile(regex)
    return lambda value: compiled.fullmatch(value) is not None


SCHEME_CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    **PEPPOL_SCHEME_CHECKS,
    "0184": ("PEPPOL-COMMON-R042", dk_cvr),
    "0096": ("PEPPOL-COMMON-R052", dk_p_number),
    "0198": ("PEPPOL-COMMON-R053", dk_erst),
}
MESSAGES = {
    "PEPPOL-COMMON-R052": "Danish chamber of commerce number (P) MUST be stated in the correct format.",
    "PEPPOL-COMMON-R053": "Danish ERSTORG number (SE) MUST be stated in the correct format.",
}
NL_VAT = _pattern(r"NL[0-9]{9}B[0-9]{2}")


def _nl_vat_ids(ctx: Context) -> Iterator[str]:
    """PEPPOL-COMMON-R056-2: a VAT id (BT-31, BT-48, BT-63) that starts with NL has the Dutch shape."""
    for party, ptr in (
        (ctx.seller, ctx.seller_ptr),
        (ctx.buyer, ctx.buyer_ptr),
        (ctx.invoice.tax_representative, ctx.at("tax_representative")),
    ):
        vat = getattr(party, "vat_id", None) if party is not None else None
        if vat and normalize_space(vat).startswith("NL") and not NL_VAT(normalize_space(vat)):
            yield f"{ptr}/vat_id"


def _suspect(ctx: Context) -> bool:
    """Screen of the 3.0.21 scheme rules: an identifier whose scheme has a check it fails."""
    return any(
        (check := SCHEME_CHECKS.get(scheme)) is not None and not check[1](value)
        for _, scheme, value in common.scheme_identifiers(ctx)
    ) or any(scheme in WARNING_SCHEMES for _, scheme, _ in common.scheme_identifiers(ctx))


WARNINGS: tuple[tuple[str, str, Callable[[str], bool], str], ...] = (
    ("PEPPOL-COMMON-R054", "0106", _pattern(r"[0-9]{8}"), "Dutch Chamber of Commerce (KVK) numbers (0106) MUST be stated in the correct format (12345678)."),
    ("PEPPOL-COMMON-R055", "0190", _pattern(r"[0-9]{20}"), "Dutch organization identification numbers (0190) MUST be stated in the correct format (12345678901234567890)."),
    ("PEPPOL-COMMON-R056-1", "9944", NL_VAT, "Dutch VAT numbers (9944) MUST be stated in the correct format (NL123456789B12)."),
    ("PEPPOL-COMMON-R057", "0217", _pattern(r"[0-9]{12}"), "Dutch Chamber of Commerce Establishment numbers (0217) MUST be stated in the correct format (123456789012)."),
)  # fmt: skip
WARNING_SCHEMES = frozenset({scheme for _, scheme, _, _ in WARNINGS} | common.WARNING_SCHEMES)


def _scheme_rule(
    rid: str, scheme: str, check: Callable[[str], bool], severity: Severity, message: str
) -> Rule:
    def run(ctx: Context) -> Iterator[str]:
        for ptr, s, value in common.scheme_identifiers(ctx):
            if s == scheme and not check(normalize_space(value) if severity is Severity.WARNING else value):
                yield ptr

    return Rule(rid, severity, message, run, "BT-34", screen=_suspect)


# -- Germany -------------------------------------------------------------------------------------

_URL = re.compile(r"^([a-zA-Z])([a-zA-Z0-9+.-])+:.*")  # `$XR-URL-REGEX`


def _de_r_t02(ctx: Context) -> Iterator[str]:
    """New in 3.0.21 (DE↔DE): BT-124 should be an absolute URL with a scheme."""
    for i, doc in enumerate(ctx.invoice.attachments):
        if doc.url is not None and not _URL.search(doc.url):
            yield ctx.at("attachments", i, "url")


def _de_de(ctx: Context) -> bool:
    return (ctx.seller_country or "").upper() == "DE" and (ctx.buyer_country or "").upper() == "DE"


#: 3.0.21 compares the German block's codes as `normalize-space(code)` strings, as XRechnung does
GERMAN = {
    r.id: dataclasses.replace(r, when=_de_de)
    for r in german_rules({k: f"DE-R-{k}" for k in DE_KEYS}, _de_de, string_code_in)
}


def revise(base: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """The 3.0.18 rules with the 3.0.21 changes: changed rules replaced in place, new ones added."""
    replaced: dict[str, Rule] = {
        **{rid: _relist(next(r for r in base if r.id == rid)) for rid in _CODE_LISTS},
        **GERMAN,
        "DK-R-003": Rule("DK-R-003", Severity.FATAL, "If ItemClassification is provided from Danish suppliers, UNSPSC version 19.05.01 or 26.08.01 should be used.", _dk_r003, "BT-158", when=dk.is_danish_seller),
        "DK-R-004": Rule("DK-R-004", Severity.FATAL, "When specifying non-VAT Taxes for Danish customers, Danish suppliers MUST use the AllowanceChargeReasonCode=\"ZZZ\" and MUST be specified in AllowanceChargeReason; Either as the 4-digit Tax category or must include a #, but the # is not allowed as first and last character", _dk_r004, "BT-97", when=dk.is_danish_seller),
        "DK-R-008": Rule("DK-R-008", Severity.FATAL, "For Danish Suppliers PaymentID is mandatory and MUST start with 01#, 04# or 15# (kortartkode), and PayeeFinancialAccount/ID (Giro kontonummer) is mandatory and must be 7 or 8 numerical characters long, when payment means equals 50 (Giro)", _dk_r008, "BG-16", when=dk.is_danish_seller),
        "PEPPOL-COMMON-R042": _scheme_rule("PEPPOL-COMMON-R042", "0184", dk_cvr, Severity.FATAL, common.MESSAGES["PEPPOL-COMMON-R042"]),
    }  # fmt: skip
    added = (
        Rule("DK-R-017", Severity.FATAL, "For Danish Customers it is mandatory to specify schemeID as \"0184\" (DK CVR-number) when PartyLegalEntity/CompanyID is used for AccountingCustomerParty", _dk_r017, "BT-47-1", when=dk.is_danish_seller),
        _scheme_rule("PEPPOL-COMMON-R052", "0096", dk_p_number, Severity.FATAL, MESSAGES["PEPPOL-COMMON-R052"]),
        _scheme_rule("PEPPOL-COMMON-R053", "0198", dk_erst, Severity.FATAL, MESSAGES["PEPPOL-COMMON-R053"]),
        *(_scheme_rule(rid, scheme, check, Severity.WARNING, message) for rid, scheme, check, message in WARNINGS),
        Rule("PEPPOL-COMMON-R056-2", Severity.WARNING, "Dutch VAT numbers MUST have the format (NL123456789B12).", _nl_vat_ids, "BT-31"),
        Rule("DE-R-T02", Severity.WARNING, 'If both supplier and customer are located in Germany, BT-124 "External document location" must contain an absolute URL with valid scheme.', _de_r_t02, "BT-124", when=_de_de),
    )  # fmt: skip
    unknown = replaced.keys() - {r.id for r in base}
    if unknown:
        raise ValueError(f"3.0.21 replaces rules 3.0.18 does not have: {sorted(unknown)}")
    return (*(replaced.get(r.id, r) for r in base), *added)


NOT_APPLICABLE: dict[str, str] = {
    "PEPPOL-EN16931-R004": "holds by construction: CustomizationID is written from the profile (never contains '::')",
    "PEPPOL-EN16931-R051": "holds by construction: every amount but BT-111 carries the document currency (3.0.21 adds the subtotal tax amounts to the context)",
}

#: changed asserts of the release diff that keep their 3.0.18 predicate, and why that is right
SAME_PREDICATE: dict[str, str] = {
    "PEPPOL-EN16931-P0100": "the test now also admits profile 02 (billing with response); Faktura writes profile 01, whose list is unchanged",
    "PEPPOL-EN16931-P0101": "the test now also admits profile 02 (billing with response); Faktura writes profile 01, whose list is unchanged",
}

#: changed `<let>` values of the release diff (code lists and variables), and where each is followed
LETS: dict[str, str] = {
    "ISO4217": "PEPPOL-EN16931-CL007 over PEPPOL_CURRENCY_CODES_3_0_21 (generated from this .sch)",
    "UNCL7161": "PEPPOL-EN16931-CL003 over PEPPOL_CHARGE_REASON_CODES_3_0_21 (generated from this .sch)",
    "eaid": "PEPPOL-EN16931-CL008 over PEPPOL_EAS_SCHEMES_3_0_21 (generated from this .sch)",
    "UNCL5305": "generated (PEPPOL_VAT_CATEGORY_CODES_3_0_21) but read by no assert of this .sch",
    "XR-EMAIL-REGEX": "DE-R-028 of the 3.0.21 German block reads `de.EMAIL`, this regular expression (3.0.18's reads `de.EMAIL_3_0_18`)",
    "XR-SKONTO-REGEX": "DE-R-018: a Skonto line is matched after normalize-space and starts with '#', so the new `(^|\\r?\\n)` prefix accepts exactly what the old search did",
    "XR-URL-REGEX": "DE-R-T02 (`_URL` here)",
    "profile": "ProfileID is written by the renderer (profile 01); the new ProfileIDs (France, billing with response) are not written",
}
