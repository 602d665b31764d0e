"""What several BR-FR groups read: the notes as the Schematron joins them, the billing mode,
the parties' French identifiers as they will be written, and the shared preconditions."""

from __future__ import annotations

from faktura.compliance.engine import Context
from faktura.domain import france
from faktura.domain.invoice import Identifier, Party

#: BT-3 codes of self-billed documents (autofacturation)
SELF_BILLED = frozenset({"389", "501", "500", "471", "473", "261", "502"})
#: the multi-vendor (8) and bidirectional (9) billing modes: their sub-lines have no place here
SUB_LINE_MODES = frozenset({"B8", "S8", "M8", "B9", "S9", "M9"})
BAR_TREATMENTS = frozenset({"B2B", "B2BINT", "B2C", "B2CINT", "OUTOFSCOPE", "ARCHIVEONLY"})


def all_notes(ctx: Context) -> str:
    """`string-join(./cbc:Note, '')`: the notes as written, run together without a separator."""
    return ctx.memo("fr.notes", lambda: "".join(n for n in ctx.invoice.notes if n.strip()))


def subject_value(ctx: Context, code: str) -> str:
    """The Schematron's reading of a subject code's value: the text after the first `#CODE#`
    of the joined notes, up to the next `#` ('' when no note carries the code)."""
    joined = all_notes(ctx)
    marker = f"#{code}#"
    if marker not in joined:
        return ""
    after = joined.split(marker, 1)[1]
    return after.split("#", 1)[0]


def legal_id(party: Party | None) -> Identifier | None:
    return france.legal_id(party) if party is not None else None


def siren_written(party: Party | None) -> str | None:
    """`PartyLegalEntity/CompanyID[@schemeID='0002']` as written ('' is absent)."""
    ident = legal_id(party)
    if ident is None or ident.scheme != france.SIREN_SCHEME or not ident.value.strip():
        return None
    return ident.value


def identifiers(party: Party | None) -> list[Identifier]:
    return france.identifiers(party) if party is not None else []
