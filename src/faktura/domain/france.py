"""French identifiers as the French rules (XP Z12-012, BR-FR) want them written, for every syntax.

A party's SIREN is its legal registration identifier (BT-30 / BT-47) under ICD 0002; its
SIRET is a party identifier (BT-29 / BT-46) under ICD 0009; its electronic address (BT-34 /
BT-49) on the French network is `SIREN[_SIRET[_routing code]]` under EAS 0225. Pure
functions over the model: the renderers (UBL, CII) and the rules read the same answers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from faktura.domain.invoice import Identifier, Party

SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
#: EAS of the French e-invoicing directory (annuaire): SIREN[_SIRET[_routing code]]
ADDRESS_SCHEME = "0225"
#: the French Peppol business process ids (Peppol BIS 3.0.21): an invoice inside the French
#: mandate (a French seller to a French business) and one outside it
PEPPOL_REGULATED = "urn:peppol:france:billing:regulated"
PEPPOL_NON_REGULATED = "urn:peppol:france:billing:non-regulated"

#: routing codes (code routage) and electronic addresses: what BR-FR-23 allows
ADDRESS_CHARS = re.compile(r"^[A-Za-z0-9+\-_.]+$")


def siren_valid(value: str) -> bool:
    """Nine digits with a valid Luhn check digit."""
    return stdnum_siren.is_valid(value)


def siret_valid(value: str) -> bool:
    """Fourteen digits with a valid Luhn check digit (La Poste's establishments excepted, as stdnum)."""
    return stdnum_siret.is_valid(value)


def legal_id(party: Party) -> Identifier | None:
    """BT-30 / BT-47: the SIREN under 0002 when the party has one, else its `legal_id`."""
    if party.siren:
        return Identifier(value=party.siren, scheme=SIREN_SCHEME)
    return party.legal_id


def identifiers(party: Party) -> list[Identifier]:
    """BT-29 / BT-46: the party's identifiers, with its SIRET (0009) unless already among them."""
    out = list(party.identifiers)
    if party.siret and not any(i.value == party.siret and i.scheme == SIRET_SCHEME for i in out):
        out.append(Identifier(value=party.siret, scheme=SIRET_SCHEME))
    return out


def siren_of(party: Party | None) -> str | None:
    """The party's SIREN, from `siren` or a `legal_id` under 0002."""
    if party is None:
        return None
    if party.siren:
        return party.siren
    if party.legal_id is not None and party.legal_id.scheme == SIREN_SCHEME:
        return party.legal_id.value
    return None


class Address(NamedTuple):
    """A scheme 0225 electronic address taken apart."""

    siren: str
    siret: str | None
    routing: str | None


def electronic_address(siren: str, siret: str | None = None, routing: str | None = None) -> str:
    """`SIREN[_SIRET[_routing code]]` (a routing code needs the SIRET before it)."""
    if routing and not siret:
        raise ValueError("a routing code follows a SIRET")
    return "_".join(p for p in (siren, siret, routing) if p)


def parse_address(value: str) -> Address | None:
    """The parts of a 0225 address, or None when it is not `SIREN[_SIRET[_routing]]` with
    valid check digits, a SIRET of that SIREN and a routing code of the allowed characters."""
    siren, _, rest = value.partition("_")
    siret, _, routing = rest.partition("_")
    if not siren_valid(siren):
        return None
    if rest and not (siret_valid(siret) and siret.startswith(siren)):
        return None
    if routing and not ADDRESS_CHARS.match(routing):
        return None
    return Address(siren, siret or None, routing or None)


def is_french_business(party: Party | None) -> bool:
    """A buyer inside the French mandate: in France and identified on the French network
    (a SIREN given as such, or a scheme 0225 electronic address)."""
    if party is None or party.address.country != "FR":
        return False
    return bool(party.siren) or (party.endpoint is not None and party.endpoint.scheme == ADDRESS_SCHEME)


def peppol_process_id(seller: Party, buyer: Party) -> str:
    """BT-23 of a French seller's invoice that carries a billing mode over Peppol."""
    return PEPPOL_REGULATED if is_french_business(buyer) else PEPPOL_NON_REGULATED
