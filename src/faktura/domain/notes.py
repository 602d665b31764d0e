"""Notes (BG-1) with their subject code (BT-21) and text (BT-22), for every syntax.

UBL has no element for the subject code: a note carries it as a `#CODE#` prefix, the form the
French rules read in UBL (`#PMT#…`, BR-FR-05). CII has `ram:SubjectCode` beside
`ram:Content`, where the French CII rules read it. One parse, shared by the CII renderer and
the CII form of those rules, so that they agree on every note.
"""

from __future__ import annotations

import re

#: `#CODE#text`: a UNTDID 4451 subject code (three capital letters) before the text
_SUBJECT = re.compile(r"^#([A-Z]{3})#(.*)$", re.DOTALL)


def subject_and_text(note: str) -> tuple[str | None, str]:
    """(BT-21, BT-22) of a note: `('PMT', 'Indemnité …')` for `#PMT#Indemnité …`, else
    `(None, note)`."""
    m = _SUBJECT.match(note)
    return (m.group(1), m.group(2)) if m else (None, note)
