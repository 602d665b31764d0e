"""CDAR life-cycle messages against the official FNFE-MPE artefacts (`fr-cdar-1.4.0.03`).

- Every official example message (XP Z12-014 annex B) parses into what it says, and writing
  it back gives a message that the kit accepts and that reads the same.
- Every status Faktura can write, built with varied content (parties, reasons, actions,
  amounts, dates across daylight saving), passes the CDAR D22B XSD and the BR-FR-CDV
  Schematron with zero fatal findings.
- The native rules agree with the official Schematron: on seeded mutations of valid messages
  the fatal rule-id sets are equal, so an invalid message is never accepted.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from lxml import etree

from conformance import describe, kit_dir, official_findings
from faktura.france import cdar
from faktura.france.cdar import (
    ISSUER_CODES,
    STATUSES,
    CdarError,
    Characteristic,
    InvoiceReference,
    Party,
    StatusDetail,
    StatusMessage,
)

RULES = ("fr-cdar-1.4.0.03",)
EXAMPLES = sorted((kit_dir() / "examples" / "fr-ctc-1.4.0.03" / "cdar").glob("*.xml"))
PARIS = cdar.PARIS


def _official(xml: bytes) -> tuple[list[str], list[str]]:
    """(XSD errors, fatal rule ids) of the kit."""
    xsd, fatal, _ = official_findings(xml, RULES)
    return xsd, sorted(f.id for f in fatal)


def _assert_valid(xml: bytes) -> None:
    xsd, fatal, _ = official_findings(xml, RULES)
    assert not xsd and not fatal, "\n".join(xsd) + describe(fatal) + "\n" + xml.decode()


def test_the_kit_has_the_official_examples() -> None:
    assert len(EXAMPLES) == 11


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).stem)
def test_every_official_example_parses_and_writes_back_valid(path: Path) -> None:
    data = path.read_bytes()
    message = cdar.parse_cdar(data)
    code = int(path.stem.split("-CDV-")[1].split("_")[0])
    assert message.status_code == code
    assert message.invoice.number == path.stem.split("_")[1]
    assert message.invoice.type_code == "380"
    assert message.invoice.seller_id == "100000009"
    assert message.issued_at.tzinfo is PARIS
    again = cdar.build_cdar(message)
    _assert_valid(again)
    assert cdar.parse_cdar(again) == message


def test_cashed_example_reads_amount_rate_parties_and_paris_times() -> None:
    [path] = [p for p in EXAMPLES if p.name == "UC1_F202500003_07-CDV-212_Encaissee.xml"]
    m = cdar.parse_cdar(path.read_bytes())
    assert m.status_code == 212 and m.status is STATUSES[212] and m.phase == cdar.PROCESSING
    assert m.status_label == "Encaissée"
    # 2025-08-02 10:05 in Paris is summer time, UTC+2
    assert m.issued_at == dt.datetime(2025, 8, 2, 8, 5, tzinfo=dt.UTC)
    assert m.status_at == dt.datetime(2025, 8, 2, 10, 0, tzinfo=PARIS)
    assert m.invoice.issue_date == dt.date(2025, 7, 1)
    assert m.invoice.received_at == dt.datetime(2025, 7, 1, 15, 10, tzinfo=PARIS)
    assert m.issuer == Party(role="SE", id="100000009", scheme="0002", name="VENDEUR")
    assert [(r.role, r.id, r.address) for r in m.recipients] == [
        ("BY", "200000008", "200000008"),
        ("DFH", "9998", None),
    ]
    [amount] = m.amounts
    assert (amount.type_code, amount.amount, amount.currency, amount.percent) == (
        "MEN",
        Decimal("12000"),
        "EUR",
        Decimal("20.00"),
    )


def test_dispute_example_reads_reason_action_and_the_disputed_values() -> None:
    [path] = [p for p in EXAMPLES if p.name.startswith("UC4_")]
    m = cdar.parse_cdar(path.read_bytes())
    assert m.status_code == 207 and m.reason_codes == ("TX_TVA_ERR",)
    assert m.reasons == ("Taux de TVA erroné",)
    [detail] = m.details
    assert detail.action_code == "NIN"
    assert [(c.type_code, c.id, c.percent) for c in detail.characteristics] == [
        ("DIV", "BT-152", Decimal("10.00")),
        ("DVA", "BT-152", Decimal("20.00")),
    ]


# --- building every status -------------------------------------------------------------------

SELLER = Party(id="100000009", name="VENDEUR SARL")
BUYER = Party(id="200000008", name="ACHETEUR SA", address="200000008_00012")
REASONS = sorted(cdar.REASON_CODES)


def _varied(code: int, rng: random.Random) -> StatusMessage:
    """A message of status `code` as its usual sender would write it, with random content."""
    status = STATUSES[code]
    # dates on both sides of the daylight-saving changes, given in UTC: written as Paris time
    at = dt.datetime(
        2026,
        rng.choice([3, 10, 12]),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        tzinfo=dt.UTC,
    )
    invoice = InvoiceReference(
        number=f"F{rng.randint(1, 99999):05d}-{rng.choice(['A', 'B'])}",
        issue_date=None if code == 501 and rng.random() < 0.5 else dt.date(2026, 2, rng.randint(1, 28)),
        type_code=rng.choice(["380", "381", "384", "389", "386"]),
        seller_id=SELLER.id,
    )
    if code == 501 and rng.random() < 0.5:  # an inadmissible flow may not name its seller
        invoice = msgspec.structs.replace(invoice, seller_id=None, seller_scheme=None)
    invoice = msgspec.structs.replace(
        invoice,
        seller_id=invoice.seller_id and SELLER.id,
        received_at=rng.choice([None, at - dt.timedelta(days=3)]),
    )
    allowed = sorted(status.reasons) if status.reasons else REASONS[:5]
    details = []
    if status.reason_required or rng.random() < 0.4:
        for seq in range(1, rng.randint(1, 3) + 1):
            details.append(
                StatusDetail(
                    sequence=seq,
                    reason_code=rng.choice(allowed),
                    reason=rng.choice([None, "Motif détaillé : voir la ligne 2 & 3 <ok>"]),
                    action_code=rng.choice([None, *sorted(cdar.ACTION_CODES)]),
                    action=rng.choice([None, "Créer un avoir"]),
                    characteristics=tuple(
                        Characteristic(
                            type_code=rng.choice(["DIV", "DVA", "MAP"]),
                            id="BT-152",
                            changed=True,
                            percent=Decimal("20.00"),
                        )
                        for _ in range(rng.randint(0, 2))
                    ),
                )
            )
    if code in (211, 212):
        details.append(
            StatusDetail(
                sequence=len(details) + 1,
                characteristics=tuple(
                    Characteristic(
                        type_code="MEN" if code == 212 else "MPA",
                        changed=False,
                        amount=Decimal(rng.randint(1, 10**7)) / 100,
                        currency="EUR",
                        percent=rng.choice([Decimal("20.00"), Decimal("5.5"), Decimal("10")]),
                        date=dt.date(2026, 3, rng.randint(1, 28)),
                    )
                    for _ in range(rng.randint(1, 3))
                ),
            )
        )
    seller = Party(role="SE", id=SELLER.id, scheme="0002", name=SELLER.name)
    buyer = Party(role="BY", id=BUYER.id, scheme="0002", name=BUYER.name)
    if status.sent_by == "seller":  # to the buyer's address
        issuer, to = seller, msgspec.structs.replace(buyer, address=BUYER.address, address_scheme="0225")
    else:  # a platform or the buyer, to the seller's address for statuses
        issuer = Party(role="WK") if status.phase == cdar.TRANSMISSION else buyer
        to = msgspec.structs.replace(seller, address="100000009_STATUTS", address_scheme="0225")
    recipients = (to, cdar.ppf()) if status.tax_administration != "no" else (to,)
    return StatusMessage(
        id=cdar.message_id(invoice, code, at),
        name=rng.choice([None, f"CDV-{code}"]),
        issued_at=at + dt.timedelta(minutes=5),
        status_at=at,
        status_code=code,
        invoice=invoice,
        issuer=issuer,
        recipients=recipients,
        details=tuple(details),
    )


@pytest.mark.parametrize("code", sorted(STATUSES))
def test_every_named_status_builds_valid_with_varied_content(code: int) -> None:
    rng = random.Random(code)
    for _ in range(4):
        message = _varied(code, rng)
        xml = cdar.build_cdar(message)
        _assert_valid(xml)
        back = cdar.parse_cdar(xml)
        assert (
            back.status_code == code and back.invoice == message.invoice and back.details == message.details
        )
        assert back.issued_at == message.issued_at and back.issued_at.tzinfo is PARIS


@pytest.mark.parametrize("code", ISSUER_CODES)
def test_every_seller_status_builds_valid(code: int) -> None:
    invoice = InvoiceReference(number="FA-2026-0042", issue_date=dt.date(2026, 9, 30))
    at = dt.datetime(2026, 10, 25, 2, 30, tzinfo=dt.UTC)  # the night summer time ends
    for to_tax in (False, True):
        details = (
            (StatusDetail(sequence=1, reason_code="AUTRE", reason="Pièces jointes ajoutées"),)
            if code == 209
            else ()
        )
        if code == 212:
            message = cdar.cashed(
                invoice=invoice,
                seller=SELLER,
                buyer=BUYER,
                at=at,
                amounts=[(Decimal("1200.00"), Decimal("20.00"))],
                to_tax_administration=to_tax,
            )
        else:
            message = cdar.seller_status(
                code,
                invoice=invoice,
                seller=SELLER,
                buyer=BUYER,
                at=at,
                details=details,
                to_tax_administration=to_tax,
            )
        xml = cdar.build_cdar(message)
        _assert_valid(xml)
        back = cdar.parse_cdar(xml)
        assert back.issuer.role == "SE" and back.invoice.seller_id == "100000009"
        assert [r.role for r in back.recipients] == (["BY", "DFH"] if to_tax else ["BY"])
        assert back.status_at == at
    # 02:30 UTC on 2026-10-25 is 03:30 in Paris, after the clocks went back (UTC+1)
    assert b"20261025033000" in xml


def test_cashed_carries_each_rate_and_its_amount() -> None:
    message = cdar.cashed(
        invoice=InvoiceReference(number="F1", issue_date=dt.date(2026, 9, 1)),
        seller=SELLER,
        buyer=BUYER,
        at=dt.datetime(2026, 9, 15, 9, 0, tzinfo=PARIS),
        amounts=[(Decimal("120.00"), Decimal("20.00")), (Decimal("10.55"), Decimal("5.5"))],
    )
    back = cdar.parse_cdar(cdar.build_cdar(message))
    assert [(a.amount, a.percent, a.currency) for a in back.amounts] == [
        (Decimal("120.00"), Decimal("20.00"), "EUR"),
        (Decimal("10.55"), Decimal("5.5"), "EUR"),
    ]
    with pytest.raises(ValueError, match="BR-FR-CDV-14"):
        cdar.cashed(invoice=message.invoice, seller=SELLER, buyer=BUYER, at=message.issued_at, amounts=[])


def test_a_naive_time_and_a_buyer_status_are_refused_when_building() -> None:
    invoice = InvoiceReference(number="F1", issue_date=dt.date(2026, 9, 1))
    with pytest.raises(ValueError, match="time zone"):
        cdar.seller_status(
            220, invoice=invoice, seller=SELLER, buyer=BUYER, at=dt.datetime(2026, 9, 1, 10, 0)
        )
    with pytest.raises(ValueError, match="not one the seller sets"):
        cdar.seller_status(
            205, invoice=invoice, seller=SELLER, buyer=BUYER, at=dt.datetime(2026, 9, 1, 10, 0, tzinfo=PARIS)
        )


def test_build_refuses_what_the_rules_refuse() -> None:
    message = _varied(207, random.Random(1))
    without_reason = StatusMessage(
        **{**{f: getattr(message, f) for f in message.__struct_fields__}, "details": ()}
    )
    with pytest.raises(CdarError) as caught:
        cdar.build_cdar(without_reason)
    assert [f.rule_id for f in caught.value.findings] == ["BR-FR-CDV-15_MDT-113"]
    assert caught.value.findings[0].pointer.endswith("ram:ProcessConditionCode")


# --- invalid messages ------------------------------------------------------------------------


def test_invalid_messages_are_refused_with_the_rule_and_the_place() -> None:
    data = (
        EXAMPLES[0]
        .read_bytes()
        .replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>999</ram:TypeCode>")
    )
    with pytest.raises(CdarError) as caught:
        cdar.parse_cdar(data)
    [finding] = caught.value.findings
    assert finding.rule_id == "BR-FR-04_MDT-91" and finding.business_term == "MDT-91"
    assert (
        finding.pointer
        == "/rsm:CrossDomainAcknowledgementAndResponse/rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument/ram:TypeCode"
    )
    assert "BR-FR-04_MDT-91" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"not xml", "FK-CDAR-SYNTAX"),
        (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>", "FK-CDAR-SYNTAX"),
        (
            b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><r>&x;</r>",
            "FK-CDAR-SYNTAX",
        ),
    ],
)
def test_what_is_not_a_cdar_message_is_refused(data: bytes, rule: str) -> None:
    with pytest.raises(CdarError) as caught:
        cdar.parse_cdar(data)
    assert caught.value.findings[0].rule_id == rule
    assert caught.value.findings[0].pointer in ("/", "/r", "/Invoice")
    assert "root:" not in str(caught.value)  # the entity was not resolved


def test_an_unpublished_status_code_is_read_with_a_warning() -> None:
    data = (
        EXAMPLES[0].read_bytes().replace(b"<ram:ProcessConditionCode>200<", b"<ram:ProcessConditionCode>299<")
    )
    xsd, fatal = _official(data)
    assert not xsd and not fatal
    assert cdar.parse_cdar(data).status_code == 299
    root = cdar.read_tree(data)
    assert [f.rule_id for f in cdar.cdar_findings(root)] == ["BR-FR-CDV-CL-06_MDT-105"]


# --- native rules = official rules --------------------------------------------------------

RAM = "{" + cdar.RAM + "}"


def _mutations(root: etree._Element, rng: random.Random) -> etree._Element:
    """One random change that keeps the D22B schema shape (so the Schematron decides)."""
    tree = etree.fromstring(etree.tostring(root))
    ns = cdar.NSMAP
    pick = rng.randrange(16)

    def some(path: str) -> etree._Element | None:
        found = tree.xpath(path, namespaces=ns)
        return rng.choice(found) if found else None

    if pick == 0 and (el := some("//ram:ProcessConditionCode")) is not None:
        el.text = rng.choice(["200", "206", "207", "208", "210", "212", "213", "221", "501", "299"])
    elif pick == 1 and (el := some("//ram:RoleCode")) is not None:
        el.text = rng.choice(["SE", "BY", "WK", "DFH", "XX", "PE"])
    elif pick == 2 and (el := some("rsm:AcknowledgementDocument/ram:TypeCode")) is not None:
        el.text = rng.choice(["23", "305", "1"])
    elif pick == 3 and (el := some("//ram:ReasonCode")) is not None:
        el.text = rng.choice([*REASONS, "NOPE"])
    elif pick == 4 and (el := some("//ram:ReferenceReferencedDocument/ram:StatusCode")) is not None:
        el.text = rng.choice(["1", "8", "10", "43", "45", "46", "47", "48", "12"])
    elif pick == 5 and (el := some("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")) is not None:
        el.text = rng.choice([cdar.GUIDELINE_INVOICE, cdar.GUIDELINE_PPF, "urn:other"])
    elif (
        pick == 6
        and (el := some("//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID")) is not None
    ):
        el.text = rng.choice(["REGULATED", "B2C", "XYZ", "S1", "FREE_TEXT"])
    elif pick == 7 and (el := some("//ram:SpecifiedDocumentCharacteristic/ram:TypeCode")) is not None:
        el.text = rng.choice(["MEN", "MPA", "DIV", "ZZZ"])
    elif (
        pick == 8
        and (
            el := some(
                "//ram:FormattedIssueDateTime | //ram:SequenceNumeric | //ram:ValuePercent | //ram:URIUniversalCommunication | //rsm:ExchangedDocument/ram:IssuerTradeParty/ram:GlobalID | //ram:ReferenceReferencedDocument/ram:IssuerTradeParty/ram:GlobalID"
            )
        )
        is not None
    ):
        el.getparent().remove(el)
    elif pick == 9 and (el := some("//ram:ReferenceReferencedDocument/ram:TypeCode")) is not None:
        el.text = rng.choice(["380", "381", "326", "875"])
    elif pick == 10 and (el := some("//ram:RequestedActionCode")) is not None:
        el.text = rng.choice(["NOA", "PIN", "XXX"])
    elif (
        pick == 11
        and (el := some("//rsm:ExchangedDocument/ram:RecipientTradeParty/ram:GlobalID")) is not None
    ):
        el.text, el.attrib["schemeID"] = rng.choice(
            [("0000", "0238"), ("9999", "0238"), ("123456789", "0002")]
        )
    elif (
        pick == 12
        and (
            el := some(
                "rsm:ExchangedDocument/ram:ID | //ram:ReferenceReferencedDocument/ram:ProcessConditionCode"
            )
        )
        is not None
    ):
        el.getparent().remove(el)
    elif pick == 13 and (el := some("//ram:ReferenceReferencedDocument/ram:IssuerTradeParty")) is not None:
        etree.SubElement(el, RAM + "RoleCode").text = rng.choice(["SE", "BY"])
    elif pick == 14 and (el := some("//ram:ReferenceReferencedDocument/ram:IssuerTradeParty")) is not None:
        recipient = etree.Element(RAM + "RecipientTradeParty")
        etree.SubElement(recipient, RAM + "RoleCode").text = rng.choice(["BY", "DFH", "ZZ"])
        el.addnext(recipient)
    elif pick == 15 and (el := some("rsm:ExchangedDocument/ram:SenderTradeParty")) is not None:
        sender_id = etree.Element(RAM + "GlobalID", schemeID="0238")
        sender_id.text = rng.choice(["9999", "0003"])
        el.insert(0, sender_id)
    return tree


def _native_ids(xml: bytes) -> list[str]:
    findings = cdar.cdar_findings(cdar.read_tree(xml))
    return sorted(f.rule_id or "" for f in findings if f.fatal and not (f.rule_id or "").startswith("FK-"))


def test_native_rules_equal_the_official_schematron_on_mutations() -> None:
    rng = random.Random(20261206)
    seeds = [p.read_bytes() for p in EXAMPLES] + [cdar.build_cdar(_varied(c, rng)) for c in sorted(STATUSES)]
    compared = refused = 0
    fired: set[str] = set()
    for n in range(400):
        tree = cdar.read_tree(seeds[n % len(seeds)])
        for _ in range(rng.randint(1, 3)):
            tree = _mutations(tree, rng)
        xml = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
        xsd, official = _official(xml)
        if xsd:
            continue  # the schema decides; the native shape checks are tested above
        native = _native_ids(xml)
        assert native == official, xml.decode()
        compared += 1
        refused += bool(official)
        fired |= set(official)
        if not official:
            cdar.parse_cdar(xml)  # what the kit accepts, Faktura reads
    assert compared >= 350 and refused >= 150 and len(fired) >= 33, (compared, refused, sorted(fired))


# --- time zone and partial payments ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("20260115120000", "2026-01-15T11:00:00+00:00"),  # winter: UTC+1
        ("20260715120000", "2026-07-15T10:00:00+00:00"),  # summer: UTC+2
        ("20261025023000", "2026-10-25T00:30:00+00:00"),  # the hour that happens twice: the first
        ("20260329023000", "2026-03-29T01:30:00+00:00"),  # the hour that does not exist: winter offset
    ],
)
def test_cdar_times_are_paris_wall_clock(text: str, utc: str) -> None:
    data = EXAMPLES[0].read_bytes().replace(b"20250701151500", text.encode())
    issued = cdar.parse_cdar(data).issued_at
    assert issued.astimezone(dt.UTC).isoformat() == utc
    assert issued.tzinfo is PARIS


@pytest.mark.parametrize(
    ("paid", "totals", "expected"),
    [
        ("1065.50", [("960.00", "20"), ("105.50", "5.5")], [("960.00", "20"), ("105.50", "5.5")]),
        ("500.00", [("960.00", "20"), ("105.50", "5.5")], [("450.49", "20"), ("49.51", "5.5")]),
        ("0.01", [("960.00", "20"), ("105.50", "5.5")], [("0.01", "20")]),
        (
            "100.00",
            [("33.33", "20"), ("33.33", "10"), ("33.34", "5.5")],
            [("33.33", "20"), ("33.33", "10"), ("33.34", "5.5")],
        ),
        (
            "2.00",
            [("1.00", "20"), ("1.00", "10"), ("1.00", "5.5")],
            [("0.66", "20"), ("0.67", "10"), ("0.67", "5.5")],
        ),
    ],
)
def test_a_payment_is_split_over_the_rates_to_the_cent(
    paid: str, totals: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    def decimals(pairs: list[tuple[str, str]]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(a), Decimal(r)) for a, r in pairs]

    shares = cdar.split_by_rate(Decimal(paid), decimals(totals))
    assert shares == decimals(expected)
    assert sum(a for a, _ in shares) == Decimal(paid)


@pytest.mark.parametrize("paid", ["0", "-1", "1065.51"])
def test_a_payment_larger_than_the_invoice_or_empty_is_refused(paid: str) -> None:
    with pytest.raises(ValueError, match="cannot be split"):
        cdar.split_by_rate(
            Decimal(paid), [(Decimal("960.00"), Decimal("20")), (Decimal("105.50"), Decimal("5.5"))]
        )


def test_the_cdar_module_is_pure() -> None:
    """Messages in, messages out: no web framework, driver, database or channel."""
    from test_static import SRC, imported_modules

    forbidden = (
        "litestar",
        "asyncpg",
        "httpx",
        "faktura.api",
        "faktura.db",
        "faktura.delivery",
        "faktura.jobs",
    )
    assert not [n for n in imported_modules(SRC / "france" / "cdar.py") if n.startswith(forbidden)]


@pytest.mark.parametrize(
    ("reason", "rules"),
    [
        ("LIVR_INCOMP", []),  # a refusal reason of the public sector only
        ("DOUBLON", []),
        ("DEST_INC", ["BR-FR-CDV-CL-09_MDT-113_210B2G"]),
    ],
)
def test_public_sector_refusal_reasons_as_the_schematron_has_them(reason: str, rules: list[str]) -> None:
    """A refusal (210) from the public sector's platform (sender 0238 9999) has its own reasons."""
    message = _varied(210, random.Random(3))
    message = msgspec.structs.replace(
        message,
        sender=Party(role="WK", id="9999", scheme="0238"),
        details=(StatusDetail(reason_code=reason),),
    )
    root = cdar.cdar_tree(message)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert _official(xml) == ([], rules)
    assert _native_ids(xml) == rules
