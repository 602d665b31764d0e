"""BR-FR-04, -08, -15, -16, -17, -18: the French code lists (document types, billing modes,
VAT categories and rates, attachment qualifiers)."""

from __future__ import annotations

from collections.abc import Iterator

from faktura.compliance.engine import MISSING_PROBLEM, Context, Rule, rule
from faktura.compliance.findings import Severity
from faktura.render.ubl.common import decimal_text

DOCUMENT_TYPES = frozenset(
    [
        "380",
        "389",
        "393",
        "501",
        "386",
        "500",
        "384",
        "471",
        "472",
        "473",
        "261",
        "262",
        "381",
        "396",
        "502",
        "503",
    ]
)
BILLING_MODES = frozenset(
    [
        "B1",
        "S1",
        "M1",
        "B2",
        "S2",
        "M2",
        "S3",
        "B4",
        "S4",
        "M4",
        "S5",
        "S6",
        "B7",
        "S7",
        "B8",
        "S8",
        "M8",
        "B9",
        "S9",
        "M9",
    ]
)
VAT_CATEGORIES = frozenset({"S", "E", "AE", "K", "G", "O", "Z"})
#: `custom:is-valid-vat-rate`: the rates as strings, exactly as they may be written
VAT_RATES = frozenset(
    [
        "0",
        "0.0",
        "0.00",
        "10",
        "10.0",
        "10.00",
        "13",
        "13.0",
        "13.00",
        "20",
        "20.0",
        "20.00",
        "8.5",
        "8.50",
        "19.6",
        "19.60",
        "2.1",
        "2.10",
        "5.5",
        "5.50",
        "7",
        "7.0",
        "7.00",
        "20.6",
        "20.60",
        "1.05",
        "0.9",
        "0.90",
        "1.75",
        "9.2",
        "9.20",
        "9.6",
        "9.60",
    ]
)
ATTACHMENT_CODES = frozenset(
    {
        "RIB", "LISIBLE", "FEUILLE_DE_STYLE", "PJA", "BORDEREAU_SUIVI", "DOCUMENT_ANNEXE",
        "BON_LIVRAISON", "BON_COMMANDE", "BORDEREAU_SUIVI_VALIDATION", "ETAT_ACOMPTE",
        "FACTURE_PAIEMENT_DIRECT", "RECAPITULATIF_COTRAITANCE",
    }
)  # fmt: skip


@rule(
    "BR-FR-04_BT-3",
    "[BR-FR-04/BT-3] : Le code type de document n'est pas autorisé. Valeurs acceptées : 380, 389, 393,"
    " 501, 386, 500, 384, 471, 472, 473, 261, 262, 381, 396, 502, 503.",
    bt="BT-3",
)
def br_fr_04(ctx: Context) -> Iterator[str]:
    if ctx.type_code not in DOCUMENT_TYPES:
        yield ctx.at("type_code")


def _br_fr_08(ctx: Context) -> Iterator[str]:
    if ctx.invoice.billing_mode not in BILLING_MODES:
        yield ctx.at("billing_mode")


BR_FR_08 = Rule(
    "BR-FR-08_BT-23",
    Severity.FATAL,
    "[BR-FR-08/BT-23] : La valeur du cadre de facturation est absente ou n'est pas autorisée. Valeurs"
    " acceptées : B1, S1, M1, B2, S2, M2, S3, B4, S4, M4, S5, S6, B7, S7, B8, S8, M8, B9, S9, M9.",
    _br_fr_08,
    "BT-23",
    MISSING_PROBLEM,
)


