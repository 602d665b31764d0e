"""Peppol BIS Billing 3.0 (UBL), as compiled at 3.0.18: transaction rules, identifier rules
and the national blocks, composed into one rule set."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from faktura.compliance.engine import Context, Rule, RuleSet
from faktura.compliance.peppol import common, rules, v3_0_21, v3_0_22
from faktura.compliance.peppol.national import de, dk, gr, is_, it, nl, no, se, supplier_country
from faktura.domain.codelists import PEPPOL_BIS_VERSION


def _gate(rules: tuple[Rule, ...], when: Callable[[Context], bool]) -> tuple[Rule, ...]:
    """A national block applies under one condition on the seller (and buyer) country; checking
    it once per rule keeps the other countries' rules off the hot path."""
    return tuple(dataclasses.replace(r, when=when) for r in rules)


NATIONAL: dict[str, tuple[Rule, ...]] = {
    "NO": _gate(no.RULES, lambda c: supplier_country(c) == "NO"),
    "DK": _gate(dk.RULES, lambda c: c.seller_country == "DK"),
    "SE": _gate(se.RULES, lambda c: c.seller_country == "SE"),
    "IT": _gate(it.RULES, lambda c: supplier_country(c) == "IT"),
    "NL": _gate(nl.RULES, lambda c: (c.seller_country or "").upper() == "NL"),
    "GR": _gate(gr.RULES, gr.greek_sender),
    "IS": _gate(is_.RULES, lambda c: c.seller_country == "IS"),
    "DE": _gate(
        de.RULES,
        lambda c: (c.seller_country or "").upper() == "DE" and (c.buyer_country or "").upper() == "DE",
    ),
}

GREEK_NUMBER = "depends on the invoice number, assigned at issue; Greek sellers are refused under Peppol (FK-GR-UNSUPPORTED)"
GREEK_REFUSED = "the Greek MARK / invoice URL documents (BG-24) are not written; Greek sellers are refused under Peppol (FK-GR-UNSUPPORTED)"

RULE_SET = RuleSet(
    name="peppol-bis-3",
    version=PEPPOL_BIS_VERSION,
    source="peppol",
    rules=(*rules.RULES, *common.RULES, *(r for block in NATIONAL.values() for r in block)),
    not_applicable={
        **rules.NOT_APPLICABLE,
        **{f"GR-R-001-{i}": GREEK_NUMBER for i in range(1, 8)},
        "GR-R-004-1": "a MARK reference needs an additional document reference (BG-24), not in the input model; Greek sellers are refused under Peppol (FK-GR-UNSUPPORTED)",
        "GR-R-004-2": GREEK_REFUSED,
        "GR-R-008-2": GREEK_REFUSED,
        "GR-R-008-3": GREEK_REFUSED,
        "GR-S-008-1": GREEK_REFUSED + " (warning)",
        "GR-S-011": "warning: the Greek supplier VAT id (EL + nine digits); Greek sellers are refused under Peppol (FK-GR-UNSUPPORTED)",
        "PEPPOL-COMMON-R048": "commented out in the Schematron",
    },
)

#: 3.0.21: the rules whose test changed get their 3.0.21 predicate, new rules are added, the
#: rest are the 3.0.18 rule objects (`peppol.v3_0_21`)
RULE_SET_3_0_21 = RuleSet(
    name=RULE_SET.name,
    version=v3_0_21.VERSION,
    source="peppol",
    rules=v3_0_21.revise(RULE_SET.rules),
    not_applicable={**RULE_SET.not_applicable, **v3_0_21.NOT_APPLICABLE},
)
#: 3.0.22 hotfix: 3.0.21 with PEPPOL-EN16931-P0112 changed (`peppol.v3_0_22`)
RULE_SET_3_0_22 = RuleSet(
    name=RULE_SET.name,
    version=v3_0_22.VERSION,
    source="peppol",
    rules=v3_0_22.revise(RULE_SET_3_0_21.rules),
    not_applicable=RULE_SET_3_0_21.not_applicable,
)
VERSIONS = {rs.version: rs for rs in (RULE_SET, RULE_SET_3_0_21, RULE_SET_3_0_22)}

__all__ = ["NATIONAL", "RULE_SET", "RULE_SET_3_0_21", "RULE_SET_3_0_22", "VERSIONS"]
