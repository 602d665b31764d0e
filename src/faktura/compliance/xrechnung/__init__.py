"""XRechnung 3.0 CIUS (KoSIT Schematron 2.3.0): BR-DE-* plus the Peppol rules KoSIT merges in.

The set *declares* what it builds on (`REQUIRES`); it does not subclass or copy the EN 16931
set. The German predicates are shared with Peppol's DE block (`peppol.national.de`); the
Peppol transaction rules KoSIT merges into its build are the same `Rule` objects.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from decimal import Decimal

from faktura.compliance.engine import Context, Rule, RuleSet
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import LEITWEG, leitweg_valid
from faktura.compliance.peppol import rules as peppol_rules
from faktura.compliance.peppol.national.de import KEYS, german_rules, string_code_in
from faktura.compliance.predicates import present

XRECHNUNG_VERSION = "2.3.0"  # KoSIT Schematron, XRechnung 3.0.2
REQUIRES = ("en16931",)


def _br_de_id(key: str) -> str:
    number, _, part = key.partition("-")
    return f"BR-DE-{int(number)}" + (f"-{'ab'[int(part) - 1]}" if part else "")


#: the Peppol rules KoSIT merges into the XRechnung Schematron build
MERGED_PEPPOL = frozenset(
    f"PEPPOL-EN16931-R{n}"
    for n in (
        [
            "001",
            "005",
            "008",
            "010",
            "020",
            "040",
            "041",
            "042",
            "043",
            "044",
            "046",
            "053",
            "054",
            "055",
            "061",
            "101",
            "110",
            "111",
            "120",
            "121",
            "130",
        ]
    )
)


def _leitweg(ctx: Context) -> Iterator[str]:
    """BT-10 that has the shape of a Leitweg-ID must carry a valid check digit (ISO 7064 97-10)."""
    ref = ctx.invoice.buyer_reference
    if ref and present(ref) and LEITWEG.match(ref.strip()) and not leitweg_valid(ref.strip()):
        yield ctx.at("buyer_reference")


URL = re.compile(r"^([a-zA-Z])([a-zA-Z0-9+.-])+:.*")  # `$XR-URL-REGEX`


def _external_urls(ctx: Context) -> Iterator[str]:
    """BR-TMP-2: BT-124 should be an absolute URL with a scheme."""
    for i, doc in enumerate(ctx.invoice.attachments):
        if doc.url and doc.url.strip() and not URL.search(doc.url):
            yield ctx.at("attachments", i, "url")


def _always(ctx: Context) -> bool:
    return True


#: KoSIT's `$slackValue` (2.3.0 and 2.5.0): 0.5 for HUF, 0.02 otherwise, in the merged Peppol
#: R040 and R120, where Peppol itself always allows 0.02

HUF_SLACK = Decimal("0.5")


def slack(ctx: Context) -> Decimal:
    """`if ($documentCurrencyCode = 'HUF') then 0.5 else 0.02`."""
    return HUF_SLACK if ctx.currency == "HUF" else peppol_rules.CENT2


def _r040(ctx: Context) -> Iterator[str]:
    tolerance = slack(ctx)
    for where, src, amount, base in peppol_rules.all_acs(ctx):
        if src.percentage is not None and base is not None:
            expected = base * src.percentage / 100
            if not (amount - tolerance <= expected <= amount + tolerance):
                yield f"{ctx.ptr(where)}/amount"


def _r120(ctx: Context) -> Iterator[str]:
    """On input, as Peppol's R120, with the currency's tolerance."""
    if ctx.totals is None:
        return
    tolerance = slack(ctx)
    for i, (li, lt) in enumerate(zip(ctx.invoice.line_items, ctx.totals.lines, strict=True)):
        if (
            li.total_amount is not None
            and abs(li.total_amount - peppol_rules.line_net_unrounded(li, lt)) > tolerance
        ):
            yield ctx.at("line_items", i, "total_amount")


SLACK_RULES = ("PEPPOL-EN16931-R040", "PEPPOL-EN16931-R120")


def with_slack(old: Rule) -> Rule:
    """The merged Peppol R040 / R120 with KoSIT's `$slackValue` instead of a fixed 0.02."""
    return dataclasses.replace(
        old, check={"PEPPOL-EN16931-R040": _r040, "PEPPOL-EN16931-R120": _r120}[old.id]
    )


