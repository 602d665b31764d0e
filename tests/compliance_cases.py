"""Invoice cases for the differential test and the validation bench.

`valid_case(rnd, profile)` builds an invoice that should pass every rule of its profile
(seller and buyer drawn from the countries with national rule blocks, every part of the
input model in play); `mutate(rnd, case)` breaks it in one to three named ways (drop a
field, break a total, wrong category/rate pairs, bad codes, bad identifiers, a national
rule). Both take a `random.Random`, so the test drives them from hypothesis (`st.randoms`)
and the bench from a plain seed: the same seed gives the same invoice.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from faktura.domain.document import Document, build_document
from faktura.domain.invoice import (
    Address,
    AllowanceCharge,
    Card,
    Classification,
    ContactPoint,
    Delivery,
    DocumentReference,
    Identifier,
    InvoiceInput,
    Item,
    ItemAttribute,
    LineItem,
    Mandate,
    Party,
    PayeeAccount,
    PaymentMeans,
    Period,
    SupportingDocument,
    TaxRepresentative,
)

D = Decimal


@dataclass
class Case:
    invoice: InvoiceInput
    seller: Party
    buyer: Party
    number: str = "INV-2026-0001"
    mutations: list[str] = field(default_factory=list)

    def document(self, invoice: InvoiceInput, profile: str) -> Document:
        """`invoice` (this case's, possibly adjusted) as the renderers take it."""
        assert invoice.issue_date is not None and invoice.currency is not None
        fixed = {"number": self.number, "issue_date": invoice.issue_date, "currency": invoice.currency}
        return build_document(invoice, seller=self.seller, buyer=self.buyer, profile=profile, **fixed)


# -- identifiers with valid check digits ----------------------------------------------------


def _digits(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789") for _ in range(n))


def gln(rnd: random.Random, prefix: str = "4") -> str:
    body = prefix + _digits(rnd, 12 - len(prefix))
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - weighted % 10) % 10)


def no_orgnr(rnd: random.Random) -> str:
    while True:
        body = "9" + _digits(rnd, 7)
        weighted = sum(int(d) * ((i % 6) + 2) for i, d in enumerate(reversed(body)))
        check = (11 - weighted % 11) % 11
        if check < 10:
            return body + str(check)


def se_orgnr(rnd: random.Random) -> str:
    body = "55" + _digits(rnd, 7)
    total = 0
    for pos in range(1, 10):
        d = int(body[9 - pos])
        total += (d * 2) % 10 + (d * 2) // 10 if pos % 2 == 1 else d
    return body + str((10 - total % 10) % 10)


def be_enterprise(rnd: random.Random) -> str:
    body = "0" + _digits(rnd, 7)
    return body + f"{97 - int(body) % 97:02d}"


def greek_tin(rnd: random.Random) -> str:
    d = [int(c) for c in _digits(rnd, 8)]
    checksum = sum(d[7 - k] * (2 ** (k + 1)) for k in range(8))
    return "".join(map(str, d)) + str((checksum % 11) % 10)


def iban(rnd: random.Random, country: str = "DE") -> str:
    bban = _digits(rnd, 18)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


# -- parties per country -----------------------------------------------------------------------

CITIES = {"DE": ("Berlin", "10115"), "AT": ("Wien", "1010"), "BE": ("Gent", "9000"), "NL": ("Utrecht", "3511 AB"),
          "FR": ("Lyon", "69001"), "IT": ("Bologna", "40125"), "NO": ("Oslo", "0150"), "DK": ("Aarhus", "8000"),
          "SE": ("Malmö", "211 20"), "IS": ("Reykjavík", "101"), "ES": ("Sevilla", "41001"), "FI": ("Espoo", "02100"),
          "GR": ("Athina", "105 57"), "US": ("Boston", "02108"), "CH": ("Basel", "4051")}  # fmt: skip
RATES = {"DE": ("19", "7"), "AT": ("20", "10"), "BE": ("21", "6"), "NL": ("21", "9"), "FR": ("20", "5.5"),
         "IT": ("22", "10"), "NO": ("25", "15"), "DK": ("25",), "SE": ("25", "12", "6"), "IS": ("24", "11"),
         "ES": ("21", "10"), "FI": ("25.5", "14"), "GR": ("24", "13"), "US": ("8.25",), "CH": ("8.1",)}  # fmt: skip
PEPPOL_SELLERS = ("DE", "AT", "BE", "NL", "FR", "IT", "NO", "DK", "SE", "IS", "ES", "FI")
BUYERS = ("DE", "AT", "BE", "NL", "FR", "IT", "NO", "DK", "SE", "IS", "ES", "US", "CH")


def party(rnd: random.Random, country: str, *, seller: bool, name: str) -> Party:
    city, postal = CITIES[country]
    vat: str | None = f"{country}{_digits(rnd, 9)}"
    legal: Identifier | None = None
    endpoint = Identifier(value=gln(rnd), scheme="0088")
    tax_reg: str | None = None
    identifiers: list[Identifier] = []
    if country == "NO":
        org = no_orgnr(rnd)
        vat = f"NO{org}MVA"
        endpoint = Identifier(value=org, scheme="0192")
        legal = Identifier(value=org, scheme="0192")
        tax_reg = "Foretaksregisteret" if seller else None
    elif country == "DK":
        cvr = "DK" + _digits(rnd, 8)
        vat = cvr
        legal = Identifier(value=cvr, scheme="0184")
        endpoint = Identifier(value=cvr, scheme="0184")
    elif country == "SE":
        org = se_orgnr(rnd)
        vat = f"SE{org}01"
        legal = Identifier(value=org, scheme="0007")
        endpoint = Identifier(value=org, scheme="0007")
        tax_reg = "Godkänd för F-skatt" if seller and rnd.random() < 0.5 else None
    elif country == "BE":
        ent = be_enterprise(rnd)
        vat = f"BE{ent}"
        endpoint = Identifier(value=ent, scheme="0208")
        legal = Identifier(value=ent, scheme="0208") if rnd.random() < 0.5 else None
    elif country == "NL":
        legal = Identifier(value=_digits(rnd, 8), scheme=rnd.choice(("0106", "0190")))
        vat = f"NL{_digits(rnd, 9)}B01"
    elif country == "IS":
        legal = Identifier(value=_digits(rnd, 10), scheme="0196")
        vat = None if rnd.random() < 0.3 else f"IS{_digits(rnd, 5)}"
    elif country == "IT":
        vat = f"IT{_digits(rnd, 11)}"
        tax_reg = _digits(rnd, 11) if seller and rnd.random() < 0.4 else None
    elif country == "GR":
        tin = greek_tin(rnd)
        vat = f"EL{tin}"
        endpoint = Identifier(value=tin, scheme="9933")
    elif country in ("US", "CH"):
        vat = None if rnd.random() < 0.5 else f"CHE{_digits(rnd, 9)}MWST" if country == "CH" else None
        legal = Identifier(value=_digits(rnd, 9)) if rnd.random() < 0.5 else None
    if rnd.random() < 0.3:
        identifiers.append(Identifier(value=gln(rnd), scheme="0088"))
    if not seller and rnd.random() < 0.2:
        identifiers = (
            [Identifier(value=f"CUST-{rnd.randrange(9999)}", scheme=None)]
            if country != "DK"
            else [Identifier(value=gln(rnd), scheme="0088")]
        )
    contact = None
    if seller or rnd.random() < 0.5:
        contact = ContactPoint(name="Jo Example", phone="+49 30 1234567", email="jo@seller.example")
    return Party(
        name=name,
        trading_name=f"{name} Trade" if rnd.random() < 0.4 or country == "GR" else None,
        vat_id=vat,
        tax_registration_id=tax_reg,
        legal_id=legal,
        legal_form="GmbH" if seller and rnd.random() < 0.3 else None,
        identifiers=identifiers,
        endpoint=endpoint,
        address=Address(
            line1="Hauptstraße 1",
            line2="Hinterhaus" if rnd.random() < 0.3 else None,
            line3="3. OG" if rnd.random() < 0.1 else None,
            city=city,
            postal_code=postal,
            subdivision="Region" if rnd.random() < 0.2 else None,
            country=country,
        ),
        contact=contact,
    )


