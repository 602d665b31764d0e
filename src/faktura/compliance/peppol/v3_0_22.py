"""Peppol BIS Billing 3.0.22 hotfix (mandatory 2026-12-14): PEPPOL-EN16931-P0112 only.

Not in the conformance kit; implemented from OpenPeppol's release notes (RFC-585: "code 384 is
available for Germany and Slovakia, while code 389 is restricted to Germany"): type code 384
is allowed when both parties are German or both are Slovak; 326 and 389 only when both are
German. Everything else is 3.0.21. The message is ours: the release's wording is not stored.
"""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import normalize_space
from faktura.compliance.screens import codes_off_list

VERSION = "3.0.22"


def _pair(ctx: Context, country: str) -> bool:
    return (ctx.seller_country or "").upper() == country and (ctx.buyer_country or "").upper() == country


def _p0112(ctx: Context) -> Iterator[str]:
    if ctx.credit_note:
        return
    code = normalize_space(ctx.type_code)
    if (code in ("326", "389") and not _pair(ctx, "DE")) or (
        code == "384" and not (_pair(ctx, "DE") or _pair(ctx, "SK"))
    ):
        yield ctx.at("type_code")


P0112 = Rule(
    "PEPPOL-EN16931-P0112",
    Severity.FATAL,
    "Invoice type code 326 or 389 is only allowed when both buyer and seller are German organizations;"
    " 384 only when both are German or both are Slovak organizations.",
    _p0112,
    "BT-3",
    screen=codes_off_list,
)


def revise(base: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """The 3.0.21 rules with P0112 replaced."""
    return tuple(P0112 if r.id == P0112.id else r for r in base)