def _categories(ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(category, pointer, group) for every written VAT category: document allowances and
    charges (BT-95/BT-102), the breakdown (BT-118, pointed at its first source), the lines (BT-151)."""
    for ac in ctx.doc_acs:
        if ac.category is not None:
            yield ac.category, ctx.at(ac.pointer_name, ac.position, "tax_category"), "ac"
    if ctx.totals is not None:
        for b in ctx.totals.breakdown:
            yield b.category, ctx.category_pointer(b.category, "tax_category"), "breakdown"
    for i, (cat, _) in enumerate(ctx.line_categories):
        yield cat, ctx.at("line_items", i, "tax_category"), "line"


def _category_rule(rule_id: str, group: str, bt: str, *, listed: bool) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        for cat, where, g in _categories(ctx):
            if g == group and ((cat not in VAT_CATEGORIES) if listed else cat in ("L", "M")):
                yield where

    text = (
        f"[BR-FR-15/{bt}] : Code de catégorie de TVA invalide. Veuillez utiliser un code valide : S, E, AE, K, G, O, Z."
        if listed
        else f"[BR-FR-15/{bt}] : Les codes 'L' et 'M' ne sont pas pertinents en France."
    )
    return Rule(rule_id, Severity.FATAL, text, check, bt)


def _rate_rule(rule_id: str, group: str, bt: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if group == "ac":
            for ac in ctx.doc_acs:
                if ac.category is not None and ac.rate is not None and decimal_text(ac.rate) not in VAT_RATES:
                    yield ctx.at(ac.pointer_name, ac.position, "tax_rate")
        elif group == "breakdown" and ctx.totals is not None:
            for b in ctx.totals.breakdown:
                if b.rate is not None and decimal_text(b.rate) not in VAT_RATES:
                    yield ctx.category_pointer(b.category, "tax_rate")
        elif group == "line" and not ctx.credit_note:  # context `cac:InvoiceLine/...` only
            for i, (_, rate) in enumerate(ctx.line_categories):
                if rate is not None and decimal_text(rate) not in VAT_RATES:
                    yield ctx.at("line_items", i, "tax_rate")

    return Rule(
        rule_id,
        Severity.FATAL,
        f"[BR-FR-16/{bt}] : Le taux de TVA doit être exprimé en pourcentage sans symbole « % » et faire"
        " partie des valeurs autorisées.",
        check,
        bt,
    )


@rule(
    "BR-FR-17_BT-123",
    "[BR-FR-17/BT-123] : Le code de qualification de la pièce jointe est invalide. Il doit appartenir à la"
    " liste des codes autorisés.",
    bt="BT-123",
)
def br_fr_17(ctx: Context) -> Iterator[str]:
    for i, doc in enumerate(ctx.invoice.attachments):
        if (
            doc.description is not None
            and doc.description.strip()
            and doc.description not in ATTACHMENT_CODES
        ):
            yield ctx.at("attachments", i, "description")


@rule(
    "BR-FR-18_BT-123",
    "[BR-FR-18/BT-123] : Il ne peut y avoir qu'un document additionnel dont la description est « LISIBLE ».",
    bt="BT-123",
)
def br_fr_18(ctx: Context) -> Iterator[str]:
    lisible = [i for i, d in enumerate(ctx.invoice.attachments) if d.description == "LISIBLE"]
    if len(lisible) > 1:
        yield ctx.at("attachments", lisible[1], "description")


RULES: tuple[Rule, ...] = (
    br_fr_04,
    BR_FR_08,
    _category_rule("BR-FR-15_BT-95_BT-102-1", "ac", "BT-95/BT-102", listed=True),
    _category_rule("BR-FR-15_BT-95_BT-102-2", "ac", "BT-95/BT-102", listed=False),
    _category_rule("BR-FR-15_BT-118-1", "breakdown", "BT-118", listed=True),
    _category_rule("BR-FR-15_BT-118-2", "breakdown", "BT-118", listed=False),
    _category_rule("BR-FR-15_BT-151-1", "line", "BT-151", listed=True),
    _category_rule("BR-FR-08_BT-151-2", "line", "BT-151", listed=False),
    _rate_rule("BR-FR-16_BT-96", "ac", "BT-96"),
    _rate_rule("BR-FR-16_BT-119", "breakdown", "BT-119"),
    _rate_rule("BR-FR-16_BT-152", "line", "BT-152"),
    br_fr_17,
    br_fr_18,
)
