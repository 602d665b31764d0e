"""Profiles: an explicit registry of which rule sets (and severity overrides) apply.

A profile is data: its UBL identifiers live in `render.ubl.document.PROFILES`, its rules
here. Nothing registers itself on import; adding a CIUS is one more row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faktura.compliance import en16931, faktura, france, peppol, xrechnung
from faktura.compliance.engine import RuleSet
from faktura.compliance.findings import Severity
from faktura.domain.document import FACTUR_X, FR_CTC, FR_CTC_EXTENDED, PEPPOL_BIS_3, XRECHNUNG_3, ZUGFERD


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    rule_sets: tuple[RuleSet, ...]
    #: severity overrides of the official validator configuration (KoSIT's `scenarios.xml`)
    overrides: dict[str, Severity] = field(default_factory=dict)
    #: official rule sets the test oracle runs for this profile (validate.py names)
    oracle: tuple[str, ...] = ()


PROFILES: dict[str, Profile] = {
    PEPPOL_BIS_3: Profile(
        name=PEPPOL_BIS_3,
        rule_sets=(en16931.RULE_SET, peppol.RULE_SET, faktura.RULE_SET),
        oracle=("en16931", "peppol"),
    ),
    XRECHNUNG_3: Profile(
        name=XRECHNUNG_3,
        rule_sets=(en16931.RULE_SET, xrechnung.RULE_SET, faktura.RULE_SET),
        overrides={"BR-CL-21": Severity.WARNING, "BR-CL-23": Severity.WARNING},
        oracle=("en16931", "xrechnung"),
    ),
    # Factur-X / ZUGFeRD (CII; syntax and level checked by `compliance.syntax`): EN 16931 itself
    FACTUR_X: Profile(
        name=FACTUR_X, rule_sets=(en16931.RULE_SET, faktura.RULE_SET), oracle=("facturx-en16931",)
    ),
    ZUGFERD: Profile(
        name=ZUGFERD, rule_sets=(en16931.RULE_SET, faktura.RULE_SET), oracle=("facturx-en16931",)
    ),
    # France (XP Z12-012): EN 16931 plus the BR-FR rules; EXTENDED-CTC-FR adds its own Schematron
    FR_CTC: Profile(
        name=FR_CTC,
        rule_sets=(en16931.RULE_SET, france.RULE_SET, faktura.RULE_SET),
        oracle=("en16931-1.3.16", "fr-ctc-1.4.0.03"),
    ),
    FR_CTC_EXTENDED: Profile(
        name=FR_CTC_EXTENDED,
        rule_sets=(en16931.RULE_SET, france.RULE_SET, france.RULE_SET_EXTENDED, faktura.RULE_SET),
        oracle=("en16931-1.3.16", "fr-ctc-1.4.0.03", "fr-ctc-extended-1.4.0.03"),
    ),
}

RULE_SETS: dict[str, RuleSet] = {
    rs.name: rs
    for rs in (
        en16931.RULE_SET,
        peppol.RULE_SET,
        xrechnung.RULE_SET,
        france.RULE_SET,
        france.RULE_SET_EXTENDED,
        faktura.RULE_SET,
    )
}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def rule_versions(name: str) -> dict[str, str]:
    """The versions of the official rule sets a document was checked against (stored on issue)."""
    return {
        rs.source if rs.source != "peppol" else "peppol_bis": rs.version
        for rs in profile(name).rule_sets
        if rs.source != "faktura"
    }


def select_profile(
    explicit: str | None,
    tenant_default: str | None,
    seller_country: str,
    buyer_country: str | None,
    buyer_reference: str | None,
    *,
    french_business_buyer: bool = False,
) -> str:
    """The profile an invoice is issued under: the one it names; else the tenant's default;
    else XRechnung when a German seller invoices a German public buyer (whose buyer reference
    BT-10 is a valid Leitweg-ID, as German public buyers require); else `fr-ctc` when a French
    seller invoices a French business (`domain.france.is_french_business`); else Peppol BIS 3."""
    from faktura.compliance.identifiers import leitweg_valid

    if explicit:
        return explicit
    if tenant_default:
        return tenant_default
    if seller_country == "FR" and french_business_buyer:
        return FR_CTC
    if (
        seller_country == "DE"
        and buyer_country == "DE"
        and buyer_reference
        and leitweg_valid(buyer_reference)
    ):
        return XRECHNUNG_3
    return PEPPOL_BIS_3
