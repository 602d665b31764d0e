"""The re-check at send: an issued invoice judged again under the rule versions in force today.

A receiving access point validates with the versions in force on the day it receives the
document. When a newer version has taken effect since the invoice was issued, the send checks
the issued invoice (its stored request, seller and buyer) again under today's versions; the
delivery carries the result (`rule_check`). The issued invoice itself never changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from faktura.compliance.findings import error_object
from faktura.compliance.rulebook import check_on, select
from faktura.domain.invoice import InvoiceInput, Party


def recheck(
    model: dict[str, Any], issued: dict[str, Any], day: dt.date, opt_in: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The findings of the issued invoice under the versions in force on `day`, or None when
    those are the versions it was issued under."""
    profile = issued["profile"]
    if select(profile, day, opt_in).versions == issued.get("rule_versions"):
        return None
    try:
        invoice = msgspec.convert({**model, "profile": profile}, InvoiceInput)
        seller = msgspec.convert(issued["seller"], Party)
        buyer = msgspec.convert(issued["buyer"], Party)
    except msgspec.ValidationError as exc:  # stored under an older input model: say so, send anyway
        return {"checked_on": day.isoformat(), "issued_under": issued.get("rule_versions"), "error": str(exc)}
    invoice = msgspec.structs.replace(invoice, buyer=None, contact=None)
    findings, _, selection = check_on(
        invoice, seller=seller, buyer=buyer, day=day, opt_in=opt_in, preview=False
    )
    return {
        "checked_on": day.isoformat(),
        "issued_under": issued.get("rule_versions"),
        "rule_versions": selection.versions,
        "notes": selection.notes,
        "valid": not any(f.fatal for f in findings),
        "errors": [error_object(f) for f in findings if f.fatal],
        "warnings": [error_object(f) for f in findings if not f.fatal],
    }