# -- invoices ---------------------------------------------------------------------------------

UNITS = ("C62", "H87", "HUR", "KGM", "MTR", "XPP", "DAY", "LTR")
ALLOWANCE_CODES = ("95", "100", "102", "104", "41", "60")
CHARGE_CODES = ("FC", "ABL", "ADR", "AAA", "SAA")
SCENARIOS = ("S", "S", "S", "SZ", "E", "AE", "K", "G", "O", "L", "M")


def _amount(rnd: random.Random, lo: int, hi: int, places: int = 2) -> Decimal:
    return (
        (D(rnd.randrange(lo * 100, hi * 100)) / 100).quantize(D(1).scaleb(-places))
        if places <= 2
        else D(rnd.randrange(lo * 10**places, hi * 10**places)).scaleb(-places)
    )


def _reason(category: str) -> tuple[str | None, str | None]:
    return {
        "E": ("Exempt (education)", "VATEX-EU-132"),
        "AE": ("Reverse charge", "VATEX-EU-AE"),
        "K": ("Intra-community supply", "VATEX-EU-IC"),
        "G": ("Export outside the EU", "VATEX-EU-G"),
        "O": ("Not subject to VAT", "VATEX-EU-O"),
    }.get(category, (None, None))


def _category_pool(rnd: random.Random, scenario: str, country: str) -> list[tuple[str, Decimal | None]]:
    rates = [D(r) for r in RATES[country]]
    if scenario == "S":
        return [("S", r) for r in rnd.sample(rates, rnd.randint(1, len(rates)))]
    if scenario == "SZ":
        return [("S", rates[0]), ("Z", D(0))]
    if scenario in ("L", "M"):
        return [(scenario, D(rnd.choice(("7", "3", "0", "9.5"))))]
    return [(scenario, D(0) if rnd.random() < 0.5 else None)] if scenario != "O" else [("O", None)]


def _ac(
    rnd: random.Random, *, charge: bool, category: tuple[str, Decimal | None] | None, base: Decimal
) -> AllowanceCharge:
    pct = rnd.random() < 0.4
    reason_code = rnd.choice(CHARGE_CODES if charge else ALLOWANCE_CODES) if rnd.random() < 0.7 else None
    reason = ("Freight" if charge else "Discount") if reason_code is None or rnd.random() < 0.5 else None
    cat, rate = category if category else (None, None)
    ex_reason, ex_code = _reason(cat) if cat else (None, None)
    return AllowanceCharge(
        amount=None if pct else _amount(rnd, 1, 40),
        percentage=D(rnd.choice(("2", "5", "10", "2.5"))) if pct else None,
        base_amount=(base if base >= 0 else None) if pct and rnd.random() < 0.5 else None,
        reason=reason,
        reason_code=reason_code,
        tax_category=cat,
        tax_rate=rate,
        tax_exemption_reason=ex_reason if rnd.random() < 0.5 else None,
        tax_exemption_reason_code=ex_code if rnd.random() < 0.5 else None,
    )


def _line(
    rnd: random.Random, i: int, cat: tuple[str, Decimal | None], period: Period | None, *, credit: bool
) -> LineItem:
    category, rate = cat
    ex_reason, ex_code = _reason(category)
    if ex_reason and rnd.random() < 0.3:
        ex_reason = None  # the code alone is enough
    elif ex_code and rnd.random() < 0.3:
        ex_code = None
    qty = D(rnd.choice(("1", "2", "3", "0.5", "12", "1.25", "100")))
    price = _amount(rnd, 0, 500, rnd.choice((2, 2, 3, 4)))
    base_qty = D(rnd.choice(("1", "10", "100"))) if rnd.random() < 0.15 else None
    gross = price + _amount(rnd, 0, 20) if rnd.random() < 0.2 else None
    line_period = None
    if period and period.start_date and period.end_date and rnd.random() < 0.3:
        line_period = Period(start_date=period.start_date, end_date=period.end_date)
    gross_net = (qty * price).quantize(D("0.01"))
    return LineItem(
        id=f"L{i}" if rnd.random() < 0.3 else None,
        description="Line description" if rnd.random() < 0.3 else None,
        item=Item(
            name=f"Item {i}",
            description="Item description" if rnd.random() < 0.3 else None,
            seller_id=f"SKU-{i}" if rnd.random() < 0.5 else None,
            buyer_id=f"B-{i}" if rnd.random() < 0.2 else None,
            standard_id=Identifier(value=gln(rnd), scheme="0160") if rnd.random() < 0.2 else None,
            classifications=[Classification(code="43211503", list_id="STI", list_version="19.0501")]
            if rnd.random() < 0.2
            else [],
            origin_country=rnd.choice(("DE", "CN", "IT")) if rnd.random() < 0.2 else None,
            attributes=[ItemAttribute(name="Colour", value="Blue")] if rnd.random() < 0.2 else [],
        ),
        quantity=-qty if credit and rnd.random() < 0.05 else qty,
        unit_code=rnd.choice(UNITS),
        unit_price=price,
        base_quantity=base_qty,
        gross_unit_price=gross,
        tax_category=category,
        tax_rate=rate,
        tax_exemption_reason=ex_reason,
        tax_exemption_reason_code=ex_code,
        allowances=[_ac(rnd, charge=False, category=None, base=gross_net)] if rnd.random() < 0.15 else [],
        charges=[_ac(rnd, charge=True, category=None, base=gross_net)] if rnd.random() < 0.1 else [],
        note="Line note" if rnd.random() < 0.2 else None,
        object_id=Identifier(value=f"OBJ-{i}") if rnd.random() < 0.1 else None,
        order_line_reference=str(i) if rnd.random() < 0.2 else None,
        accounting_cost="4711" if rnd.random() < 0.1 else None,
        period=line_period,
    )


