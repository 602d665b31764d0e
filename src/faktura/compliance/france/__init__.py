"""France CTC (FNFE-MPE release 1.4.0.03, XP Z12-012): the BR-FR rules of the UBL Schematron.

One module per rule group: `codes` (code lists), `identifiers` (SIREN, SIRET, addresses),
`notes` (subject codes), `documents` (dates, references, billing-mode consistency, decimals).
Every id is the official assert id, as the validator reports it. What the Schematron asserts
that Faktura's model cannot produce, or that another rule shadows, is listed in
`not_applicable` with the reason (`docs/france.md` carries the table).
"""

from __future__ import annotations

from faktura.compliance.engine import RuleSet
from faktura.compliance.france import codes, documents, identifiers, notes
from faktura.compliance.france.coverage import NOT_APPLICABLE, NOT_APPLICABLE_EXTENDED

FR_CTC_VERSION = "1.4.0.03"

RULE_SET = RuleSet(
    name="fr-ctc",
    version=FR_CTC_VERSION,
    source="fr-ctc",
    rules=(*codes.RULES, *identifiers.RULES, *notes.RULES, *documents.RULES),
    not_applicable=NOT_APPLICABLE,
)
#: EXTENDED-CTC-FR: the same BR-FR rules (its Schematron repeats them); what EXTENDED adds
#: for sub-lines and extra parties has no place in the model (`documents.unsupported_mode`)
RULE_SET_EXTENDED = RuleSet(
    name="fr-ctc-extended",
    version=FR_CTC_VERSION,
    source="fr-ctc-extended",
    rules=(),
    not_applicable=NOT_APPLICABLE_EXTENDED,
)
VERSIONS = {FR_CTC_VERSION: RULE_SET}
VERSIONS_EXTENDED = {FR_CTC_VERSION: RULE_SET_EXTENDED}

__all__ = ["FR_CTC_VERSION", "RULE_SET", "RULE_SET_EXTENDED", "VERSIONS", "VERSIONS_EXTENDED"]
