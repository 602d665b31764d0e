"""Peppol BIS Billing 3.0 (UBL), as compiled at 3.0.18: transaction rules, identifier rules
and the national blocks, composed into one rule set."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from faktura.compliance.engine import Context, Rule, RuleSet
from faktura.compliance.peppol import common, rules
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
NO_ATTACHMENTS = "no additional documents (BG-24) in the input model"

RULE_SET = RuleSet(
    name="peppol-bis-3",
    version=PEPPOL_BIS_VERSION,
    source="peppol",
    rules=(*rules.RULES, *common.RULES, *(r for block in NATIONAL.values() for r in block)),
    not_applicable={
        **rules.NOT_APPLICABLE,
        **{f"GR-R-001-{i}": GREEK_NUMBER for i in range(1, 8)},
        "GR-R-004-1": "a MARK reference needs an additional document reference (BG-24), not in the input model; Greek sellers are refused under Peppol (FK-GR-UNSUPPORTED)",
        "GR-R-004-2": NO_ATTACHMENTS,
        "GR-R-008-2": NO_ATTACHMENTS,
        "GR-R-008-3": NO_ATTACHMENTS,
        "GR-S-008-1": NO_ATTACHMENTS + " (warning)",
        "IS-R-008": NO_ATTACHMENTS + " (EINDAGI)",
        "IS-R-009": NO_ATTACHMENTS + " (EINDAGI)",
        "IS-R-010": NO_ATTACHMENTS + " (EINDAGI)",
        "DE-R-022": NO_ATTACHMENTS,
        "PEPPOL-COMMON-R048": "commented out in the Schematron",
    },
)

__all__ = ["NATIONAL", "RULE_SET"]
