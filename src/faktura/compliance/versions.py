"""Rule-set versions as data: each official family, its versions, when each takes effect, and why.

A receiving access point validates with the version in force on the day it receives the
document, so Faktura checks with the version in force on the day of the check. A version is a
row (family, version, effective from, source); `implemented` says whether Faktura carries its
rules natively. Where the version in force is not implemented, the newest implemented one not
newer than it applies, and the check says so (`Applied.note`).

The dates and their sources are those of the conformance kit's `VERSIONS.md`; the kit path of
each version's `.sch` (`sch`) and its validator name (`oracle`) feed the release-diff tool
(`scripts/rule_release_diff.py`) and the differential test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EN16931 = "en16931"
PEPPOL = "peppol"
XRECHNUNG = "xrechnung"
#: France (FNFE-MPE, XP Z12-012): the BR-FR rules of the EN 16931 profile and of EXTENDED-CTC-FR
FR_CTC = "fr-ctc"
FR_CTC_EXTENDED = "fr-ctc-extended"
#: the families as they are named in an issued document's `rule_versions`
STORED_NAME = {
    EN16931: "en16931",
    PEPPOL: "peppol_bis",
    XRECHNUNG: "xrechnung",
    FR_CTC: "fr_ctc",
    FR_CTC_EXTENDED: "fr_ctc_extended",
}
TITLES = {
    EN16931: "EN 16931",
    PEPPOL: "Peppol BIS Billing",
    XRECHNUNG: "XRechnung Schematron",
    FR_CTC: "France CTC (BR-FR)",
    FR_CTC_EXTENDED: "France CTC EXTENDED-CTC-FR",
}

#: how many days before a version takes effect its findings are previewed as warnings
PREVIEW_DAYS = 90


@dataclass(frozen=True, slots=True)
class RuleVersion:
    family: str
    version: str
    effective_from: dt.date
    source: str
    implemented: bool
    #: the version's official Schematron in the conformance kit (None: not in the kit)
    sch: str | None = None
    #: the conformance kit's validator name of this version (None: no compiled XSLT in the kit)
    oracle: str | None = None

    @property
    def title(self) -> str:
        return TITLES[self.family]

    @property
    def label(self) -> str:
        return f"{self.title} {self.version}"


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


VERSIONS: tuple[RuleVersion, ...] = (
    RuleVersion(EN16931, "1.3.15", _d("2025-10-17"), "CEN tag validation-1.3.15 (2025-10-17)", False),
    RuleVersion(
        EN16931,
        "1.3.16",
        _d("2026-04-13"),
        "CEN tag validation-1.3.16, merged 2026-04-13 (ConnectingEurope/eInvoicing-EN16931 b6c9e06a)",
        True,
        "schematron/en16931-ubl/preprocessed/EN16931-UBL-validation-preprocessed.sch",
        "en16931-1.3.16",
    ),
    RuleVersion(
        PEPPOL,
        "3.0.18",
        _d("2025-02-17"),
        "OpenPeppol release notes v3.0.18; phive-rules PeppolValidation2024_11.VALID_PER",
        True,
        "schematron/peppol-bis-3/xslt-3.0.18/PEPPOL-EN16931-UBL-3.0.18.sch",
        "peppol-3.0.18",
    ),
    RuleVersion(
        PEPPOL,
        "3.0.19",
        _d("2025-08-25"),
        "OpenPeppol guide/release-notes/v3.0.19.adoc @ 78d7f7df (mandatory 2025-08-25)",
        False,
        "schematron/peppol-bis-3/PEPPOL-EN16931-UBL.sch",
        "peppol-3.0.19",
    ),
    RuleVersion(
        PEPPOL,
        "3.0.20",
        _d("2026-02-23"),
        "OpenPeppol guide/release-notes/v3.0.20.adoc (mandatory 2026-02-23); not in the kit",
        False,
    ),
    RuleVersion(
        PEPPOL,
        "3.0.21",
        _d("2026-08-24"),
        "OpenPeppol guide/release-notes/v3.0.21.adoc (published 2026-05-20, mandatory 2026-08-24)",
        True,
        "schematron/peppol-bis-3.0.21/PEPPOL-EN16931-UBL.sch",
        "peppol-3.0.21",
    ),
    RuleVersion(
        PEPPOL,
        "3.0.22",
        _d("2026-12-14"),
        "OpenPeppol 3.0.22 hotfix, RFC-585 (PEPPOL-EN16931-P0112: 384 also SK-SK, 326/389 DE-DE), mandatory"
        " 2026-12-14 (kit VERSIONS.md, provisional); no artefact in the kit",
        True,
    ),
    RuleVersion(
        PEPPOL,
        "3.1.0",
        _d("2027-02-22"),
        "OpenPeppol Billing 3.1.0 (R140-R276 and more), mandatory 2027-02-22 (kit VERSIONS.md, provisional)",
        False,
    ),
    RuleVersion(
        XRECHNUNG,
        "2.3.0",
        _d("2025-03-21"),
        "KoSIT xrechnung-schematron release-2.3.0, bundle 2025-03-21",
        True,
        "schematron/xrechnung/ubl/XRechnung-UBL-validation.sch",
        "xrechnung-2.3.0",
    ),
    RuleVersion(XRECHNUNG, "2.4.0", _d("2025-07-10"), "KoSIT xrechnung-schematron release 2025-07-10", False),
    RuleVersion(
        XRECHNUNG,
        "2.5.0",
        _d("2026-01-31"),
        "KoSIT xrechnung-schematron 2.5.0 CHANGELOG.md (release 2026-01-31)",
        True,
        "schematron/xrechnung-2.5.0/ubl/XRechnung-UBL-validation.sch",
        "xrechnung-2.5.0",
    ),
    RuleVersion(
        XRECHNUNG, "2.6.0", _d("2026-08-31"), "KoSIT release 2026-08-31 (kit VERSIONS.md; not stored)", False
    ),
    RuleVersion(
        FR_CTC,
        "1.4.0.03",
        _d("2026-09-01"),
        "FNFE-MPE France_RFE release 1.4.0.03 (2026-08-04; XP Z12-012 V1.4), in force with the reform"
        " on 2026-09-01 (kit VERSIONS.md)",
        True,
        "schematron/fr-ctc-1.4.0.03/UBL/EN16931/schematron/BR-FR-Flux2-Schematron-UBL.sch",
        "fr-ctc-1.4.0.03",
    ),
    RuleVersion(
        FR_CTC_EXTENDED,
        "1.4.0.03",
        _d("2026-09-01"),
        "FNFE-MPE France_RFE release 1.4.0.03, EXTENDED-CTC-FR (2026-08-04), in force 2026-09-01 (kit VERSIONS.md)",
        True,
        "schematron/fr-ctc-1.4.0.03/UBL/EXTENDED-CTC-FR/schematron/EXTENDED-CTC-FR-UBL.sch",
        "fr-ctc-extended-1.4.0.03",
    ),
)


def family_versions(family: str) -> list[RuleVersion]:
    """The versions of a family, oldest first."""
    rows = [v for v in VERSIONS if v.family == family]
    if not rows:
        raise ValueError(f"unknown rule family {family!r}")
    return sorted(rows, key=lambda v: v.effective_from)


def version(family: str, name: str) -> RuleVersion:
    for v in family_versions(family):
        if v.version == name:
            return v
    raise ValueError(f"unknown {family} version {name!r}")


def in_force(family: str, day: dt.date) -> RuleVersion:
    """The version in force on `day` (the oldest known one before the first date)."""
    rows = family_versions(family)
    current = rows[0]
    for v in rows:
        if v.effective_from <= day:
            current = v
    return current


@dataclass(frozen=True, slots=True)
class Applied:
    """The version a check applies for one family, and why."""

    family: str
    applied: RuleVersion
    in_force: RuleVersion
    #: the tenant opted into this version before it takes effect
    early: bool = False

    @property
    def note(self) -> str | None:
        if self.early:
            return f"{self.applied.label} applied ahead of its date {self.applied.effective_from} (tenant opt-in)."
        if self.applied is not self.in_force:
            which = (
                "the newest implemented version not newer"
                if self.applied.effective_from <= self.in_force.effective_from
                else "the oldest implemented version"
            )
            return (
                f"{self.in_force.label} is in force since {self.in_force.effective_from}; Faktura does not"
                f" implement it and applies {self.applied.label}, {which}."
            )
        return None


def applied(family: str, day: dt.date, opt_in: tuple[str, ...] = ()) -> Applied:
    """The implemented version a check on `day` applies: the one in force, else the newest
    implemented one not newer (else the oldest implemented); a tenant's opt-in (`"peppol:3.0.22"`)
    brings an implemented upcoming version forward."""
    current = in_force(family, day)
    rows = family_versions(family)
    implemented = [v for v in rows if v.implemented]
    for key in opt_in:
        fam, _, name = key.partition(":")
        if fam == family and valid_opt_in(key):
            wanted = version(family, name)
            if wanted.effective_from > day:
                return Applied(family, wanted, current, early=True)
    older = [v for v in implemented if v.effective_from <= current.effective_from]
    return Applied(family, older[-1] if older else implemented[0], current)


def upcoming(family: str, day: dt.date, after: RuleVersion) -> list[RuleVersion]:
    """Implemented versions newer than `after` that take effect within `PREVIEW_DAYS` of `day`."""
    horizon = day + dt.timedelta(days=PREVIEW_DAYS)
    return [
        v
        for v in family_versions(family)
        if v.implemented and v.effective_from > after.effective_from and day < v.effective_from <= horizon
    ]


def valid_opt_in(key: str) -> bool:
    fam, _, name = key.partition(":")
    return any(v.family == fam and v.version == name and v.implemented for v in VERSIONS)
