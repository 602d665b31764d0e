"""PEPPOL-COMMON-R040 … R050: identifier formats and check digits, per ISO 6523 / EAS scheme.

They apply wherever an identifier carries the scheme: electronic addresses (EndpointID),
party identifiers (PartyIdentification/ID) and legal registration ids (CompanyID).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import PEPPOL_SCHEME_CHECKS
from faktura.compliance.predicates import normalize_space, present
from faktura.domain.invoice import Identifier

NOT_APPLICABLE: dict[str, str] = {}

MESSAGES = {
    "PEPPOL-COMMON-R040": "GLN must have a valid format according to GS1 rules.",
    "PEPPOL-COMMON-R041": "Norwegian organization number MUST be stated in the correct format.",
    "PEPPOL-COMMON-R042": "Danish organization number (CVR) MUST be stated in the correct format.",
    "PEPPOL-COMMON-R043": "Belgian enterprise number MUST be stated in the correct format.",
    "PEPPOL-COMMON-R049": "Swedish organization number MUST be stated in the correct format.",
    "PEPPOL-COMMON-R050": "Australian Business Number (ABN) MUST be stated in the correct format.",
}


def scheme_identifiers(ctx: Context) -> list[tuple[str, str, str]]:
    """(pointer, scheme, value) of every identifier written with a scheme (once per check)."""
    return ctx.memo("scheme_identifiers", lambda: _scheme_identifiers(ctx))  # type: ignore[no-any-return]


def _scheme_identifiers(ctx: Context) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    payee = ctx.invoice.payee
    parties = [(ctx.seller, ctx.seller_ptr, True), (ctx.buyer, ctx.buyer_ptr, True)]
    if payee is not None:
        parties.append((payee, ctx.at("payee"), False))
    for party, ptr, has_endpoint in parties:
        if party is None:
            continue
        ep = party.endpoint
        if has_endpoint and ep is not None and ep.scheme and present(ep.value):
            out.append((f"{ptr}/endpoint/value", ep.scheme, ep.value))
        for i, ident in enumerate(party.identifiers):
            if ident.scheme and present(ident.value):
                out.append((f"{ptr}/identifiers/{i}/value", ident.scheme, ident.value))
        lid = party.legal_id
        if lid is not None and lid.scheme and present(lid.value):
            out.append((f"{ptr}/legal_id/value", lid.scheme, lid.value))
    return out


def identifiers_irregular(ctx: Context) -> bool:
    """Screen of the identifier scheme rules: an identifier (electronic address, party or legal
    id) whose scheme has a fatal check it fails (memoised), or a scheme with a warning rule.
    Cheaper than `scheme_identifiers`, which builds every pointer."""
    payee = ctx.invoice.payee
    for party in (ctx.seller, ctx.buyer, payee):
        if party is None:
            continue
        if party is not payee and party.endpoint is not None and _suspect(party.endpoint):
            return True
        if party.legal_id is not None and _suspect(party.legal_id):
            return True
        for ident in party.identifiers:
            if _suspect(ident):
                return True
    return False


def _suspect(ident: Identifier) -> bool:
    scheme = ident.scheme
    if scheme is None:
        return False
    fatal = PEPPOL_SCHEME_CHECKS.get(scheme)
    if fatal is None:
        return scheme in WARNING_SCHEMES
    return not fatal[1](ident.value)


#: the schemes of the warning rules below (`_warning` adds them)
WARNING_SCHEMES: set[str] = set()


def _scheme_rule(scheme: str, rid: str, check: Callable[[str], bool]) -> Rule:
    def run(ctx: Context) -> Iterator[str]:
        for ptr, s, value in scheme_identifiers(ctx):
            if s == scheme and not check(value):
                yield ptr

    return Rule(rid, Severity.FATAL, MESSAGES[rid], run, "BT-34", screen=identifiers_irregular)


def codice_ipa(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z0-9]{6}$", value))


def codice_fiscale(value: str) -> bool:
    if len(value) == 11:
        return value.lstrip("+-").isdigit()
    return bool(re.match(r"^[A-Za-z]{6}[0-9]{2}[A-Za-z][0-9]{2}.{3}[0-9][A-Za-z]$", value))


def partita_iva(value: str) -> bool:
    if value[:2] not in ("IT", "it"):
        return True
    code = value[2:]
    if len(code) != 11 or not code.isdigit():
        return False
    total = 0
    for i, c in enumerate(code):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


def _warning(
    rid: str,
    schemes: tuple[str, ...],
    check: Callable[[str], bool],
    message: str,
    *,
    endpoint_only: bool = False,
) -> Rule:
    def run(ctx: Context) -> Iterator[str]:
        for ptr, s, value in scheme_identifiers(ctx):
            if (
                s in schemes
                and (not endpoint_only or ptr.endswith("/endpoint/value"))
                and not check(normalize_space(value))
            ):
                yield ptr

    WARNING_SCHEMES.update(schemes)  # the screen opens whenever one of these schemes is used
    return Rule(rid, Severity.WARNING, message, run, "BT-34", screen=identifiers_irregular)


RULES: tuple[Rule, ...] = (
    *(_scheme_rule(scheme, rid, check) for scheme, (rid, check) in PEPPOL_SCHEME_CHECKS.items()),
    _warning("PEPPOL-COMMON-R044", ("0201",), codice_ipa, "IPA Code (Codice Univoco Unità Organizzativa) must be stated in the correct format"),
    _warning("PEPPOL-COMMON-R045", ("0210",), codice_fiscale, "Tax Code (Codice Fiscale) must be stated in the correct format"),
    _warning("PEPPOL-COMMON-R046", ("9907",), codice_fiscale, "Tax Code (Codice Fiscale) must be stated in the correct format", endpoint_only=True),
    _warning("PEPPOL-COMMON-R047", ("0211",), partita_iva, "Italian VAT Code (Partita Iva) must be stated in the correct format"),
)  # fmt: skip
