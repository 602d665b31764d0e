"""BR-FR-05, -06, -11, -20, -21, -22, -31 and BR-FR-CO-14/15: the notes (BG-1) and their
subject codes, read the way the Schematron reads them: every note run together
(`string-join`), a code as `#CODE#` and its value up to the next `#`; and what the BAR
treatment (B2B, B2BINT, ...) and a single-taxable-person seller ask of the parties."""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import MISSING_PROBLEM, Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.france.common import (
    BAR_TREATMENTS,
    SELF_BILLED,
    all_notes,
    siren_written,
    subject_value,
)
from faktura.compliance.france.identifiers import NINE_DIGITS
from faktura.domain import france

#: the three legal mentions every French invoice carries (BR-FR-05)
MANDATORY = (
    ("PMT", "1", "la mention relative aux frais de recouvrement (code PMT)"),
    ("PMD", "2", "la mention relative aux pénalités de retard (code PMD)"),
    ("AAB", "3", "la mention relative à l'escompte ou à son absence (code AAB)"),
)


def _mandatory(code: str, part: str, what: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if f"#{code}#" not in all_notes(ctx):
            yield ctx.at("notes")

    return Rule(
        f"BR-FR-05_BT-22-{part}",
        Severity.FATAL,
        f"[BR-FR-05/BT-22] : {what[0].upper()}{what[1:]} est absente. Elle est obligatoire dans les notes (BG-3).",
        check,
        "BT-22",
        MISSING_PROBLEM,
    )


def _once(code: str, part: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if all_notes(ctx).count(f"#{code}#") > 1:
            yield ctx.at("notes")

    return Rule(
        f"BR-FR-06_BT-21-{part}",
        Severity.FATAL,
        f"[BR-FR-06/BT-21] : Le code sujet {code} ne doit apparaître qu'une seule fois dans les notes (BG-3).",
        check,
        "BT-21",
    )


def bar_treatment(ctx: Context) -> str:
    return ctx.memo("fr.bar", lambda: subject_value(ctx, "BAR"))


def _br_fr_11(ctx: Context) -> Iterator[str]:
    siren = siren_written(ctx.buyer)
    if bar_treatment(ctx) == "B2B" and not (siren and NINE_DIGITS.match(siren.strip())):
        yield f"{ctx.buyer_ptr}/siren"


def _br_fr_20(ctx: Context) -> Iterator[str]:
    value = bar_treatment(ctx)
    if value and value not in BAR_TREATMENTS:
        yield ctx.at("notes")


def _br_fr_21(ctx: Context) -> Iterator[str]:
    """BAR B2B, not self-billed: the buyer's address is a 0225 one starting with its SIREN."""
    if bar_treatment(ctx) != "B2B" or ctx.type_code in SELF_BILLED or ctx.buyer is None:
        return
    ep = ctx.buyer.endpoint
    siren = siren_written(ctx.buyer) or ""
    if ep is None or ep.scheme != france.ADDRESS_SCHEME or not ep.value.startswith(siren):
        yield f"{ctx.buyer_ptr}/endpoint"


def _br_fr_22(ctx: Context) -> Iterator[str]:
    """Any BAR treatment on a self-billed document: the seller's address is a 0225 one starting
    with its SIREN."""
    if not bar_treatment(ctx) or ctx.type_code not in SELF_BILLED or ctx.seller is None:
        return
    ep = ctx.seller.endpoint
    siren = siren_written(ctx.seller) or ""
    if ep is None or ep.scheme != france.ADDRESS_SCHEME or not ep.value.startswith(siren):
        yield f"{ctx.seller_ptr}/endpoint"


def _br_fr_31(ctx: Context) -> Iterator[str]:
    """At most one BAR value among the notes that carry `#BAR#`."""
    joined = "".join(n for n in ctx.invoice.notes if "#BAR#" in n and n.strip()) + "#"
    if sum(joined.count(f"BAR#{t}#") for t in BAR_TREATMENTS) > 1:
        yield ctx.at("notes")


def _co_14(ctx: Context) -> Iterator[str]:
    """A seller identified as member of a single VAT taxpayer (0231) says so in a TXD note."""
    seller = ctx.seller
    if seller is None or not any(i.scheme == "0231" for i in france.identifiers(seller)):
        return
    if subject_value(ctx, "TXD") != "MEMBRE_ASSUJETTI_UNIQUE":
        yield ctx.at("notes")


def _co_15(ctx: Context) -> Iterator[str]:
    seller = ctx.seller
    if seller is None or not any(i.scheme == "0231" for i in france.identifiers(seller)):
        return
    rep = ctx.invoice.tax_representative
    if rep is None or not rep.vat_id.strip():
        yield ctx.at("tax_representative")


RULES: tuple[Rule, ...] = (
    *(_mandatory(code, part, what) for code, part, what in MANDATORY),
    *(_once(code, part) for code, part in (("PMT", "1"), ("PMD", "2"), ("AAB", "3"), ("TXD", "4"))),
    Rule(
        "BR-FR-11_BT-47",
        Severity.FATAL,
        "[BR-FR-11/BT-47] : Si une note contient le code sujet BAR avec la valeur 'B2B', alors le SIREN de"
        " l'acheteur (scheme 0002) est obligatoire et doit être composé exactement de 9 chiffres.",
        _br_fr_11,
        "BT-47",
        MISSING_PROBLEM,
    ),
    Rule(
        "BR-FR-20_BT-21",
        Severity.FATAL,
        "[BR-FR-20/BT-21] : Lorsqu'une note a pour code sujet « BAR », la valeur associée doit être l'une des"
        " suivantes : B2B, B2BINT, B2C, B2CINT, OUTOFSCOPE, ARCHIVEONLY.",
        _br_fr_20,
        "BT-21",
    ),
    Rule(
        "BR-FR-21_BT-49",
        Severity.FATAL,
        "[BR-FR-21/BT-49] : Si le traitement est BAR/B2B et que le document n'est pas une autofacture, le"
        " BT-49 doit commencer par le SIREN de l'acheteur et avoir le schéma 0225.",
        _br_fr_21,
        "BT-49",
    ),
    Rule(
        "BR-FR-22_BT-34",
        Severity.FATAL,
        "[BR-FR-22/BT-34] : Si le document est une autofacture, le BT-34 doit commencer par le SIREN du"
        " vendeur et avoir le schéma 0225.",
        _br_fr_22,
        "BT-34",
    ),
    Rule(
        "BR-FR-30_BT-21",
        Severity.FATAL,
        "[BR-FR-31/BT-21] : Il ne peut y avoir qu'une seule valeur BAR parmi B2B, B2BINT, B2C, B2CINT,"
        " OUTOFSCOPE, ARCHIVEONLY.",
        _br_fr_31,
        "BT-21",
    ),
    Rule(
        "BR-FR-CO-14_BT-29-1",
        Severity.FATAL,
        "[BR-FR-CO-14/BT-29-1] : Un vendeur membre d'un assujetti unique (0231) porte une note TXD"
        " 'MEMBRE_ASSUJETTI_UNIQUE'.",
        _co_14,
        "BT-22",
    ),
    Rule(
        "BR-FR-CO-15_BT-29-1",
        Severity.FATAL,
        "[BR-FR-CO-15/BT-29-1] : Si le vendeur est membre d'un assujetti unique (0231), le représentant"
        " fiscal (BG-11) porte le numéro de TVA de l'assujetti unique (BT-63).",
        _co_15,
        "BG-11",
    ),
)
