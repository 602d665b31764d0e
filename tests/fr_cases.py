"""Seeded French invoices for the BR-FR differential test: valid ones, and valid ones broken
by one to three mutations aimed at the BR-FR rules (and a few at EN 16931 beside them).

Valid means: accepted by the native checks and by the official EN 16931 + BR-FR Schematron.
A mutation changes the domain model directly (no JSON round trip), so it can also produce what
the request schema would refuse (a SIREN of eight digits), as a hostile or buggy client might
send through another syntax.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren

from faktura.domain.invoice import (
    Address,
    AllowanceCharge,
    Delivery,
    DocumentReference,
    Identifier,
    InvoiceInput,
    Item,
    ItemAttribute,
    LineItem,
    Party,
    PayeeAccount,
    PaymentMeans,
    Period,
    SupportingDocument,
    TaxRepresentative,
)

replace = msgspec.structs.replace
ISSUE = dt.date(2026, 12, 1)
NOTES = [
    "#PMT#Indemnité forfaitaire pour frais de recouvrement : 40 EUR",
    "#PMD#Pénalités de retard : trois fois le taux d'intérêt légal",
    "#AAB#Pas d'escompte pour paiement anticipé",
]
CITIES = (("Lyon", "69003"), ("Paris", "75011"), ("Lille", "59000"), ("Nantes", "44000"), ("Rennes", "35000"))
STANDARD_RATES = ("20", "10", "5.5", "2.1", "8.5", "13", "0.9", "1.05", "1.75", "9.2", "9.6")
SUPPORTED_MODES = ("B1", "S1", "M1", "S3", "B4", "S4", "M4", "S5", "S6", "B7", "S7", "B2", "S2", "M2")
EXEMPTION = {
    "E": ("Exonération article 261-4-4° a du CGI", "VATEX-EU-132-1I"),
    "AE": ("Autoliquidation – article 283-2 nonies du CGI", "VATEX-EU-AE"),
    "K": ("Exonération – article 262 ter I du CGI", "VATEX-EU-IC"),
    "G": ("Exonération – article 262 I du CGI", "VATEX-EU-G"),
}
IBAN = PayeeAccount(iban="FR7630006000011234567890189")


def siren(rnd: random.Random) -> str:
    base = f"{rnd.randrange(10_000_000, 99_999_999)}"
    return base + luhn.calc_check_digit(base)


def siret(rnd: random.Random, of: str) -> str:
    body = of + f"{rnd.randrange(1, 9999):04d}"
    return body + luhn.calc_check_digit(body)


def french_party(rnd: random.Random, name: str) -> Party:
    sn = siren(rnd)
    st = siret(rnd, sn)
    address = rnd.choice((sn, f"{sn}_{st}", f"{sn}_{st}_SERVICE-{rnd.randrange(1, 99)}"))
    city, postal = rnd.choice(CITIES)
    return Party(
        name=name,
        vat_id="FR" + stdnum_siren.to_tva(sn),
        siren=sn,
        siret=st if rnd.random() < 0.8 else None,
        endpoint=Identifier(value=address, scheme="0225"),
        address=Address(
            line1=f"{rnd.randrange(1, 120)} rue de la République", city=city, postal_code=postal, country="FR"
        ),
    )


FOREIGN = (
    Party(
        name="Nordlicht Software GmbH",
        vat_id="DE316589041",
        endpoint=Identifier(value="DE316589041", scheme="9930"),
        address=Address(line1="Hafenstraße 12", city="Hamburg", postal_code="20457", country="DE"),
    ),
    Party(
        name="Brasserie Wallonne SPRL",
        vat_id="BE0477472701",
        endpoint=Identifier(value="0477472701", scheme="0208"),
        address=Address(line1="Rue Haute 3", city="Namur", postal_code="5000", country="BE"),
    ),
)


@dataclass
class FrCase:
    invoice: InvoiceInput
    seller: Party
    buyer: Party
    profile: str
    number: str
    mutations: list[str] = field(default_factory=list)


def _line(rnd: random.Random, category: str, rate: str | None) -> LineItem:
    reason = EXEMPTION.get(category)
    li = LineItem(
        item=Item(
            name=rnd.choice(("Conseil", "Maintenance", "Fournitures", "Pièces", "Formation", "Transport"))
        ),
        quantity=Decimal(rnd.choice(("1", "2", "3.5", "10", "12.125", "0.75"))),
        unit_price=Decimal(rnd.choice(("12.50", "99", "850.00", "0.084750", "1240.5", "7"))),
        tax_category=category,
        tax_rate=Decimal(rate) if rate is not None else None,
        tax_exemption_reason=reason[0] if reason else None,
        tax_exemption_reason_code=reason[1] if reason and rnd.random() < 0.5 else None,
    )
    if rnd.random() < 0.15:
        li = replace(
            li, allowances=[AllowanceCharge(amount=Decimal("1.00"), reason="Remise", reason_code="95")]
        )
    if rnd.random() < 0.1:
        li = replace(li, period=Period(start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 30)))
    if rnd.random() < 0.1:
        li = replace(li, item=replace(li.item, attributes=[ItemAttribute(name="Couleur", value="Bleu")]))
    return li


def valid_case(rnd: random.Random, index: int) -> FrCase:
    seller = french_party(rnd, "Vendeur SAS")
    scenario = rnd.choices(("domestic", "exempt", "reverse", "intra", "export"), weights=(8, 1, 1, 1, 1))[0]
    buyer = (
        french_party(rnd, "Acheteur SARL")
        if scenario in ("domestic", "exempt", "reverse")
        else rnd.choice(FOREIGN)
    )
    bar = "B2B" if buyer.address.country == "FR" else "B2BINT"
    lines: list[LineItem]
    if scenario == "domestic":
        lines = [
            _line(rnd, c, r)
            for c, r in (
                rnd.choice((("S", rnd.choice(STANDARD_RATES)), ("S", "20"), ("Z", "0")))
                for _ in range(rnd.randint(1, 4))
            )
        ]
    elif scenario == "exempt":
        lines = [_line(rnd, "E", "0"), _line(rnd, "S", "20")]
    elif scenario == "reverse":
        lines = [_line(rnd, "AE", "0")]
    elif scenario == "intra":
        lines = [_line(rnd, "K" if rnd.random() < 0.5 else "AE", "0")]
        if lines[0].tax_category == "K":
            lines = [replace(lines[0], tax_rate=Decimal(0))]
    else:
        lines = [_line(rnd, "G", "0")]
    # one category per exemption scenario (BR-AE/K/G-01 want every line alike there)
    credit = rnd.random() < 0.15
    mode = rnd.choice(("B1", "S1", "M1")) if credit else rnd.choice(SUPPORTED_MODES)
    type_code = None
    if mode in ("S3",) and rnd.random() < 0.7:
        type_code = "386"
    elif not credit and rnd.random() < 0.1:
        type_code = "389"
    elif not credit and rnd.random() < 0.05:
        type_code = "384"
    inv = InvoiceInput(
        document_type="CREDIT_NOTE" if credit else "INVOICE",
        profile="fr-ctc",
        billing_mode=mode,  # type: ignore[arg-type]
        type_code=type_code,
        issue_date=ISSUE,
        due_date=ISSUE + dt.timedelta(days=rnd.choice((0, 15, 30, 45))),
        currency="EUR",
        notes=[*NOTES, f"#BAR#{bar}"],
        buyer=buyer,
        line_items=lines,
        payment_means=[PaymentMeans(code="58", account=IBAN)],
    )
    if credit or type_code == "384" or mode in ("B4", "S4", "M4"):
        inv = replace(
            inv,
            preceding_invoices=[
                DocumentReference(number=f"F-2026-{index:04d}", issue_date=dt.date(2026, 10, 1))
            ],
        )
    if scenario in ("intra", "export") or any(li.tax_category == "K" for li in lines):
        inv = replace(inv, delivery=Delivery(date=dt.date(2026, 11, 20), address=buyer.address))
    if rnd.random() < 0.2 and scenario == "domestic":
        inv = replace(
            inv,
            charges=[
                AllowanceCharge(
                    amount=Decimal("15.00"),
                    reason="Frais de port",
                    reason_code="FC",
                    tax_category="S",
                    tax_rate=Decimal(20),
                )
            ],
            allowances=[
                AllowanceCharge(
                    amount=Decimal("5.00"),
                    reason="Remise",
                    reason_code="95",
                    tax_category="S",
                    tax_rate=Decimal(20),
                )
            ],
        )
    if rnd.random() < 0.1:
        inv = replace(
            inv,
            attachments=[
                SupportingDocument(
                    reference="BC-1", description="BON_COMMANDE", url="https://example.com/bc.pdf"
                )
            ],
        )
    if rnd.random() < 0.1:
        inv = replace(
            inv, invoicing_period=Period(start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 30))
        )
    if mode in ("B2", "S2", "M2"):
        from faktura.domain.totals import compute

        total = compute(inv).tax_inclusive_amount
        inv = replace(inv, prepaid_amount=total, due_date=ISSUE)
    if mode in ("B4", "S4", "M4"):
        inv = replace(inv, prepaid_amount=Decimal("1.00"))
    profile = "fr-ctc-extended" if rnd.random() < 0.15 else "fr-ctc"
    return FrCase(replace(inv, profile=profile), seller, buyer, profile, f"F-2026-{index:05d}")


# -- mutations: each takes a case and returns it broken in one place ---------------------------------


def _shipping(rate: Decimal) -> AllowanceCharge:
    """A 9.00 shipping charge under 'S' at `rate` (the rate mutations)."""
    return AllowanceCharge(
        amount=Decimal("9.00"), reason="Port", reason_code="FC", tax_category="S", tax_rate=rate
    )


def _inv(case: FrCase, **changes: object) -> FrCase:
    case.invoice = replace(case.invoice, **changes)
    return case


def _buyer(case: FrCase, party: Party) -> FrCase:
    case.buyer = party
    case.invoice = replace(case.invoice, buyer=party)
    return case


def _drop_note(code: str) -> Callable[[FrCase, random.Random], FrCase]:
    return lambda c, r: _inv(c, notes=[n for n in c.invoice.notes if f"#{code}#" not in n])


def _line0(c: FrCase, **changes: object) -> FrCase:
    lines = list(c.invoice.line_items)
    lines[0] = replace(lines[0], **changes)
    return _inv(c, line_items=lines)


MUTATIONS: dict[str, Callable[[FrCase, random.Random], FrCase]] = {
    "drop PMT": _drop_note("PMT"),
    "drop PMD": _drop_note("PMD"),
    "drop AAB": _drop_note("AAB"),
    "duplicate PMD": lambda c, r: _inv(c, notes=[*c.invoice.notes, NOTES[1]]),
    "duplicate TXD": lambda c, r: _inv(c, notes=[*c.invoice.notes, "#TXD#A", "#TXD#B"]),
    "bad BAR": lambda c, r: _inv(c, notes=[n for n in c.invoice.notes if "#BAR#" not in n] + ["#BAR#B2X"]),
    "two BAR": lambda c, r: _inv(c, notes=[*c.invoice.notes, "#BAR#B2C"]),
    "no billing mode": lambda c, r: _inv(c, billing_mode=None),
    "seller without SIREN": lambda c, r: setattr(c, "seller", replace(c.seller, siren=None)) or c,
    "seller SIREN not nine digits": lambda c, r: (
        setattr(
            c, "seller", replace(c.seller, siren=None, legal_id=Identifier(value="12345678A", scheme="0002"))
        )
        or c
    ),
    "buyer without SIREN": lambda c, r: _buyer(c, replace(c.buyer, siren=None, legal_id=None)),
    "buyer without address": lambda c, r: _buyer(c, replace(c.buyer, endpoint=None)),
    "seller without address": lambda c, r: setattr(c, "seller", replace(c.seller, endpoint=None)) or c,
    "buyer address not 0225": lambda c, r: _buyer(
        c, replace(c.buyer, endpoint=Identifier(value="FR-ACH-1", scheme="0088"))
    ),
    "buyer address of another SIREN": lambda c, r: _buyer(
        c, replace(c.buyer, endpoint=Identifier(value="552100554", scheme="0225"))
    ),
    "address with a slash": lambda c, r: _buyer(
        c, replace(c.buyer, endpoint=Identifier(value=(c.buyer.siren or "1") + "/X", scheme="0225"))
    ),
    "address too long": lambda c, r: (
        setattr(
            c,
            "seller",
            replace(
                c.seller, endpoint=Identifier(value=(c.seller.siren or "") + "_" + "A" * 130, scheme="0225")
            ),
        )
        or c
    ),
    "SIRET of another SIREN": lambda c, r: (
        setattr(c, "seller", replace(c.seller, siret="55210055400040")) or c
    ),
    "SIRET of 13 digits": lambda c, r: _buyer(
        c, replace(c.buyer, siret=None, identifiers=[Identifier(value="1234567890123", scheme="0009")])
    ),
    "private id with a space": lambda c, r: (
        setattr(c, "seller", replace(c.seller, identifiers=[Identifier(value="ID PRIVE", scheme="0224")]))
        or c
    ),
    "private id too long": lambda c, r: _buyer(
        c, replace(c.buyer, identifiers=[Identifier(value="P" * 101, scheme="0224")])
    ),
    "identifier without scheme": lambda c, r: (
        setattr(c, "seller", replace(c.seller, identifiers=[Identifier(value="ABC-1")])) or c
    ),
    "scheme twice": lambda c, r: _buyer(
        c,
        replace(
            c.buyer,
            identifiers=[Identifier(value="A1", scheme="0224"), Identifier(value="A2", scheme="0224")],
        ),
    ),
    "0002 identifier of 8 digits": lambda c, r: (
        setattr(c, "seller", replace(c.seller, identifiers=[Identifier(value="12345678", scheme="0002")]))
        or c
    ),
    "single taxable person": lambda c, r: (
        setattr(c, "seller", replace(c.seller, identifiers=[Identifier(value="123456782", scheme="0231")]))
        or c
    ),
    "type code 326": lambda c, r: _inv(c, type_code="326") if c.invoice.document_type == "INVOICE" else c,
    "category L": lambda c, r: _line0(c, tax_category="L", tax_rate=Decimal(7)),
    "rate 19": lambda c, r: _line0(
        c, tax_category="S", tax_rate=Decimal(19), tax_exemption_reason=None, tax_exemption_reason_code=None
    ),
    "rate 5.555": lambda c, r: _line0(
        c,
        tax_category="S",
        tax_rate=Decimal("5.555"),
        tax_exemption_reason=None,
        tax_exemption_reason_code=None,
    ),
    "quantity five decimals": lambda c, r: _line0(c, quantity=Decimal("1.23456")),
    "price seven decimals": lambda c, r: _line0(c, unit_price=Decimal("0.1234567")),
    "gross below net": lambda c, r: _line0(c, gross_unit_price=c.invoice.line_items[0].unit_price / 2),
    "due before issue": lambda c, r: _inv(c, due_date=ISSUE - dt.timedelta(days=10)),
    "delivery in 2100": lambda c, r: _inv(c, delivery=Delivery(date=dt.date(2100, 1, 5))),
    "period from 1999": lambda c, r: _inv(
        c, invoicing_period=Period(start_date=dt.date(1999, 12, 1), end_date=dt.date(2026, 11, 30))
    ),
    "preceding number with space": lambda c, r: _inv(
        c, preceding_invoices=[DocumentReference(number="F 2026 1", issue_date=dt.date(2026, 10, 1))]
    ),
    "preceding number too long": lambda c, r: _inv(
        c, preceding_invoices=[DocumentReference(number="F" * 36, issue_date=dt.date(2026, 10, 1))]
    ),
    "no preceding invoice": lambda c, r: _inv(c, preceding_invoices=[]),
    "corrective with two references": lambda c, r: (
        _inv(
            c,
            type_code="384",
            preceding_invoices=[
                DocumentReference(number="F-1", issue_date=dt.date(2026, 9, 1)),
                DocumentReference(number="F-2", issue_date=dt.date(2026, 9, 2)),
            ],
        )
        if c.invoice.document_type == "INVOICE"
        else c
    ),
    "credit 262 without contract": lambda c, r: (
        _inv(c, type_code="262") if c.invoice.document_type == "CREDIT_NOTE" else c
    ),
    "final after deposit as deposit": lambda c, r: _inv(c, billing_mode="S4", type_code="386"),
    "paid without prepaid": lambda c, r: _inv(c, billing_mode="B2", prepaid_amount=None),
    "USD without EUR": lambda c, r: _inv(c, currency="USD"),
    "attachment code unknown": lambda c, r: _inv(
        c, attachments=[SupportingDocument(reference="X", description="FACTURE", url="https://example.com/x")]
    ),
    "two LISIBLE": lambda c, r: _inv(
        c,
        attachments=[
            SupportingDocument(reference=f"L{i}", description="LISIBLE", url="https://example.com/l")
            for i in (1, 2)
        ],
    ),
    "blank attribute value": lambda c, r: _line0(
        c, item=replace(c.invoice.line_items[0].item, attributes=[ItemAttribute(name="Taille", value=" ")])
    ),
    "payee SIRET mismatch": lambda c, r: _inv(
        c, payee=Party(name="Factor SA", siren="732829320", siret="55210055400040", address=c.seller.address)
    ),
    "delivery SIRET short": lambda c, r: _inv(
        c,
        delivery=Delivery(
            date=dt.date(2026, 11, 20), location_id=Identifier(value="1234567890", scheme="0009")
        ),
    ),
    "delivery location without scheme": lambda c, r: _inv(
        c, delivery=Delivery(date=dt.date(2026, 11, 20), location_id=Identifier(value="QUAI-3"))
    ),
    "self-billed with foreign seller address": lambda c, r: (
        setattr(c, "seller", replace(c.seller, endpoint=Identifier(value="FR-V-1", scheme="0088")))
        or _inv(c, type_code="389")
        if c.invoice.document_type == "INVOICE"
        else c
    ),
    "tax representative": lambda c, r: _inv(
        c, tax_representative=TaxRepresentative(name="Rep", vat_id="FR40303265045", address=c.seller.address)
    ),
    "mode S9": lambda c, r: _inv(c, billing_mode="S9"),
    "huge amounts": lambda c, r: _line0(c, quantity=Decimal("900000000000"), unit_price=Decimal("950000000")),
    "issued in 1999": lambda c, r: _inv(c, issue_date=dt.date(1999, 12, 1), due_date=dt.date(1999, 12, 31)),
    "tax point in 2100": lambda c, r: _inv(c, tax_point_date=dt.date(2100, 1, 1)),
    "due in 2100": lambda c, r: _inv(c, due_date=dt.date(2100, 1, 1)),
    "preceding invoice of 1999": lambda c, r: _inv(
        c, preceding_invoices=[DocumentReference(number="F-1999-1", issue_date=dt.date(1999, 5, 1))]
    ),
    "line period in 2100": lambda c, r: _line0(
        c, period=Period(start_date=dt.date(2100, 1, 1), end_date=dt.date(2100, 1, 31))
    ),
    "period to 2100": lambda c, r: _inv(
        c, invoicing_period=Period(start_date=dt.date(2026, 11, 1), end_date=dt.date(2100, 1, 31))
    ),
    "duplicate PMT": lambda c, r: _inv(c, notes=[*c.invoice.notes, NOTES[0]]),
    "duplicate AAB": lambda c, r: _inv(c, notes=[*c.invoice.notes, NOTES[2]]),
    "allowance category L": lambda c, r: _inv(
        c,
        allowances=[
            AllowanceCharge(
                amount=Decimal("2.00"),
                reason="Remise",
                reason_code="95",
                tax_category="L",
                tax_rate=Decimal(7),
            )
        ],
    ),
    "charge rate 19": lambda c, r: _inv(c, charges=[_shipping(Decimal(19))]),
    "charge rate 5.555": lambda c, r: _inv(c, charges=[_shipping(Decimal("5.555"))]),
    "seller address with a slash": lambda c, r: (
        setattr(
            c,
            "seller",
            replace(c.seller, endpoint=Identifier(value=(c.seller.siren or "1") + "/A", scheme="0225")),
        )
        or c
    ),
    "buyer private id with a space": lambda c, r: _buyer(
        c, replace(c.buyer, identifiers=[Identifier(value="ID ACHAT", scheme="0224")])
    ),
    "seller private id too long": lambda c, r: (
        setattr(c, "seller", replace(c.seller, identifiers=[Identifier(value="S" * 101, scheme="0224")])) or c
    ),
    "buyer address too long": lambda c, r: _buyer(
        c, replace(c.buyer, endpoint=Identifier(value="X" * 126, scheme="0088"))
    ),
    "seller scheme twice": lambda c, r: (
        setattr(
            c,
            "seller",
            replace(
                c.seller,
                identifiers=[Identifier(value="A", scheme="0088"), Identifier(value="B", scheme="0088")],
            ),
        )
        or c
    ),
    "buyer identifier without scheme": lambda c, r: _buyer(
        c, replace(c.buyer, identifiers=[Identifier(value="CLIENT-9")])
    ),
    "payee identifiers": lambda c, r: _inv(
        c,
        payee=Party(
            name="Factor SA",
            identifiers=[
                Identifier(value="F1"),
                Identifier(value="F2", scheme="0088"),
                Identifier(value="F3", scheme="0088"),
            ],
            address=c.seller.address,
        ),
    ),
    "base quantity five decimals": lambda c, r: _line0(c, base_quantity=Decimal("1.00001")),
    "gross price seven decimals": lambda c, r: _line0(
        c, gross_unit_price=c.invoice.line_items[0].unit_price + Decimal("0.0000001")
    ),
    # inputs stay within the basic checks' bounds (1e12 a value), products and sums go beyond
    "huge charge": lambda c, r: _inv(
        c,
        charges=[
            AllowanceCharge(
                percentage=Decimal("1000000000"),
                base_amount=Decimal("1000000000000"),
                reason="Port",
                reason_code="FC",
                tax_category="S",
                tax_rate=Decimal(20),
            )
        ],
    ),
    "huge allowance": lambda c, r: _inv(
        _line0(c, quantity=Decimal("1000000000000"), unit_price=Decimal("1000000000")),
        allowances=[
            AllowanceCharge(
                percentage=Decimal(10),
                reason="Remise",
                reason_code="95",
                tax_category="S",
                tax_rate=Decimal(20),
            )
        ],
    ),
    "paid without due date": lambda c, r: _inv(c, billing_mode="B2", due_date=None),
    "huge line allowance": lambda c, r: _line0(
        c,
        quantity=Decimal("1000000000000"),
        unit_price=Decimal("1000000000"),
        allowances=[AllowanceCharge(percentage=Decimal(10), reason="Remise", reason_code="95")],
    ),
}


def make_fr_case(rnd: random.Random, index: int, *, mutated: bool) -> FrCase:
    case = valid_case(rnd, index)
    if mutated:
        for name in rnd.sample(sorted(MUTATIONS), rnd.choice((1, 1, 2, 3))):
            case = MUTATIONS[name](case, rnd)
            case.mutations.append(name)
    return case
