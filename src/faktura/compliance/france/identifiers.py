"""BR-FR-09 .. -13, -23 .. -26, -32, BR-FR-CO-10: SIREN, SIRET, electronic addresses, and the
identifiers of the parties as they will be written; plus the check digits and the scheme 0225
address shape the Schematron does not test (`FK-FR-*`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from faktura.compliance.engine import MISSING_PROBLEM, Context, Rule, rule
from faktura.compliance.findings import Severity
from faktura.compliance.france.common import identifiers, legal_id, siren_written
from faktura.domain import france
from faktura.domain.invoice import Party

NINE_DIGITS = re.compile(r"^\d{9}$")
FOURTEEN_DIGITS = re.compile(r"^\d{14}$")


def _parties(ctx: Context) -> Iterator[tuple[Party, str, str]]:
    """(party, pointer, BT of its identifier) for seller, buyer and payee."""
    if ctx.seller is not None:
        yield ctx.seller, ctx.seller_ptr, "BT-29"
    if ctx.buyer is not None:
        yield ctx.buyer, ctx.buyer_ptr, "BT-46"
    if ctx.invoice.payee is not None:
        yield ctx.invoice.payee, ctx.at("payee"), "BT-60"


def _identifier_pointer(party: Party, base: str, index: int) -> str:
    """Where identifier `index` of `france.identifiers(party)` came from: the list, or `siret`."""
    return f"{base}/identifiers/{index}" if index < len(party.identifiers) else f"{base}/siret"


def _legal_pointer(party: Party, base: str) -> str:
    return f"{base}/siren" if party.siren else f"{base}/legal_id"


def _siret_coherence(bt: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        for party, base, term in _parties(ctx):
            if term != bt:
                continue
            idents = identifiers(party)
            sirets = [(i, x) for i, x in enumerate(idents) if x.scheme == france.SIRET_SCHEME]
            if not sirets:
                continue
            index, siret = sirets[0]
            # the seller's and buyer's SIRET must match a written SIREN; the payee's falls back
            # on its own first nine digits when it has none
            siren = siren_written(party) or (siret.value[:9] if bt == "BT-60" else None)
            if not (FOURTEEN_DIGITS.match(siret.value) and siret.value[:9] == siren):
                yield _identifier_pointer(party, base, index)

    return Rule(
        f"BR-FR-09_{bt}",
        Severity.FATAL,
        f"[BR-FR-09/{bt}] : Le SIRET doit contenir 14 chiffres et commencer par le SIREN.",
        check,
        bt,
    )


@rule(
    "BR-FR-09_BT-71",
    "[BR-FR-09/BT-71] : Le SIRET doit contenir 14 chiffres et commencer par le SIREN.",
    bt="BT-71",
)
def br_fr_09_delivery(ctx: Context) -> Iterator[str]:
    d = ctx.invoice.delivery
    loc = d.location_id if d is not None else None
    if loc is not None and loc.scheme == france.SIRET_SCHEME and not FOURTEEN_DIGITS.match(loc.value):
        yield ctx.at("delivery", "location_id")


def _br_fr_10(ctx: Context) -> Iterator[str]:
    siren = siren_written(ctx.seller)
    if ctx.seller is not None and not (siren and NINE_DIGITS.match(siren.strip())):
        yield f"{ctx.seller_ptr}/siren"


BR_FR_10 = Rule(
    "BR-FR-10_BT-30",
    Severity.FATAL,
    "[BR-FR-10/BT-30] : Le SIREN du vendeur (CompanyID[@schemeID='0002']) est obligatoire et doit être"
    " composé exactement de 9 chiffres.",
    _br_fr_10,
    "BT-30",
    MISSING_PROBLEM,
)


def _endpoint_required(rule_id: str, bt: str, seller: bool) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        party, base = (ctx.seller, ctx.seller_ptr) if seller else (ctx.buyer, ctx.buyer_ptr)
        if party is not None and (party.endpoint is None or not party.endpoint.value.strip()):
            yield f"{base}/endpoint"

    who = "du vendeur" if seller else "de l'acheteur"
    return Rule(
        rule_id,
        Severity.FATAL,
        f"[{rule_id.split('_')[0]}/{bt}] : Le {bt} (cbc:EndpointID {who}) est obligatoire.",
        check,
        bt,
        MISSING_PROBLEM,
    )


ADDRESS_CHARS = re.compile(r"^[A-Za-z0-9+\-_.]+$")


def _endpoint_rule(rule_id: str, bt: str, seller: bool, *, length: bool) -> Rule:
    """BR-FR-23 (0225 addresses: allowed characters) and BR-FR-25 (any address: 125 at most)."""

    def check(ctx: Context) -> Iterator[str]:
        party, base = (ctx.seller, ctx.seller_ptr) if seller else (ctx.buyer, ctx.buyer_ptr)
        ep = party.endpoint if party is not None else None
        if ep is None:
            return
        if length:
            if len(ep.value) > 125:
                yield f"{base}/endpoint/value"
        elif ep.scheme == france.ADDRESS_SCHEME and not ADDRESS_CHARS.match(ep.value):
            yield f"{base}/endpoint/value"

    text = (
        f"[BR-FR-25/{bt}] : L'adresse électronique (cbc:EndpointID) dépasse 125 caractères."
        if length
        else f"[BR-FR-23/{bt}] : L'adresse électronique (cbc:EndpointID) ne respecte pas le format autorisé."
        ' Seuls les caractères alphanumériques et les symboles "-", "_", "." sont autorisés.'
    )
    return Rule(rule_id, Severity.FATAL, text, check, bt)


def _private_id_rule(rule_id: str, bt: str, seller: bool, *, length: bool) -> Rule:
    """BR-FR-24 / BR-FR-26: a private identifier (scheme 0224) of the allowed characters, 100 at most."""

    def check(ctx: Context) -> Iterator[str]:
        party, base = (ctx.seller, ctx.seller_ptr) if seller else (ctx.buyer, ctx.buyer_ptr)
        for i, ident in enumerate(identifiers(party)):
            if ident.scheme != "0224":
                continue
            bad = len(ident.value) > 100 if length else not ADDRESS_CHARS.match(ident.value)
            if bad and party is not None:
                yield _identifier_pointer(party, base, i)

    group = "BR-FR-26" if length else "BR-FR-24"
    text = (
        f"[{group}/{bt}] : L'identifiant privé (cbc:ID) dépasse 100 caractères."
        if length
        else f"[{group}/{bt}] : L'identifiant privé (cbc:ID) ne respecte pas le format autorisé."
    )
    return Rule(rule_id, Severity.FATAL, text, check, bt)


@rule(
    "BR-FR-32-LEGALID",
    "[BR-FR-32/LEGALID] : Tout identifiant légal d'une Partie avec schemeID = '0002' DOIT être composé de 9 chiffres.",
    bt="BT-30",
)
def br_fr_32_legal(ctx: Context) -> Iterator[str]:
    for party, base, _ in _parties(ctx):
        ident = legal_id(party)
        if (
            ident is not None
            and ident.scheme == france.SIREN_SCHEME
            and not NINE_DIGITS.match(ident.value.strip())
        ):
            yield _legal_pointer(party, base)


@rule(
    "BR-FR-32-ID",
    "[BR-FR-32/ID] : Tout identifiant d'une Partie avec schemeID = '0002' DOIT être composé de 9 chiffres.",
    bt="BT-29",
)
def br_fr_32_id(ctx: Context) -> Iterator[str]:
    for party, base, _ in _parties(ctx):
        for i, ident in enumerate(identifiers(party)):
            if ident.scheme in ("0002", "0231") and not NINE_DIGITS.match(ident.value.strip()):
                yield _identifier_pointer(party, base, i)


def _co_10(bt: str, part: int) -> Rule:
    """BR-FR-CO-10: every party identifier has a scheme (-1), each scheme at most once (-2)."""

    def check(ctx: Context) -> Iterator[str]:
        if bt == "BT-71":
            d = ctx.invoice.delivery
            if part == 1 and d is not None and d.location_id is not None and not d.location_id.scheme:
                yield ctx.at("delivery", "location_id", "scheme")
            return
        for party, base, term in _parties(ctx):
            if term != bt:
                continue
            idents = identifiers(party)
            # the SEPA creditor id (BT-90) is written as one more PartyIdentification under "SEPA"
            if part == 1:
                for i, ident in enumerate(idents):
                    if not ident.scheme:
                        yield _identifier_pointer(party, base, i)
            else:
                seen: set[str] = set()
                schemes = [x.scheme for x in idents if x.scheme]
                if sepa_written(ctx, term):
                    schemes.append("SEPA")
                for i, scheme in enumerate(schemes):
                    if scheme in seen:
                        yield _identifier_pointer(party, base, min(i, len(idents) - 1))
                        break
                    seen.add(scheme)

    text = (
        f"[BR-FR-CO-10/{bt}] : Chaque identifiant ({bt}) doit avoir un attribut schemeID."
        if part == 1
        else f"[BR-FR-CO-10/{bt}] : Chaque schemeID ne peut apparaître qu'une seule fois ({bt})."
    )
    return Rule(f"BR-FR-CO-10_{bt}-{part}", Severity.FATAL, text, check, bt)


def sepa_written(ctx: Context, term: str) -> bool:
    """The SEPA creditor id goes to the seller without a payee, else to the payee (UBL-SR-29)."""
    from faktura.render.ubl.party import creditor_id

    if not creditor_id(ctx.invoice):
        return False
    return term == ("BT-60" if ctx.invoice.payee is not None else "BT-29")


# -- Faktura's own: check digits and the 0225 address shape (FK-FR-*) ---------------------------


@rule("FK-FR-SIREN", "A SIREN has nine digits and a valid Luhn check digit.", bt="BT-30")
def fk_siren(ctx: Context) -> Iterator[str]:
    for party, base, _ in _parties(ctx):
        ident = legal_id(party)
        if ident is not None and ident.scheme == france.SIREN_SCHEME and not france.siren_valid(ident.value):
            yield _legal_pointer(party, base)


@rule("FK-FR-SIRET", "A SIRET has fourteen digits and a valid Luhn check digit.", bt="BT-29")
def fk_siret(ctx: Context) -> Iterator[str]:
    for party, base, _ in _parties(ctx):
        for i, ident in enumerate(identifiers(party)):
            if ident.scheme == france.SIRET_SCHEME and not france.siret_valid(ident.value):
                yield _identifier_pointer(party, base, i)


@rule(
    "FK-FR-ADDRESS",
    "A scheme 0225 electronic address is SIREN[_SIRET[_routing code]]: a valid SIREN, then a valid"
    " SIRET of that SIREN, then a routing code of letters, digits, '-', '_', '.', '+'; the SIREN is the party's.",
    bt="BT-49",
)
def fk_address(ctx: Context) -> Iterator[str]:
    for party, base, _ in _parties(ctx):
        ep = party.endpoint
        if ep is None or ep.scheme != france.ADDRESS_SCHEME:
            continue
        parsed = france.parse_address(ep.value)
        own = france.siren_of(party)
        if parsed is None or (own is not None and parsed.siren != own):
            yield f"{base}/endpoint/value"


RULES: tuple[Rule, ...] = (
    _siret_coherence("BT-29"),
    _siret_coherence("BT-46"),
    _siret_coherence("BT-60"),
    br_fr_09_delivery,
    BR_FR_10,
    _endpoint_required("BR-FR-12_BT-49", "BT-49", seller=False),
    _endpoint_required("BR-FR-13_BT-34", "BT-34", seller=True),
    _endpoint_rule("BR-FR-23_BT-34", "BT-34", True, length=False),
    _endpoint_rule("BR-FR-23_BT-49", "BT-49", False, length=False),
    _private_id_rule("BR-FR-24_BT-29", "BT-29", True, length=False),
    _private_id_rule("BR-FR-24_BT-46", "BT-46", False, length=False),
    _endpoint_rule("BR-FR-25_BT-34", "BT-34", True, length=True),
    _endpoint_rule("BR-FR-25_BT-49", "BT-49", False, length=True),
    _private_id_rule("BR-FR-26_BT-29", "BT-29", True, length=True),
    _private_id_rule("BR-FR-26_BT-46", "BT-46", False, length=True),
    br_fr_32_legal,
    br_fr_32_id,
    _co_10("BT-29", 1),
    _co_10("BT-29", 2),
    _co_10("BT-46", 1),
    _co_10("BT-46", 2),
    _co_10("BT-60", 1),
    _co_10("BT-60", 2),
    _co_10("BT-71", 1),
    fk_siren,
    fk_siret,
    fk_address,
)