RULES: tuple[Rule, ...] = (
    *german_rules({k: _br_de_id(k) for k in KEYS}, _always, string_code_in),
    *(with_slack(r) if r.id in SLACK_RULES else r for r in peppol_rules.RULES if r.id in MERGED_PEPPOL),
    Rule(
        "BR-TMP-2",
        Severity.WARNING,
        'BT-124 "External document location" should contain an absolute URL with a valid scheme.',
        _external_urls,
        "BT-124",
    ),
    Rule(
        "FK-LEITWEG-ID",
        Severity.WARNING,
        "The buyer reference (BT-10) looks like a Leitweg-ID but its check digits are wrong.",
        _leitweg,
        "BT-10",
    ),
)

RULE_SET = RuleSet(
    name="xrechnung-3",
    version=XRECHNUNG_VERSION,
    source="xrechnung",
    rules=RULES,
    not_applicable={
        "BR-DE-21": "holds by construction: the renderer writes the XRechnung CIUS CustomizationID (warning)",
        **{
            rid: "XRechnung Extension only (CustomizationID …#conformant#…extension); Faktura writes the CIUS"
            for rid in (
                "BR-DEX-01",
                "BR-DEX-02",
                "BR-DEX-03",
                "BR-DEX-04",
                "BR-DEX-05",
                "BR-DEX-06",
                "BR-DEX-07",
                "BR-DEX-08",
                "BR-DEX-09",
                "BR-DEX-10",
                "BR-DEX-11",
                "BR-DEX-12",
                "BR-DEX-13",
                "BR-DEX-14",
            )
        },
    },
)

#: 2.5.0 (2026-01-31): the same rules, but the merged Peppol R120 is now a warning; the new
#: asserts belong to the CVD variant and one information-level hint
RULES_2_5_0 = tuple(
    dataclasses.replace(r, severity=Severity.WARNING) if r.id == "PEPPOL-EN16931-R120" else r for r in RULES
)
RULE_SET_2_5_0 = RuleSet(
    name=RULE_SET.name,
    version="2.5.0",
    source="xrechnung",
    rules=RULES_2_5_0,
    not_applicable={
        **RULE_SET.not_applicable,
        "BR-DE-21": "holds by construction: the renderer writes the XRechnung CIUS CustomizationID (warning; 2.5.0 also accepts the CVD id)",
        **{
            rid: "XRechnung CVD variant only (CustomizationID …#compliant#urn:xeinkauf.de:kosit:xrechnung:cvd_0.9); Faktura writes the CIUS"
            for rid in (
                "BR-DE-CVD-01",
                "BR-DE-CVD-02",
                "BR-DE-CVD-03",
                "BR-DE-CVD-04",
                "BR-DE-CVD-05",
                "BR-DE-CVD-06-a",
                "BR-DE-CVD-06-b",
                "BR-TMP-CVD-01",
            )
        },
        "BR-DE-TMP-32": "information only (a delivery date or invoicing period is recommended); not a finding",
    },
)
VERSIONS = {rs.version: rs for rs in (RULE_SET, RULE_SET_2_5_0)}

#: changed variables of the 2.3.0 -> 2.5.0 release diff (`docs/rule-diff-xrechnung-2.3.0-2.5.0.md`)
#: and why none needs a new predicate
LETS_2_5_0: dict[str, str] = {
    **dict.fromkeys(
        (
            "CVA-CODES",
            "CVD-CODE",
            "CVD-MAJOR-MINOR-VERSION",
            "CVD-VEHICLE-CATEGORY",
            "UNTDID-7143-CODES",
            "UNTDID-7143-CVD-CODES",
            "XR-CVD-ID",
            "isCVD",
        ),
        "read only by the CVD variant's asserts (BR-DE-CVD-*, BR-TMP-CVD-01) and BR-DE-21; Faktura writes the CIUS",
    ),
    "CEF-EAS-CODES": "read only through CEF-EAS-EXT-CODES, by the Extension's asserts (BR-DEX-*); the CIUS checks EAS with BR-CL-25",
    "ISO-6523-ICD-CODES": "read only through ISO-6523-ICD-EXT-CODES, by the Extension's asserts (BR-DEX-*); the CIUS checks ICD with BR-CL-10/11",
}

__all__ = ["REQUIRES", "RULE_SET", "RULE_SET_2_5_0", "VERSIONS", "XRECHNUNG_VERSION"]
