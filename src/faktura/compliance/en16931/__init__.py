"""EN 16931 (CEN/TC 434) validation artefacts 1.3.16, UBL binding: one module per rule family."""

from __future__ import annotations

from faktura.compliance.en16931 import cl, co, core, dec, syntax, vat
from faktura.compliance.engine import RuleSet
from faktura.domain.codelists import EN16931_VERSION

RULE_SET = RuleSet(
    name="en16931",
    version=EN16931_VERSION,
    source="en16931",
    rules=(*core.RULES, *co.RULES, *dec.RULES, *cl.RULES, *vat.RULES, *syntax.RULES),
    not_applicable={
        **core.NOT_APPLICABLE,
        **co.NOT_APPLICABLE,
        **dec.NOT_APPLICABLE,
        **cl.NOT_APPLICABLE,
        **vat.NOT_APPLICABLE,
        **syntax.NOT_APPLICABLE,
    },
)

__all__ = ["RULE_SET"]
