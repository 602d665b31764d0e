"""Which syntax and Factur-X level a profile is issued in: data, shared by the compliance
check (which refuses what does not exist) and the renderers (which produce what does)."""

from __future__ import annotations

from faktura.domain.document import FACTUR_X, FR_CTC, FR_CTC_EXTENDED, PEPPOL_BIS_3, XRECHNUNG_3, ZUGFERD

UBL = "ubl"
CII = "cii"
FACTURX_PROFILES = frozenset({FACTUR_X, ZUGFERD})
DEFAULT_LEVEL = "EN16931"
#: the Factur-X / ZUGFeRD levels that are invoices and that Faktura issues
ISSUED_LEVELS = ("BASIC", "EN16931", "EXTENDED")
#: profile -> the syntaxes it is issued in, the first being its own
SYNTAXES: dict[str, tuple[str, ...]] = {
    PEPPOL_BIS_3: (UBL,),
    XRECHNUNG_3: (UBL, CII),
    FACTUR_X: (CII,),
    ZUGFERD: (CII,),
    # France: UBL or CII; in CII, a conformance level makes it a Factur-X (FRENCH_FACTURX_LEVELS)
    FR_CTC: (UBL, CII),
    FR_CTC_EXTENDED: (UBL, CII),
}
#: France: the one Factur-X level of each French profile; its XML is the profile's own CII
#: (EXTENDED-CTC-FR under the Factur-X EXTENDED specification id)
FRENCH_FACTURX_LEVELS = {FR_CTC: "EN16931", FR_CTC_EXTENDED: "EXTENDED"}


def allowed_syntaxes(profile: str | None) -> tuple[str, ...]:
    return SYNTAXES.get(profile or PEPPOL_BIS_3, (UBL,))


def resolve_syntax(profile: str | None, explicit: str | None, tenant_default: str | None) -> str | None:
    """The syntax an invoice is issued in: the one it names (checked by FK-SYNTAX); else the
    tenant's default when the profile allows it; else None, the profile's own (so that the
    stored model of an invoice in its profile's syntax stays as it was sent)."""
    if explicit:
        return explicit
    allowed = allowed_syntaxes(profile)
    if tenant_default in allowed and tenant_default != allowed[0]:
        return tenant_default
    return None


def syntax_of(profile: str | None, resolved: str | None) -> str:
    return resolved or allowed_syntaxes(profile)[0]


def resolve_level(profile: str | None, explicit: str | None, tenant_default: str | None) -> str | None:
    """Factur-X / ZUGFeRD only: the level it names; else the tenant's; else EN16931. A level
    named outside Factur-X is kept, for FK-SYNTAX to refuse."""
    if profile not in FACTURX_PROFILES:
        return explicit
    return explicit or tenant_default or DEFAULT_LEVEL


def facturx_level(profile: str | None, level: str | None) -> str | None:
    """The Factur-X level of an invoice issued as a Factur-X hybrid PDF, else None: every
    Factur-X / ZUGFeRD invoice, and a French one in CII naming its profile's level."""
    if profile in FACTURX_PROFILES:
        return level or DEFAULT_LEVEL
    if profile is not None and level is not None and FRENCH_FACTURX_LEVELS.get(profile) == level:
        return level
    return None