def _payment_means(
    rnd: random.Random, country: str, de_rules: bool, dk_dk: bool, nl_nl: bool
) -> list[PaymentMeans]:
    kind = rnd.random()
    pid = f"RF{rnd.randrange(10**6)}" if rnd.random() < 0.5 else None
    if kind < 0.6:
        code = "58" if rnd.random() < 0.7 else "30"
        if dk_dk:
            code = "58"
        return [
            PaymentMeans(
                code=code,
                payment_id=pid,
                account=PayeeAccount(
                    iban=iban(rnd), name="Acct", bic="DEUTDEFF" if rnd.random() < 0.5 else None
                ),
            )
        ]
    if kind < 0.75:
        return [
            PaymentMeans(
                code="59" if not dk_dk else "49",
                payment_id=pid,
                mandate=Mandate(
                    reference=f"MD-{rnd.randrange(999)}",
                    creditor_id="DE98ZZZ09999999999",
                    debited_account=iban(rnd),
                ),
            )
        ]
    if kind < 0.85 and not dk_dk and not nl_nl:
        return [
            PaymentMeans(
                code=rnd.choice(("48", "54", "55")),
                card=Card(account_number="1234", network="VISA", holder="J Doe"),
            )
        ]
    if kind < 0.9 and not de_rules and not nl_nl and not dk_dk:
        return [PaymentMeans(code=rnd.choice(("1", "10", "97")), payment_id=pid)]
    code = "58"
    acct = PayeeAccount(iban=iban(rnd))
    return [
        PaymentMeans(code=code, payment_id=pid, account=acct),
        PaymentMeans(code=code, payment_id=pid, account=PayeeAccount(iban=iban(rnd))),
    ]


