"""Which rules a check applies on a given day: the profile's families at their versions in force.

`faktura.compliance.versions` says which version of each family is in force on a day;
this module maps versions to rule sets and builds the versioned `Profile` a check runs
(`select`), and the upcoming-rules preview (`preview`): in the `PREVIEW_DAYS` before an
implemented version takes effect, what it would reject comes back as warnings naming the date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass

from faktura.compliance import en16931, faktura, france, peppol, xrechnung
from faktura.compliance.basic import examine
from faktura.compliance.engine import RuleSet
from faktura.compliance.findings import Finding, Severity
from faktura.compliance.profiles import PROFILES, Profile
from faktura.compliance.profiles import profile as base_profile
from faktura.compliance.versions import (
    EN16931,
    FR_CTC,
    FR_CTC_EXTENDED,
    PEPPOL,
    STORED_NAME,
    XRECHNUNG,
    Applied,
    RuleVersion,
    applied,
    upcoming,
    version,
)
from faktura.domain.document import FACTUR_X, PEPPOL_BIS_3, XRECHNUNG_3, ZUGFERD
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.totals import Totals

#: (family, version) -> the rule set that implements it
RULE_SETS: dict[tuple[str, str], RuleSet] = {
    (EN16931, en16931.RULE_SET.version): en16931.RULE_SET,
    **{(PEPPOL, v): rs for v, rs in peppol.VERSIONS.items()},
    **{(XRECHNUNG, v): rs for v, rs in xrechnung.VERSIONS.items()},
    **{(FR_CTC, v): rs for v, rs in france.VERSIONS.items()},
    **{(FR_CTC_EXTENDED, v): rs for v, rs in france.VERSIONS_EXTENDED.items()},
}
#: the official families of each profile, in rule-set order (Faktura's own rules follow)
FAMILIES: dict[str, tuple[str, ...]] = {
    PEPPOL_BIS_3: (EN16931, PEPPOL),
    XRECHNUNG_3: (EN16931, XRECHNUNG),
    FACTUR_X: (EN16931,),
    ZUGFERD: (EN16931,),
    # the French profiles are named as their rule families (`domain.document.FR_CTC`, ...)
    FR_CTC: (EN16931, FR_CTC),
    FR_CTC_EXTENDED: (EN16931, FR_CTC, FR_CTC_EXTENDED),
}
#: profiles judged by their own official validator (Factur-X's Schematron), not their families'
OWN_ORACLE = frozenset({FACTUR_X, ZUGFERD})


@functools.cache
def versioned_profile(name: str, versions: tuple[tuple[str, str], ...]) -> Profile:
    """The profile `name` with each family at the given version ((family, version), …)."""
    base = base_profile(name)
    chosen = dict(versions)
    families = FAMILIES[name]
    missing = set(families) - chosen.keys()
    if missing:
        raise ValueError(f"no version given for {sorted(missing)}")
    oracle = tuple(version(f, chosen[f]).oracle or "" for f in families)
    if name in OWN_ORACLE:
        oracle = base.oracle
    return Profile(
        name=name,
        rule_sets=(*(RULE_SETS[(f, chosen[f])] for f in families), faktura.RULE_SET),
        overrides=base.overrides,
        oracle=oracle if all(oracle) else (),
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """The versions a check on `day` applies, and the profile built from them."""

    day: dt.date
    profile: Profile
    applied: tuple[Applied, ...]

    @property
    def versions(self) -> dict[str, str]:
        """What is stored on an issued document (`rule_versions`)."""
        return {STORED_NAME[a.family]: a.applied.version for a in self.applied}

    @property
    def notes(self) -> list[str]:
        return [n for a in self.applied if (n := a.note)]


def select(name: str, day: dt.date, opt_in: tuple[str, ...] = ()) -> Selection:
    """The profile `name` as it applies on `day` (a tenant's `opt_in` brings versions forward)."""
    if name not in PROFILES:
        base_profile(name)  # raises the usual error
    chosen = tuple(applied(f, day, opt_in) for f in FAMILIES[name])
    prof = versioned_profile(name, tuple((a.family, a.applied.version) for a in chosen))
    return Selection(day, prof, chosen)


def upcoming_profiles(selection: Selection) -> list[tuple[RuleVersion, Profile]]:
    """For each implemented version that takes effect within the preview window, the profile
    of the rules that version adds or changes against today's (`changed_rules`)."""
    out = []
    current = {a.family: a.applied.version for a in selection.applied}
    for a in selection.applied:
        for v in upcoming(a.family, selection.day, a.applied):
            versions = tuple((f, v.version if f == a.family else current[f]) for f in current)
            out.append(
                (v, changed_rules(selection.profile, versioned_profile(selection.profile.name, versions)))
            )
    return out


def changed_rules(today: Profile, later: Profile) -> Profile:
    """`later` without the rules it shares with `today`: a shared rule (the same object, at the
    same severity) finds the same things under both, so only the others can add a rejection.
    This keeps the preview's cost to the rules a release changed. Made once per pair (both
    are `versioned_profile`s, which live as long as the process)."""
    key = (id(today), id(later))
    cached = _CHANGED.get(key)
    if cached is None:
        kept = {id(r) for rs in today.rule_sets for r in rs.rules}
        sets = tuple(
            dataclasses.replace(rs, rules=tuple(r for r in rs.rules if id(r) not in kept))
            for rs in later.rule_sets
        )
        cached = _CHANGED[key] = dataclasses.replace(later, rule_sets=tuple(rs for rs in sets if rs.rules))
    return cached


_CHANGED: dict[tuple[int, int], Profile] = {}


def preview_findings(current: list[Finding], later: list[Finding], v: RuleVersion) -> list[Finding]:
    """The fatal findings of the upcoming version `v` that today's rules do not report, as
    warnings naming the date from which they reject."""
    today = {(f.rule_id, f.pointer) for f in current if f.fatal}
    out = []
    for f in later:
        if f.fatal and f.rule_id and (f.rule_id, f.pointer) not in today:
            out.append(
                Finding(
                    rule_id=f.rule_id,
                    severity=Severity.WARNING,
                    title="Upcoming Rule",
                    detail=f"rejected from {v.effective_from} under {v.label}: {f.detail}",
                    pointer=f.pointer,
                    problem_type="UPCOMING_RULE",
                    business_term=f.business_term,
                )
            )
    return out


def check_on(
    invoice: InvoiceInput,
    *,
    seller: Party | None,
    buyer: Party | None,
    day: dt.date,
    opt_in: tuple[str, ...] = (),
    buyer_pointer: str = "/model/buyer",
    preview: bool = True,
) -> tuple[list[Finding], Totals | None, Selection]:
    """`check_invoice` under the versions in force on `day`, plus (with `preview`) what the
    versions taking effect within the preview window would reject, as warnings."""
    selection = select(invoice.profile or PEPPOL_BIS_3, day, opt_in)
    # examined once: the request's shape, numbers and totals are the same under every version
    examined = examine(invoice, seller=seller, buyer=buyer, buyer_pointer=buyer_pointer)
    findings = examined.run(selection.profile)
    if preview:
        for v, later in upcoming_profiles(selection):
            findings += preview_findings(findings, examined.run(later), v)
    return findings, examined.totals, selection
