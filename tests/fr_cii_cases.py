"""French invoices for the CII differential test: valid ones, and ones broken in a French way.

`french_case(rnd, mutated=...)` takes an invoice of the general generator
(`compliance_cases.make_case`: lines, allowances, charges, payment means, every part of the
model, and with `mutated` sometimes one of its EN 16931 mutations), makes it French (seller and
buyer with SIREN, SIRET and scheme 0225 addresses, French VAT rates, the three mandatory
notes, a billing mode, a due date on or after the issue date) and then, when mutated, breaks
one to three BR-FR rules by name (`FRENCH_MUTATIONS`). The same seed gives the same invoice.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

import msgspec

from compliance_cases import Case, make_case
from faktura.domain.document import FR_CTC, FR_CTC_EXTENDED, PEPPOL_BIS_3
from faktura.domain.invoice import (
    Address,
    DocumentReference,
    Identifier,
    InvoiceInput,
    Party,
    SupportingDocument,
)

D = Decimal
#: the French VAT rates (BR-FR-16) that an S line is moved to
FRENCH_RATES = (D("20"), D("10"), D("5.5"), D("2.1"), D("8.5"), D("13"))
FRENCH_CATEGORIES = frozenset({"S", "E", "AE", "K", "G", "O", "Z"})
BILLING_MODES = ("B1", "S1", "M1", "S3", "B4", "S4", "M4", "S5", "S6", "B7", "S7")
MANDATORY_NOTES = (
    "#PMT#Indemnité forfaitaire pour frais de recouvrement : 40 EUR.",
    "#PMD#Pénalités de retard : trois fois le taux d'intérêt légal.",
    "#AAB#Pas d'escompte pour paiement anticipé.",
)
#: BR-FR-17: what a supporting document's description (BT-123) may say
ATTACHMENT_CODES = ("RIB", "BON_LIVRAISON", "BON_COMMANDE", "DOCUMENT_ANNEXE", "PJA")
SIX_PLACES = D("0.000001")
CREDIT_CODES = frozenset({"261", "381", "396", "502", "503"})
CITIES = (("Lyon", "69003"), ("Paris", "75011"), ("Nantes", "44000"), ("Lille", "59000"))


def luhn_complete(digits: str) -> str:
    """`digits` followed by the Luhn check digit (SIREN and SIRET use it)."""
    for check in "0123456789":
        candidate = digits + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def siren(rnd: random.Random) -> str:
    return luhn_complete(str(rnd.randrange(10**7, 10**8)))


def siret(rnd: random.Random, of: str) -> str:
    return luhn_complete(of + f"{rnd.randrange(10**4):04d}")


def french_vat(of: str) -> str:
    return f"FR{(12 + 3 * (int(of) % 97)) % 97:02d}{of}"


def french_party(rnd: random.Random, name: str, *, seller: bool) -> Party:
    number = siren(rnd)
    establishment = siret(rnd, number) if rnd.random() < 0.7 else None
    routing = f"SERVICE-{rnd.randrange(100)}" if establishment and rnd.random() < 0.3 else None
    address = "_".join(p for p in (number, establishment, routing) if p)
    city, postal = rnd.choice(CITIES)
    identifiers = (
        [Identifier(value=f"4{rnd.randrange(10**12):012d}", scheme="0088")] if rnd.random() < 0.2 else []
    )
    return Party(
        name=name,
        trading_name=f"{name} Commerce" if rnd.random() < 0.3 else None,
        vat_id=french_vat(number),
        legal_form="SAS au capital de 10 000 EUR" if seller and rnd.random() < 0.4 else None,
        identifiers=identifiers,
        endpoint=Identifier(value=address, scheme="0225"),
        address=Address(line1="12 rue de la République", city=city, postal_code=postal, country="FR"),
        legal_id=Identifier(value=number, scheme="0002"),
        siren=number,
        siret=establishment,
    )


def _rate_map(
    rnd: random.Random,
) -> Callable[[str | None, Decimal | None], tuple[str | None, Decimal | None]]:
    """Categories and rates as the French rules allow them: S rates moved to French ones (the
    same original rate to the same French rate, so breakdowns keep their shape); 'L', 'M' and
    'B' become S."""
    chosen: dict[Decimal | None, Decimal] = {}

    def convert(category: str | None, rate: Decimal | None) -> tuple[str | None, Decimal | None]:
        if category is None:
            return category, rate
        if category not in FRENCH_CATEGORIES:
            category = "S"
        if category == "S":
            if rate not in chosen:
                chosen[rate] = rnd.choice(
                    [r for r in FRENCH_RATES if r not in chosen.values()] or FRENCH_RATES
                )
            return category, chosen[rate]
        return category, rate

    return convert


def frenchify(rnd: random.Random, case: Case, profile: str) -> Case:
    convert = _rate_map(rnd)
    inv = case.invoice

    def lines_and_acs(items: list, **extra: object) -> list:
        out = []
        for item in items:
            category, rate = convert(item.tax_category, item.tax_rate)
            out.append(msgspec.structs.replace(item, tax_category=category, tax_rate=rate, **extra))
        return out

    def prices(lines: list) -> list:
        """BR-FR-DEC-03: prices with at most six decimals."""
        return [
            msgspec.structs.replace(
                li,
                unit_price=li.unit_price.quantize(SIX_PLACES),
                gross_unit_price=None
                if li.gross_unit_price is None
                else li.gross_unit_price.quantize(SIX_PLACES),
            )
            for li in lines
        ]

    issue = inv.issue_date or dt.date(2026, 12, 1)
    due = issue + dt.timedelta(days=rnd.choice((0, 15, 30, 45))) if inv.due_date is not None else None
    notes = [n for n in inv.notes if not n.startswith("#")] + list(MANDATORY_NOTES)
    if rnd.random() < 0.4:
        notes.append("#BAR#B2B")
    if rnd.random() < 0.2:
        notes.append("#TXD#Taxe sur les services numériques acquittée.")
    rnd.shuffle(notes)
    case.seller = french_party(rnd, "Atelier Seller SAS", seller=True)
    case.buyer = french_party(rnd, "Client Buyer SARL", seller=False)
    case.invoice = msgspec.structs.replace(
        inv,
        profile=profile,
        syntax="cii",
        billing_mode=rnd.choice(BILLING_MODES),
        due_date=due,
        notes=notes,
        line_items=prices(lines_and_acs(inv.line_items)),
        allowances=lines_and_acs(inv.allowances),
        charges=lines_and_acs(inv.charges),
        tax_representative=None,
        buyer=None,
        inclusive_of_tax=False,  # net prices from gross ones run past six decimals (BR-FR-DEC-03)
        currency="EUR",  # BR-FR-CO-12: another currency needs the VAT total in EUR as well
        tax_currency=None,
        attachments=[
            msgspec.structs.replace(a, description=rnd.choice(ATTACHMENT_CODES)) for a in inv.attachments
        ],
        payee=None
        if inv.payee is None
        else msgspec.structs.replace(inv.payee, identifiers=[], legal_id=None),
    )
    categories = {li.tax_category for li in case.invoice.line_items}
    if "O" in categories:  # not subject to VAT: no VAT ids (BR-O-02..04)
        case.seller = msgspec.structs.replace(case.seller, vat_id=None)
        case.buyer = msgspec.structs.replace(case.buyer, vat_id=None)
    if "K" in categories:  # an intra-community supply goes to a business in another member state
        case.buyer = msgspec.structs.replace(
            case.buyer,
            vat_id=f"DE{rnd.randrange(10**8, 10**9)}",
            legal_id=None,
            siren=None,
            siret=None,
            endpoint=Identifier(value=f"4{rnd.randrange(10**12):012d}", scheme="0088"),
            address=Address(line1="Hauptstraße 1", city="Berlin", postal_code="10115", country="DE"),
        )
        notes = [n for n in case.invoice.notes if not n.startswith("#BAR#")] + ["#BAR#B2BINT"]
        case.invoice = msgspec.structs.replace(case.invoice, notes=notes)
    if case.invoice.type_code in ("386", "500", "503") and case.invoice.billing_mode in ("B4", "S4", "M4"):
        case.invoice = msgspec.structs.replace(case.invoice, billing_mode="B1")  # BR-FR-CO-08
    if profile == FR_CTC_EXTENDED and case.invoice.due_date is None and not case.invoice.payment_terms:
        # EXTENDED-CTC-FR enforces BR-CO-25
        case.invoice = msgspec.structs.replace(case.invoice, payment_terms="Paiement à 30 jours.")
    credit = case.invoice.document_type == "CREDIT_NOTE" or case.invoice.type_code in CREDIT_CODES
    if credit and not any(p.issue_date for p in case.invoice.preceding_invoices):
        # BR-FR-CO-05: a credit note names the corrected invoice with its date
        ref = DocumentReference(number=f"F-{rnd.randrange(10**5)}", issue_date=issue - dt.timedelta(days=30))
        case.invoice = msgspec.structs.replace(case.invoice, preceding_invoices=[ref])
    return case


# -- French mutations --------------------------------------------------------------------------


def _inv(case: Case, **changes: object) -> None:
    case.invoice = msgspec.structs.replace(case.invoice, **changes)


def _drop_note(code: str) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        _inv(case, notes=[n for n in case.invoice.notes if not n.startswith(f"#{code}#")])

    return mutate


def _repeat_note(code: str) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        _inv(case, notes=[*case.invoice.notes, f"#{code}#Mention répétée"])

    return mutate


def _bar(value: str) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        _inv(case, notes=[*case.invoice.notes, f"#BAR#{value}"])

    return mutate


def _party(case: Case, which: str, **changes: object) -> None:
    setattr(case, which, msgspec.structs.replace(getattr(case, which), **changes))


def _b2b_buyer_without_siren(rnd: random.Random, case: Case) -> None:
    _bar("B2B")(rnd, case)
    _party(case, "buyer", siren=None, legal_id=None)


def _b2b_buyer_foreign_address(rnd: random.Random, case: Case) -> None:
    _bar("B2B")(rnd, case)
    _party(case, "buyer", endpoint=Identifier(value=f"4{rnd.randrange(10**12):012d}", scheme="0088"))


def _self_billed_b2b(rnd: random.Random, case: Case) -> None:
    _bar("B2B")(rnd, case)
    _inv(case, type_code="389")
    _party(case, "seller", endpoint=Identifier(value="seller@example.fr", scheme="EM"))


def _seller_without_siren(rnd: random.Random, case: Case) -> None:
    _party(case, "seller", siren=None, legal_id=None)


def _seller_legal_id_not_siren(rnd: random.Random, case: Case) -> None:
    _party(
        case, "seller", siren=None, legal_id=Identifier(value=f"{rnd.randrange(10**7):07d}", scheme="0002")
    )


def _siret_of_another_siren(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    _party(case, which, siret=siret(rnd, siren(rnd)))


def _no_endpoint(rnd: random.Random, case: Case) -> None:
    _party(case, rnd.choice(("seller", "buyer")), endpoint=None)


def _address_bad_characters(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    number = getattr(case, which).siren
    _party(case, which, endpoint=Identifier(value=f"{number}_SERVICE COMPTA", scheme="0225"))


def _address_too_long(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    number = getattr(case, which).siren
    _party(case, which, endpoint=Identifier(value=f"{number}@{'x' * 120}.example", scheme="EM"))


def _identifier_0224_bad(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    value = rnd.choice(("CODE ROUTAGE", "x" * 101, "routage#1"))
    _party(
        case, which, identifiers=[*getattr(case, which).identifiers, Identifier(value=value, scheme="0224")]
    )


def _same_scheme_twice(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    ids = [Identifier(value=f"4{rnd.randrange(10**12):012d}", scheme="0088") for _ in range(2)]
    _party(case, which, identifiers=ids)


def _global_siren_not_nine_digits(rnd: random.Random, case: Case) -> None:
    which = rnd.choice(("seller", "buyer"))
    _party(case, which, identifiers=[Identifier(value=f"{rnd.randrange(10**9, 10**10)}", scheme="0002")])


def _single_taxpayer(rnd: random.Random, case: Case) -> None:
    ident = Identifier(value=f"{rnd.randrange(10**8, 10**9)}", scheme="0231")
    _party(case, "seller", identifiers=[*case.seller.identifiers, ident])


def _foreign_rate(rnd: random.Random, case: Case) -> None:
    lines = list(case.invoice.line_items)
    for i, li in enumerate(lines):
        if li.tax_category == "S":
            lines[i] = msgspec.structs.replace(li, tax_rate=rnd.choice((D("19"), D("21"), D("25"), D("7.7"))))
            _inv(case, line_items=lines)
            return


def _igic(rnd: random.Random, case: Case) -> None:
    lines = list(case.invoice.line_items)
    lines[0] = msgspec.structs.replace(lines[0], tax_category="L", tax_rate=D("7"))
    _inv(case, line_items=lines)


def _billing_mode(value: str | None) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        _inv(case, billing_mode=value)

    return mutate


def _type_code(value: str) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        _inv(case, type_code=value)

    return mutate


def _deposit_in_final_mode(rnd: random.Random, case: Case) -> None:
    _inv(case, billing_mode=rnd.choice(("B4", "S4", "M4")), type_code="386")


def _due_before_issue(rnd: random.Random, case: Case) -> None:
    issue = case.invoice.issue_date or dt.date(2026, 12, 1)
    _inv(case, due_date=issue - dt.timedelta(days=rnd.randrange(1, 60)), billing_mode="B1", type_code=None)


def _paid_mode_unpaid(rnd: random.Random, case: Case) -> None:
    _inv(case, billing_mode=rnd.choice(("B2", "S2", "M2")))


def _foreign_currency(rnd: random.Random, case: Case) -> None:
    _inv(case, currency="USD", tax_currency=None)


def _attachment_code(value: str, twice: bool = False) -> Callable[[random.Random, Case], None]:
    def mutate(rnd: random.Random, case: Case) -> None:
        docs = [
            SupportingDocument(reference=f"PJ-{i}", description=value, url="https://example.fr/pj.pdf")
            for i in range(2 if twice else 1)
        ]
        _inv(case, attachments=[*case.invoice.attachments, *docs])

    return mutate


def _credit_without_reference(rnd: random.Random, case: Case) -> None:
    _inv(case, type_code="381", preceding_invoices=[])


def _quantity_five_decimals(rnd: random.Random, case: Case) -> None:
    lines = list(case.invoice.line_items)
    lines[0] = msgspec.structs.replace(lines[0], quantity=D("1.00001"))
    _inv(case, line_items=lines)


FRENCH_MUTATIONS: dict[str, Callable[[random.Random, Case], None]] = {
    "drop PMT": _drop_note("PMT"),
    "drop PMD": _drop_note("PMD"),
    "drop AAB": _drop_note("AAB"),
    "repeat PMT": _repeat_note("PMT"),
    "repeat AAB": _repeat_note("AAB"),
    "repeat TXD": _repeat_note("TXD"),
    "BAR unknown": _bar("B2G"),
    "BAR twice": _bar("B2C"),
    "BAR blank": _bar(""),
    "B2B buyer without SIREN": _b2b_buyer_without_siren,
    "B2B buyer foreign address": _b2b_buyer_foreign_address,
    "self-billed B2B seller address": _self_billed_b2b,
    "seller without SIREN": _seller_without_siren,
    "seller legal id not SIREN": _seller_legal_id_not_siren,
    "SIRET of another SIREN": _siret_of_another_siren,
    "no endpoint": _no_endpoint,
    "address bad characters": _address_bad_characters,
    "address too long": _address_too_long,
    "0224 identifier bad": _identifier_0224_bad,
    "same scheme twice": _same_scheme_twice,
    "0002 global id not nine digits": _global_siren_not_nine_digits,
    "single taxpayer": _single_taxpayer,
    "foreign VAT rate": _foreign_rate,
    "IGIC line": _igic,
    "no billing mode": _billing_mode(None),
    "unknown billing mode": _billing_mode("B3"),
    "sub-line billing mode": _billing_mode("M8"),
    "type code outside French list": _type_code("326"),
    "deposit in final mode": _deposit_in_final_mode,
    "due before issue": _due_before_issue,
    "paid mode unpaid": _paid_mode_unpaid,
    "foreign currency": _foreign_currency,
    "attachment code unknown": _attachment_code("FACTURE"),
    "attachment LISIBLE twice": _attachment_code("LISIBLE", twice=True),
    "credit note without reference": _credit_without_reference,
    "quantity five decimals": _quantity_five_decimals,
}


def french_case(rnd: random.Random, *, mutated: bool, extended: bool = False) -> Case:
    """A French invoice for `fr-ctc` (or `fr-ctc-extended`); `mutated`: one to three French
    mutations, and in one case of four also a mutation of the general generator."""
    base = make_case(rnd, profile=PEPPOL_BIS_3, mutated=mutated and rnd.random() < 0.25)
    case = frenchify(rnd, base, FR_CTC_EXTENDED if extended else FR_CTC)
    if mutated:
        for name in rnd.sample(sorted(FRENCH_MUTATIONS), rnd.choice((1, 1, 2, 3))):
            FRENCH_MUTATIONS[name](rnd, case)
            case.mutations.append(name)
    return case


__all__ = ["FRENCH_MUTATIONS", "InvoiceInput", "french_case", "frenchify"]