def valid_case(rnd: random.Random, profile: str = "peppol-bis-3") -> Case:
    """An invoice that every rule of `profile` accepts (by construction of the choices)."""
    xr = profile == "xrechnung-3"
    seller_cc = "DE" if xr and rnd.random() < 0.8 else rnd.choice(PEPPOL_SELLERS)
    buyer_cc = "DE" if xr and rnd.random() < 0.6 else rnd.choice(BUYERS)
    de_rules = xr or (seller_cc == "DE" and buyer_cc == "DE")
    credit = rnd.random() < 0.2
    scenario = rnd.choice(SCENARIOS)
    if seller_cc in ("IS", "NO", "US", "CH") and scenario in ("K", "AE"):
        scenario = "S"
    if scenario in ("L", "M") and seller_cc != "ES":
        seller_cc = "ES"
        de_rules = xr
    seller = party(rnd, seller_cc, seller=True, name="Seller Ltd")
    buyer = party(rnd, buyer_cc, seller=False, name="Buyer AG")
    if scenario == "G" and not seller.vat_id:  # an export needs the seller's VAT id (BR-G-02)
        scenario = "S"
    if scenario in ("AE", "K") and not buyer.vat_id:
        buyer = msgspec.structs.replace(buyer, vat_id=f"{buyer_cc}{_digits(rnd, 9)}")
    if scenario == "O":
        seller = msgspec.structs.replace(seller, vat_id=None, tax_registration_id=seller.tax_registration_id)
        buyer = msgspec.structs.replace(buyer, vat_id=None)
        if not (seller.legal_id or any(i.scheme != "SEPA" for i in seller.identifiers)):
            seller = msgspec.structs.replace(seller, legal_id=Identifier(value=_digits(rnd, 9)))
        if seller_cc == "SE":
            seller = msgspec.structs.replace(seller, tax_registration_id=None)
    if seller.vat_id is None and not seller.tax_registration_id and scenario != "O":
        seller = msgspec.structs.replace(seller, tax_registration_id=_digits(rnd, 11))
    if seller_cc in ("US", "CH") or seller.vat_id is None:
        pass
    if seller_cc == "NO" and seller.tax_registration_id is None:
        seller = msgspec.structs.replace(seller, tax_registration_id="Foretaksregisteret")

    issue = dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(300))
    period = None
    if rnd.random() < 0.4 or scenario == "K":
        start = issue - dt.timedelta(days=30)
        period = Period(start_date=start, end_date=issue - dt.timedelta(days=1))
        if rnd.random() < 0.1:
            period = Period(description_code=rnd.choice(("3", "35", "432")))
    pool = _category_pool(rnd, scenario, seller_cc)
    if seller_cc == "SE":
        pool = [(c, D(rnd.choice(("25", "12", "6"))) if c == "S" else r) for c, r in pool]
    n_lines = rnd.randint(1, 4)
    lines = [_line(rnd, i + 1, pool[i % len(pool)], period, credit=credit) for i in range(n_lines)]
    line_sum = D(0)
    allowances = [
        _ac(rnd, charge=False, category=rnd.choice(pool), base=D("100.00"))
        for _ in range(rnd.choice((0, 0, 1, 2)))
    ]
    charges = [
        _ac(rnd, charge=True, category=rnd.choice(pool), base=D("100.00"))
        for _ in range(rnd.choice((0, 0, 0, 1)))
    ]
    _ = line_sum
    dk_dk = seller_cc == "DK" and buyer_cc == "DK"
    nl_nl = seller_cc == "NL" and buyer_cc == "NL"
    means = (
        _payment_means(rnd, seller_cc, de_rules, dk_dk, nl_nl)
        if rnd.random() < 0.9 or de_rules or seller_cc == "NL"
        else []
    )
    delivery = None
    if rnd.random() < 0.4 or scenario == "K":
        dcity, dzip = CITIES[buyer_cc]
        delivery = Delivery(
            date=issue - dt.timedelta(days=2) if scenario == "K" or rnd.random() < 0.5 else None,
            location_id=Identifier(value=gln(rnd), scheme="0088") if rnd.random() < 0.3 else None,
            party_name="Warehouse" if rnd.random() < 0.5 else None,
            address=Address(line1="Lagerweg 5", city=dcity, postal_code=dzip, country=buyer_cc)
            if scenario == "K" or rnd.random() < 0.6
            else None,
        )
    currency = {"NO": "NOK", "DK": "DKK", "SE": "SEK", "IS": "ISK", "US": "USD", "CH": "CHF"}.get(
        seller_cc, "EUR"
    )
    tax_currency = exchange = None
    if currency == "EUR" and rnd.random() < 0.1 and scenario in ("S", "SZ"):
        currency, tax_currency, exchange = "USD", "EUR", D("0.9234")
    notes = ["Thank you for your business."] if rnd.random() < 0.5 else []
    if de_rules and rnd.random() < 0.3:
        notes.append("#ADU#Zweite Notiz")
    terms = rnd.choice((None, "30 days net", "#SKONTO#TAGE=14#PROZENT=2.00#\n"))
    if not de_rules and terms and terms.startswith("#"):
        terms = "14 days 2 %, 30 days net"
    type_code = None
    if not credit and rnd.random() < 0.1:
        if xr:
            type_code = rnd.choice(("380", "389", "326"))
        else:
            type_code = (
                rnd.choice(("380", "384", "326", "386")) if de_rules else rnd.choice(("380", "386", "393"))
            )
    payee = None
    if rnd.random() < 0.1:
        payee = Party(
            name="Factoring Bank AG",
            identifiers=[Identifier(value=gln(rnd, "59"), scheme="0088")],
            address=Address(country=seller_cc),
        )
    # the rarer parts of the model: an invoiced object (BT-18), supporting documents (BG-24)
    # and, for a VAT-registered seller in the EU, a tax representative (BG-11)
    object_id = Identifier(value=f"METER-{rnd.randrange(1000)}", scheme="AVV") if rnd.random() < 0.1 else None
    attachments = [
        SupportingDocument(
            reference=f"ATT-{k}",
            description=rnd.choice((None, "Timesheet")),
            content=rnd.choice((None, b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")),
            mime_code="application/pdf",
            filename=f"attachment-{k}.pdf",
            url=rnd.choice((None, f"https://files.example/att-{k}.pdf")),
        )
        for k in range(rnd.choice((0, 0, 0, 0, 0, 1, 2)))
    ]
    attachments = [a for a in attachments if a.content or a.url] or []
    representative = None
    if rnd.random() < 0.1 and scenario in ("S", "SZ") and seller_cc in ("DE", "AT", "BE", "FR", "ES", "FI"):
        representative = TaxRepresentative(
            name="Fiscal Representative GmbH",
            vat_id="DE136695976",
            address=Address(line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"),
        )
    invoice = InvoiceInput(
        profile=profile,  # type: ignore[arg-type]
        object_id=object_id,
        attachments=attachments,
        tax_representative=representative,
        document_type="CREDIT_NOTE" if credit else "INVOICE",
        type_code=type_code,
        issue_date=issue,
        due_date=issue + dt.timedelta(days=30) if rnd.random() < 0.7 else None,
        tax_point_date=issue if rnd.random() < 0.1 and not (period and period.description_code) else None,
        currency=currency,
        tax_currency=tax_currency,
        exchange_rate=exchange,
        inclusive_of_tax=rnd.random() < 0.1,
        buyer_reference=f"04011000-12345-{rnd.randrange(10, 99)}"
        if de_rules and rnd.random() < 0.2
        else (f"REF-{rnd.randrange(1000)}" if de_rules or rnd.random() < 0.6 else None),
        order_reference=f"PO-{rnd.randrange(1000)}"
        if rnd.random() < 0.5 or any(li.order_line_reference for li in lines)
        else None,
        sales_order_reference="SO-1" if rnd.random() < 0.1 else None,
        contract_reference="C-1" if rnd.random() < 0.1 else None,
        project_reference="P-1" if rnd.random() < 0.1 else None,
        despatch_reference="D-1" if rnd.random() < 0.1 else None,
        receiving_advice_reference="R-1" if rnd.random() < 0.1 else None,
        tender_reference="T-1" if rnd.random() < 0.1 else None,
        accounting_cost="4711" if rnd.random() < 0.1 else None,
        preceding_invoices=[DocumentReference(number="INV-2025-9", issue_date=issue - dt.timedelta(days=60))]
        if credit and (seller_cc == "NL" or rnd.random() < 0.6)
        else [],
        notes=notes,
        memo="internal" if rnd.random() < 0.1 else None,
        buyer=buyer,
        payee=payee,
        line_items=lines,
        allowances=allowances,
        charges=charges,
        invoicing_period=period,
        delivery=delivery,
        payment_means=means,
        payment_terms=terms,
        prepaid_amount=D("10.00") if rnd.random() < 0.1 else None,
        rounding_amount=D("0.01") if rnd.random() < 0.05 else None,
    )
    if invoice.buyer_reference and "-" in invoice.buyer_reference and invoice.buyer_reference[0].isdigit():
        invoice = msgspec.structs.replace(invoice, buyer_reference="04011000-12345-03")
    if not (invoice.buyer_reference or invoice.order_reference or invoice.sales_order_reference):
        invoice = msgspec.structs.replace(invoice, buyer_reference="REF-1")
    return Case(invoice=invoice, seller=seller, buyer=buyer)


# -- mutations ---------------------------------------------------------------------------------

Mutation = Callable[[random.Random, Case], object]


def _inv(case: Case, **changes: object) -> Case:
    case.invoice = msgspec.structs.replace(case.invoice, **changes)
    return case


def _line0(case: Case, **changes: object) -> Case:
    lines = list(case.invoice.line_items)
    if lines:
        lines[0] = msgspec.structs.replace(lines[0], **changes)
        _inv(case, line_items=lines)
    return case


def _seller(case: Case, **changes: object) -> Case:
    case.seller = msgspec.structs.replace(case.seller, **changes)
    return case


def _buyer(case: Case, **changes: object) -> Case:
    case.buyer = msgspec.structs.replace(case.buyer, **changes)
    case.invoice = msgspec.structs.replace(case.invoice, buyer=case.buyer)
    return case


def _addr(party: Party, **changes: object) -> Address:
    return msgspec.structs.replace(party.address, **changes)


def _doc_ac(case: Case, charge: bool, **changes: object) -> Case:
    name = "charges" if charge else "allowances"
    acs = list(getattr(case.invoice, name))
    if not acs:
        acs = [
            AllowanceCharge(
                amount=D("5.00"),
                reason="Misc",
                tax_category=case.invoice.line_items[0].tax_category if case.invoice.line_items else "S",
                tax_rate=case.invoice.line_items[0].tax_rate if case.invoice.line_items else D(19),
            )
        ]
    acs[0] = msgspec.structs.replace(acs[0], **changes)
    _inv(case, **{name: acs})
    return case


def _line_ac(case: Case, charge: bool, **changes: object) -> Case:
    name = "charges" if charge else "allowances"
    if not case.invoice.line_items:
        return case
    li = case.invoice.line_items[0]
    acs = list(getattr(li, name)) or [AllowanceCharge(amount=D("1.00"), reason="Line discount")]
    acs[0] = msgspec.structs.replace(acs[0], **changes)
    _line0(case, **{name: acs})
    return case


def _means0(case: Case, **changes: object) -> Case:
    means = list(case.invoice.payment_means) or [
        PaymentMeans(code="58", account=PayeeAccount(iban="DE89370400440532013000"))
    ]
    means[0] = msgspec.structs.replace(means[0], **changes)
    _inv(case, payment_means=means)
    return case


MUTATIONS: dict[str, Mutation] = {
    # dropped fields
    "drop-buyer-endpoint": lambda r, c: _buyer(c, endpoint=None),
    "drop-seller-endpoint": lambda r, c: _seller(c, endpoint=None),
    "drop-endpoint-scheme": lambda r, c: _seller(c, endpoint=Identifier(value="4000001000005")),
    "drop-buyer-endpoint-scheme": lambda r, c: _buyer(c, endpoint=Identifier(value="4000001000005")),
    "drop-references": lambda r, c: _inv(
        c, buyer_reference=None, order_reference=None, sales_order_reference=None
    ),
    "drop-buyer-reference": lambda r, c: _inv(c, buyer_reference=None),
    "drop-lines": lambda r, c: _inv(c, line_items=[]),
    "drop-lines-keep-charge": lambda r, c: (_doc_ac(c, True), _inv(c, line_items=[])),
    "drop-payment-means": lambda r, c: _inv(c, payment_means=[]),
    "drop-seller-ids": lambda r, c: _seller(
        c, vat_id=None, legal_id=None, identifiers=[], tax_registration_id=None
    ),
    "drop-seller-vat": lambda r, c: _seller(c, vat_id=None),
    "drop-buyer-vat": lambda r, c: _buyer(c, vat_id=None),
    "drop-seller-contact": lambda r, c: _seller(c, contact=None),
    "drop-seller-phone": lambda r, c: _seller(c, contact=ContactPoint(name="Jo", email="jo@x.example")),
    "drop-seller-city": lambda r, c: _seller(c, address=_addr(c.seller, city=None, line1=None)),
    "drop-buyer-postal": lambda r, c: _buyer(c, address=_addr(c.buyer, postal_code=None, line1=None)),
    "drop-seller-legal": lambda r, c: _seller(c, legal_id=None),
    "drop-delivery": lambda r, c: _inv(c, delivery=None, invoicing_period=None),
    "drop-delivery-city": lambda r, c: _inv(
        c, delivery=Delivery(address=Address(country=c.buyer.address.country, line1="X"))
    ),
    "drop-allowance-reason": lambda r, c: _doc_ac(c, False, reason=None, reason_code=None),
    "drop-charge-reason": lambda r, c: _doc_ac(c, True, reason=None, reason_code=None),
    "drop-line-allowance-reason": lambda r, c: _line_ac(c, False, reason=None, reason_code=None),
    "drop-line-charge-reason": lambda r, c: _line_ac(c, True, reason=None, reason_code=None),
    "drop-allowance-category": lambda r, c: _doc_ac(c, False, tax_category=None),
    "drop-charge-category": lambda r, c: _doc_ac(c, True, tax_category=None, tax_rate=None),
    "drop-exemption-reason": lambda r, c: _inv(
        c,
        line_items=[
            msgspec.structs.replace(li, tax_exemption_reason=None, tax_exemption_reason_code=None)
            for li in c.invoice.line_items
        ],
        allowances=[
            msgspec.structs.replace(a, tax_exemption_reason=None, tax_exemption_reason_code=None)
            for a in c.invoice.allowances
        ],
        charges=[
            msgspec.structs.replace(a, tax_exemption_reason=None, tax_exemption_reason_code=None)
            for a in c.invoice.charges
        ],
    ),
    "drop-mandate": lambda r, c: _means0(c, code="59", mandate=None, account=None, card=None),
    "drop-credit-account": lambda r, c: _means0(c, code="58", account=None, mandate=None, card=None),
    "drop-card": lambda r, c: _means0(c, code="48", card=None, account=None, mandate=None),
    "drop-debited-account": lambda r, c: _means0(
        c, code="59", account=None, card=None, mandate=Mandate(reference="M1")
    ),
    "drop-preceding": lambda r, c: _inv(c, document_type="CREDIT_NOTE", preceding_invoices=[]),
    # wrong category / rate pairs
    "s-rate-zero": lambda r, c: _line0(
        c, tax_category="S", tax_rate=D(0), tax_exemption_reason=None, tax_exemption_reason_code=None
    ),
    "s-rate-missing": lambda r, c: _line0(
        c, tax_category="S", tax_rate=None, tax_exemption_reason=None, tax_exemption_reason_code=None
    ),
    "s-with-reason": lambda r, c: _line0(
        c, tax_category="S", tax_rate=D(19), tax_exemption_reason="Why", tax_exemption_reason_code=None
    ),
    "z-rate-seven": lambda r, c: _line0(c, tax_category="Z", tax_rate=D(7)),
    "e-no-reason": lambda r, c: _line0(
        c, tax_category="E", tax_rate=D(0), tax_exemption_reason=None, tax_exemption_reason_code=None
    ),
    "e-rate-five": lambda r, c: _line0(c, tax_category="E", tax_rate=D(5), tax_exemption_reason="Exempt"),
    "ae-no-buyer-vat": lambda r, c: (
        _line0(c, tax_category="AE", tax_rate=D(0), tax_exemption_reason="RC"),
        _buyer(c, vat_id=None, legal_id=None),
    ),
    "k-line": lambda r, c: _line0(
        c, tax_category="K", tax_rate=D(0), tax_exemption_reason_code="VATEX-EU-IC"
    ),
    "g-line": lambda r, c: _line0(c, tax_category="G", tax_rate=None, tax_exemption_reason="Export"),
    "o-line": lambda r, c: _line0(c, tax_category="O", tax_rate=None, tax_exemption_reason="Not subject"),
    "o-line-with-rate": lambda r, c: _line0(
        c, tax_category="O", tax_rate=D(0), tax_exemption_reason="Not subject"
    ),
    "l-line": lambda r, c: _line0(c, tax_category="L", tax_rate=D(r.choice(("7", "-1", "0")))),
    "l-no-rate": lambda r, c: _line0(c, tax_category="M", tax_rate=None),
    "b-line": lambda r, c: _line0(c, tax_category="B", tax_rate=D(22)),
    "x-category": lambda r, c: _line0(c, tax_category="X", tax_rate=D(19)),
    "allowance-wrong-rate": lambda r, c: _doc_ac(c, False, tax_category="S", tax_rate=D(0)),
    "charge-z-rate": lambda r, c: _doc_ac(c, True, tax_category="Z", tax_rate=D(5)),
    "allowance-e": lambda r, c: _doc_ac(c, False, tax_category="E", tax_rate=D(0), tax_exemption_reason=None),
    "allowance-o": lambda r, c: _doc_ac(c, False, tax_category="O", tax_rate=None, tax_exemption_reason="NS"),
    "charge-ae": lambda r, c: _doc_ac(c, True, tax_category="AE", tax_rate=D(0)),
    "charge-k": lambda r, c: _doc_ac(c, True, tax_category="K", tax_rate=None),
    "allowance-g": lambda r, c: _doc_ac(c, False, tax_category="G", tax_rate=D(0)),
    "vatex-mismatch": lambda r, c: _line0(
        c,
        tax_category="E",
        tax_rate=D(0),
        tax_exemption_reason_code=r.choice(
            ("VATEX-EU-G", "VATEX-EU-IC", "VATEX-EU-O", "VATEX-EU-AE", "VATEX-EU-D")
        ),
    ),
    # bad codes
    "bad-currency": lambda r, c: _inv(c, currency="XYZ"),
    "bad-tax-currency": lambda r, c: _inv(c, tax_currency="QQQ", exchange_rate=D("1.1")),
    "bad-unit": lambda r, c: _line0(c, unit_code="ZZZ"),
    "bad-country": lambda r, c: _buyer(c, address=_addr(c.buyer, country="XX")),
    "bad-origin": lambda r, c: (
        _line0(c, item=msgspec.structs.replace(c.invoice.line_items[0].item, origin_country="QQ"))
        if c.invoice.line_items
        else None
    ),
    "bad-payment-code": lambda r, c: _means0(c, code=r.choice(("999", "0", "ZZ"))),
    "bad-allowance-code": lambda r, c: _doc_ac(c, False, reason_code=r.choice(("999", "1", "FC"))),
    "bad-charge-code": lambda r, c: _doc_ac(c, True, reason_code=r.choice(("ZZ9", "95"))),
    "bad-line-allowance-code": lambda r, c: _line_ac(c, False, reason_code="9"),
    "bad-classification": lambda r, c: (
        _line0(
            c,
            item=msgspec.structs.replace(
                c.invoice.line_items[0].item, classifications=[Classification(code="1", list_id="QQ")]
            ),
        )
        if c.invoice.line_items
        else None
    ),
    "bad-period-code": lambda r, c: _inv(c, invoicing_period=Period(description_code="9")),
    "bad-exemption-code": lambda r, c: _line0(
        c, tax_category="E", tax_rate=D(0), tax_exemption_reason_code="VATEX-EU-999"
    ),
    "bad-type-code": lambda r, c: _inv(
        c, type_code=r.choice(("999", "381", "380", "326", "384", "71", "396"))
    ),
    "bad-eas": lambda r, c: _buyer(
        c, endpoint=Identifier(value="123", scheme=r.choice(("9999", "0003", "0154")))
    ),
    "bad-icd": lambda r, c: _seller(c, identifiers=[Identifier(value="123", scheme="9998")]),
    "bad-legal-scheme": lambda r, c: _seller(c, legal_id=Identifier(value="123", scheme="ZZZZ")),
    "bad-standard-id": lambda r, c: (
        _line0(
            c,
            item=msgspec.structs.replace(
                c.invoice.line_items[0].item,
                standard_id=Identifier(value="123", scheme=r.choice(("9999", None))),
            ),
        )
        if c.invoice.line_items
        else None
    ),
    "standard-id-without-scheme": lambda r, c: (
        _line0(
            c,
            item=msgspec.structs.replace(
                c.invoice.line_items[0].item, standard_id=Identifier(value="123", scheme=None)
            ),
        )
        if c.invoice.line_items
        else None
    ),
    "bad-delivery-scheme": lambda r, c: _inv(
        c, delivery=Delivery(location_id=Identifier(value="1", scheme="X1"))
    ),
    "bad-note-subject": lambda r, c: _inv(
        c, notes=[r.choice(("#QQQ#Note", "#AAI#Fine", "#AB#x", "plain # text"))]
    ),
    "two-notes": lambda r, c: _inv(c, notes=["One", "Two"]),
    "bad-vat-prefix": lambda r, c: _seller(c, vat_id=r.choice(("XX123456789", "de123456789", "EL123456789"))),
    # bad identifiers (check digits)
    "bad-gln": lambda r, c: _buyer(c, endpoint=Identifier(value="4000001000006", scheme="0088")),
    "bad-gln-party": lambda r, c: _seller(c, identifiers=[Identifier(value="12345", scheme="0088")]),
    "bad-no-orgnr": lambda r, c: _buyer(c, endpoint=Identifier(value="987654321", scheme="0192")),
    "bad-dk-cvr": lambda r, c: _buyer(c, legal_id=Identifier(value="1234567", scheme="0184")),
    "bad-be-enterprise": lambda r, c: _seller(c, endpoint=Identifier(value="0403170702", scheme="0208")),
    "bad-se-orgnr": lambda r, c: _buyer(c, endpoint=Identifier(value="5567321708", scheme="0007")),
    "bad-abn": lambda r, c: _buyer(c, identifiers=[Identifier(value="51824753557", scheme="0151")]),
    "good-abn": lambda r, c: _buyer(c, identifiers=[Identifier(value="51824753556", scheme="0151")]),
    "two-buyer-ids": lambda r, c: _buyer(c, identifiers=[Identifier(value="A1"), Identifier(value="A2")]),
    # broken totals and amounts
    "declared-sub-total": lambda r, c: _inv(c, sub_total=D("1.00")),
    "declared-total": lambda r, c: _inv(c, total_amount=D("99999.99")),
    "declared-line-total": lambda r, c: _line0(c, total_amount=D("0.01")),
    "allowance-three-decimals": lambda r, c: _doc_ac(c, False, amount=D("1.005"), percentage=None),
    "allowance-pct-mismatch": lambda r, c: _doc_ac(
        c, False, amount=D("50.00"), percentage=D(10), base_amount=D("100.00")
    ),
    "charge-base-no-pct": lambda r, c: _doc_ac(
        c, True, amount=D("5.00"), percentage=None, base_amount=D("50.00")
    ),
    "line-charge-base-no-pct": lambda r, c: _line_ac(
        c, True, amount=D("2.00"), percentage=None, base_amount=D("20.00")
    ),
    "negative-price": lambda r, c: _line0(c, unit_price=D("-5.00")),
    "negative-gross": lambda r, c: _line0(c, gross_unit_price=D("-1.00")),
    "negative-base-qty": lambda r, c: _line0(c, base_quantity=D("-2")),
    "big-tax": lambda r, c: _line0(
        c, tax_category="S", tax_rate=D("0.4"), quantity=D(1000), unit_price=D(1000)
    ),
    "tax-currency-no-rate": lambda r, c: _inv(
        c,
        tax_currency="SEK" if c.invoice.currency != "SEK" else "EUR",
        exchange_rate=None,
        tax_currency_total_tax_amount=None,
    ),
    "tax-currency-sign": lambda r, c: _inv(
        c,
        tax_currency="SEK" if c.invoice.currency != "SEK" else "EUR",
        tax_currency_total_tax_amount=D("-5.00"),
    ),
    "credit-note-negative": lambda r, c: _inv(
        c,
        document_type="CREDIT_NOTE",
        line_items=[msgspec.structs.replace(li, quantity=-abs(li.quantity)) for li in c.invoice.line_items],
    ),
    # dates and periods
    "period-reversed": lambda r, c: _inv(
        c, invoicing_period=Period(start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))
    ),
    "line-period-reversed": lambda r, c: _line0(
        c, period=Period(start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))
    ),
    "line-period-outside": lambda r, c: (
        _inv(c, invoicing_period=Period(start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 3, 31))),
        _line0(c, period=Period(start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 4, 30))),
    ),
    "tax-point-and-code": lambda r, c: _inv(
        c, tax_point_date=dt.date(2026, 3, 1), invoicing_period=Period(description_code="3")
    ),
    "due-before-issue": lambda r, c: _inv(
        c, due_date=(c.invoice.issue_date or dt.date(2026, 1, 2)) - dt.timedelta(days=3)
    ),
    # payment means structure
    "two-codes": lambda r, c: _inv(
        c,
        payment_means=[
            PaymentMeans(code="58", account=PayeeAccount(iban="DE89370400440532013000")),
            PaymentMeans(code="30", account=PayeeAccount(iban="DE89370400440532013000")),
        ],
    ),
    "two-payment-ids": lambda r, c: _inv(
        c,
        payment_means=[
            PaymentMeans(code="58", payment_id="A", account=PayeeAccount(iban="DE89370400440532013000")),
            PaymentMeans(code="58", payment_id="B", account=PayeeAccount(iban="DE89370400440532013000")),
        ],
    ),
    "two-names": lambda r, c: _inv(
        c,
        payment_means=[
            PaymentMeans(code="58", name="SEPA", account=PayeeAccount(iban="DE89370400440532013000")),
            PaymentMeans(code="58", name="SEPA", account=PayeeAccount(iban="DE89370400440532013000")),
        ],
    ),
    "two-mandates": lambda r, c: _inv(
        c,
        payment_means=[
            PaymentMeans(
                code="59",
                mandate=Mandate(
                    reference="M1", creditor_id="DE98ZZZ09999999999", debited_account="DE89370400440532013000"
                ),
            ),
            PaymentMeans(
                code="59", mandate=Mandate(reference="M2", debited_account="DE89370400440532013000")
            ),
        ],
    ),
    "two-cards": lambda r, c: _inv(
        c,
        payment_means=[
            PaymentMeans(code="48", card=Card(account_number="1234")),
            PaymentMeans(code="48", card=Card(account_number="5678")),
        ],
    ),
    "card-and-account": lambda r, c: _means0(
        c,
        code=r.choice(("58", "48", "59")),
        account=PayeeAccount(iban="DE89370400440532013000"),
        card=Card(account_number="1234"),
        mandate=None,
    ),
    "sepa-twice": lambda r, c: (
        _seller(c, identifiers=[Identifier(value="DE98ZZZ09999999999", scheme="SEPA")]),
        _means0(
            c,
            code="59",
            account=None,
            card=None,
            mandate=Mandate(
                reference="M1", creditor_id="DE98ZZZ09999999999", debited_account="DE89370400440532013000"
            ),
        ),
    ),
    "dk-payment-31": lambda r, c: _means0(
        c,
        code=r.choice(("31", "50", "93", "42", "1")),
        account=PayeeAccount(iban="12345678"),
        payment_id=r.choice(("71#123", "04#1234567890123456", None)),
    ),
    "skonto-bad": lambda r, c: _inv(
        c,
        payment_terms=r.choice(
            (
                "#SKONTO#TAGE=14#PROZENT=2#\n",
                "#SKONTO#TAGE=14#PROZENT=2.00#",
                "#SKONTO#TAGE=7#PROZENT=3.00#BASISBETRAG=100.00#\n",
            )
        ),
    ),
    "skonto-no-break": lambda r, c: _inv(c, payment_terms="#SKONTO#TAGE=14#PROZENT=2.00#"),
    # payee
    "payee-same-name": lambda r, c: _inv(c, payee=Party(name=c.seller.name, address=Address(country="DE"))),
    "payee-trading-name": lambda r, c: (
        _seller(c, trading_name="Same Name"),
        _inv(c, payee=Party(name="Same Name", address=Address(country="DE"))),
    ),
    "payee-same-id": lambda r, c: (
        _seller(c, identifiers=[Identifier(value="PID-1")]),
        _inv(
            c,
            payee=Party(name="Payee", identifiers=[Identifier(value="PID-1")], address=Address(country="DE")),
        ),
    ),
    "payee-two-ids": lambda r, c: _inv(
        c,
        payee=Party(
            name="Payee",
            identifiers=[Identifier(value="P1"), Identifier(value="P2")],
            address=Address(country="DE"),
        ),
    ),
    # national blocks
    "seller-de-buyer-de": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="DE")),
        _buyer(c, address=_addr(c.buyer, country="DE")),
    ),
    "seller-no": lambda r, c: _seller(
        c,
        address=_addr(c.seller, country="NO"),
        vat_id=r.choice(("NO123456789MVA", "NO987654325MVA", "NO98765432MVA", None)),
    ),
    "seller-dk": lambda r, c: (
        _seller(
            c,
            address=_addr(c.seller, country="DK"),
            legal_id=r.choice(
                (None, Identifier(value="DK12345678"), Identifier(value="DK12345678", scheme="0184"))
            ),
        ),
        _buyer(c, address=_addr(c.buyer, country=r.choice(("DK", "DE")))),
    ),
    "seller-se": lambda r, c: _seller(
        c,
        address=_addr(c.seller, country="SE"),
        vat_id=r.choice(("SE556732170701", "SE5567321707", "SE55673217AB01")),
        legal_id=r.choice(
            (
                None,
                Identifier(value="5567321707"),
                Identifier(value="556732170X"),
                Identifier(value="5567321708"),
            )
        ),
        tax_registration_id=r.choice((None, "F-skatt", "Godkänd för F-skatt")),
    ),
    "seller-it": lambda r, c: _seller(
        c,
        address=_addr(
            c.seller,
            country="IT",
            line1=r.choice((None, "Via Roma 1")),
            postal_code=r.choice((None, "00100")),
        ),
        vat_id="IT12345678901",
        tax_registration_id=r.choice((None, "abc", "RSSMRA80A01H501U")),
    ),
    "seller-nl": lambda r, c: (
        _seller(
            c,
            address=_addr(c.seller, country="NL", line1=r.choice((None, "Dam 1"))),
            vat_id="NL123456789B01",
            legal_id=r.choice(
                (None, Identifier(value="12345678", scheme="0106"), Identifier(value="1", scheme="0088"))
            ),
        ),
        _buyer(c, address=_addr(c.buyer, country=r.choice(("NL", "BE")))),
    ),
    "seller-is": lambda r, c: (
        _seller(
            c,
            address=_addr(c.seller, country="IS"),
            vat_id=None,
            tax_registration_id="12345",
            legal_id=r.choice((None, Identifier(value="1234567890", scheme="0196"))),
        ),
        _buyer(c, address=_addr(c.buyer, country=r.choice(("IS", "DE")))),
    ),
    # German warnings (BR-DE-17/19/20/26/27/28, DE-R-0xx under Peppol's DE→DE block)
    "de-pair": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="DE")),
        _buyer(c, address=_addr(c.buyer, country="DE")),
    ),
    "de-contact-text": lambda r, c: _seller(
        c,
        contact=ContactPoint(
            name="Jo",
            phone=r.choice(("12", "+49 30 1234", "n/a", "1-2")),
            email=r.choice(("jo@x.example", "jo@x", "jo @x.example", "j@x.example.", "a@b@c.de")),
        ),
    ),
    "corrected-no-preceding": lambda r, c: _inv(c, type_code="384", preceding_invoices=[]),
    "iban-lowercase": lambda r, c: _means0(
        c, code="58", account=PayeeAccount(iban=iban(r).lower()), card=None, mandate=None
    ),
    # seller tax representative (BG-11): BR-18, BR-56, BR-CO-09, the VAT families' BT-63, NL-R-006
    "tax-representative": lambda r, c: _inv(
        c,
        tax_representative=TaxRepresentative(
            name=r.choice(("Fiscal Rep BV", "Fiscal Rep BV", " ")),
            vat_id=r.choice(("NL004495445B01", "DE136695976", "QQ123456", " ")),
            address=r.choice(
                (
                    Address(country="NL", line1="Kerkstraat 1", city="Utrecht", postal_code="3511 AB"),
                    Address(country="NL", city="Utrecht"),
                    Address(country="DE", line1="Hauptstr. 1", city="Berlin", postal_code="10115"),
                )
            ),
        ),
    ),
    "tax-representative-only": lambda r, c: (
        _seller(c, vat_id=None, tax_registration_id=None),
        _inv(
            c,
            tax_representative=TaxRepresentative(
                name="Fiscal Rep GmbH",
                vat_id="DE136695976",
                address=Address(country="DE", line1="Hauptstr. 1", city="Berlin", postal_code="10115"),
            ),
        ),
    ),
    # additional supporting documents (BG-24) and the invoiced object (BT-18)
    "attachments": lambda r, c: _inv(
        c,
        attachments=[
            SupportingDocument(
                reference=r.choice(("TS-2025-03", "Delivery note 17", " ")),
                description=r.choice((None, "Timesheet March")),
                content=r.choice((None, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n")),
                mime_code=r.choice(("application/pdf", "image/png", "text/csv", "application/zip", None)),
                filename=r.choice(("timesheet.pdf", "timesheet.pdf", "scan.png", None)),
                url=r.choice((None, "https://files.example/ts-2025-03.pdf", "files.example/ts.pdf")),
            )
            for _ in range(r.choice((1, 2)))
        ],
    ),
    "object-id": lambda r, c: _inv(
        c, object_id=Identifier(value="METER-4711", scheme=r.choice(("AVV", "ABZ", "ZZZ", None)))
    ),
    "line-object-id": lambda r, c: _line0(
        c, object_id=Identifier(value="SUB-99", scheme=r.choice(("AVV", "QQQ", None)))
    ),
    "is-eindagi": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="IS")),
        _inv(
            c,
            due_date=r.choice((None, dt.date(2025, 5, 20), dt.date(2025, 6, 20))),
            attachments=[
                SupportingDocument(
                    reference=r.choice(("2025-05-30", "30.05.2025", "2025-02-30")), description="EINDAGI"
                )
            ],
        ),
    ),
    # Swedish, Icelandic and Danish warnings (SE-R-007..012, IS-R-001, DK-R-003)
    "se-giro": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="SE")),
        _means0(
            c,
            code="30",
            account=PayeeAccount(
                iban=r.choice(("1234567", "12345678", "123456789", "12-34567", "5051-6905")),
                bic=r.choice(("SE:BANKGIRO", "SE:PLUSGIRO")),
            ),
            card=None,
            mandate=None,
        ),
    ),
    "se-giro-code": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="SE")),
        _buyer(c, address=_addr(c.buyer, country=r.choice(("SE", "NO")))),
        _means0(c, code=r.choice(("50", "56", "31")), card=None, mandate=None),
    ),
    "is-type-code": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="IS")),
        _inv(c, type_code=r.choice(("384", "389", "380")))
        if c.invoice.document_type != "CREDIT_NOTE"
        else None,
    ),
    "dk-unspsc": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="DK")),
        _buyer(c, address=_addr(c.buyer, country="DK")),
        _line0(
            c,
            item=msgspec.structs.replace(
                c.invoice.line_items[0].item,
                classifications=[
                    Classification(
                        code="43211503", list_id="TST", list_version=r.choice((None, "19.0501", "20.0601"))
                    )
                ],
            ),
        )
        if c.invoice.line_items
        else None,
    ),
    "seller-gr": lambda r, c: _seller(
        c,
        address=_addr(c.seller, country="GR"),
        vat_id=r.choice(("EL094259216", "EL123456789", "GR123456789")),
    ),
    "seller-es-igic": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="ES")),
        _line0(c, tax_category="L", tax_rate=D("7")),
    ),
    "it-split-payment": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="IT"), vat_id="IT12345678901"),
        _buyer(c, address=_addr(c.buyer, country="IT")),
        _inv(
            c,
            line_items=[
                msgspec.structs.replace(
                    li,
                    tax_category="B",
                    tax_rate=D(22),
                    tax_exemption_reason=None,
                    tax_exemption_reason_code=None,
                    item=msgspec.structs.replace(li.item, origin_country=None),
                )
                for li in c.invoice.line_items
            ],
            allowances=[],
            charges=[],
            delivery=None,
        ),
    ),
}


def _dk_pair(case: Case) -> Case:
    _seller(case, address=_addr(case.seller, country="DK"))
    return _buyer(case, address=_addr(case.buyer, country="DK"))


def _scheme_id(rnd: random.Random, scheme: str) -> str:
    """A value for an identifier scheme whose format a Peppol release added or changed: right
    or wrong, half and half."""
    good = {
        "0096": _digits(rnd, 10),
        "0198": "DK" + _digits(rnd, 8),
        "0184": _digits(rnd, 8),
        "0106": _digits(rnd, 8),
        "0190": _digits(rnd, 20),
        "9944": f"NL{_digits(rnd, 9)}B{_digits(rnd, 2)}",
        "0217": _digits(rnd, 12),
    }[scheme]
    return good if rnd.random() < 0.5 else rnd.choice((good[:-1], good + "7", "X" + good[1:]))


#: what changed between the supported versions (the release diffs under docs/): codes one version
#: lists and another does not, identifier formats a release added, Danish rules that changed
RELEASE_MUTATIONS: dict[str, Mutation] = {
    "currency-release": lambda r, c: _inv(c, currency=r.choice(("BGN", "ANG", "CUC", "XCG", "MRU", "STN"))),
    "eas-release": lambda r, c: _seller(
        c, endpoint=Identifier(value="12345678", scheme=r.choice(("0037", "9906", "0212", "0225", "0245")))
    ),
    "charge-reason-release": lambda r, c: _doc_ac(c, True, reason_code=r.choice(("PRV", "AAA", "ABK"))),
    "scheme-release": lambda r, c: (
        lambda scheme: _buyer(
            c, identifiers=[Identifier(value=_scheme_id(r, scheme), scheme=scheme)], legal_id=None
        )
    )(r.choice(("0096", "0198", "0184", "0106", "0190", "9944", "0217"))),
    "nl-vat-release": lambda r, c: _buyer(
        c, vat_id=r.choice(("NL123456789B01", "NL12345678B01", "NL123456789X01"))
    ),
    "dk-giro-release": lambda r, c: (
        _dk_pair(c),
        _means0(
            c,
            code="50",
            account=PayeeAccount(iban=r.choice(("1234567", "12345678", "123456789"))),
            payment_id="01#12345",
            card=None,
            mandate=None,
        ),
    ),
    "dk-zzz-release": lambda r, c: (
        _dk_pair(c),
        _doc_ac(c, False, reason_code="ZZZ", reason=r.choice(("1234", "AB#CD", "#AB", "AB#", "text"))),
    ),
    "dk-unspsc-release": lambda r, c: (
        _dk_pair(c),
        _line0(
            c,
            item=msgspec.structs.replace(
                c.invoice.line_items[0].item,
                classifications=[
                    Classification(
                        code="43211503",
                        list_id="TST",
                        list_version=r.choice(("26.08.01", "26.0801", "19.0501", "21.0")),
                    )
                ],
            ),
        )
        if c.invoice.line_items
        else None,
    ),
    "dk-buyer-legal-release": lambda r, c: (
        _dk_pair(c),
        _buyer(c, legal_id=Identifier(value="12345678", scheme=r.choice(("0184", "0088", None)))),
    ),
    "de-url-release": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="DE")),
        _buyer(c, address=_addr(c.buyer, country="DE")),
        _inv(
            c,
            attachments=[
                SupportingDocument(
                    reference="A1", url=r.choice(("https://x.example/a", "x.example/a", "ftp:/b"))
                )
            ],
        ),
    ),
    "de-email-release": lambda r, c: (
        _seller(c, address=_addr(c.seller, country="DE")),
        _buyer(c, address=_addr(c.buyer, country="DE")),
        _seller(
            c,
            contact=ContactPoint(
                name="Jo",
                phone="+49 30 1234567",
                email=r.choice(("jo@x.example", "jo..x@x.example", ".jo@x.example", "jo@-x.example")),
            ),
        ),
    ),
}
MUTATIONS.update(RELEASE_MUTATIONS)


def mutate(rnd: random.Random, case: Case) -> Case:
    """Apply one to three named mutations (recorded in `case.mutations`)."""
    for name in rnd.sample(sorted(MUTATIONS), rnd.choice((1, 1, 2, 3))):
        MUTATIONS[name](rnd, case)
        case.mutations.append(name)
    return case


def make_case(rnd: random.Random, *, profile: str, mutated: bool) -> Case:
    case = valid_case(rnd, profile)
    return mutate(rnd, case) if mutated else case
