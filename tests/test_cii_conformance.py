"""The CII renderer against the official validators, over the core corpus.

The corpus of the UBL tests (`tests/corpus/`: every VAT category, allowances and charges,
credit notes, foreign currency, sellers in 10+ countries) is rendered in CII for each profile
and checked by the official artefacts, which are the oracle:

- EN 16931 in CII: CII D16B XSD + CEN `en16931-1.3.16` CII Schematron, every case;
- XRechnung 3.0 in CII: + KoSIT `xrechnung-2.5.0`, every German seller with a buyer reference;
- Factur-X 1.09.2 BASIC, EN 16931 and EXTENDED: the profile's XSD + Schematron with its codedb
  (BASIC: the renderer leaves out what BASIC has no place for; the compliance check warns).

Cases a profile cannot carry are not skipped silently: each is checked to fail for exactly
the documented reason. The validators are compiled once per process (`conformance.py`).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from lxml import etree

from conformance import describe, official_findings
from faktura.domain.totals import compute
from faktura.render.cii import PROFILES, render_cii
from faktura.render.cii.common import NSMAP
from test_ubl_conformance import CASE_FILES, Case, document, load

#: profile -> the official rule sets it must pass (versioned names)
RULES = {
    "en16931": ("en16931-1.3.16",),
    "xrechnung-3": ("en16931-1.3.16", "xrechnung-2.5.0"),
    "factur-x-basic": ("facturx-basic-1.09.2",),
    "factur-x-en16931": ("facturx-en16931-1.09.2",),
    "factur-x-extended": ("facturx-extended-1.09.2",),
}

CASES = {path.stem: load(path) for path in CASE_FILES}


def _german_seller(case: Case) -> bool:
    return case.seller.address.country == "DE"


def _d16b_expressible(case: Case) -> bool:
    """The D16B schema has room for one preceding invoice (BG-3); Factur-X's has more."""
    return len(case.invoice.preceding_invoices) <= 1


def _extended_expressible(case: Case) -> bool:
    """The EXTENDED Schematron enforces BR-CO-25, for credit notes too: a positive amount due
    needs a due date or payment terms (the CEN 1.3.16 Schematron does not enforce it)."""
    inv = case.invoice
    return not (inv.due_date is None and inv.payment_terms is None)


#: profile -> which corpus cases it carries
APPLIES = {
    "en16931": _d16b_expressible,
    "xrechnung-3": lambda c: (
        _german_seller(c) and c.invoice.buyer_reference is not None and _d16b_expressible(c)
    ),
    "factur-x-basic": lambda c: c.invoice.rounding_amount is None,  # BT-114 has no place in BASIC
    "factur-x-en16931": lambda c: True,
    "factur-x-extended": _extended_expressible,
}

PARAMS = [
    pytest.param(profile, name, id=f"{profile}-{name}")
    for profile in RULES
    for name, case in CASES.items()
    if APPLIES[profile](case)
]


def _render(profile: str, name: str) -> bytes:
    return render_cii(document(CASES[name]), profile)


def test_corpus_coverage_per_profile() -> None:
    """The acceptance figures: how many corpus cases each profile is checked on."""
    counts = {profile: sum(1 for p in PARAMS if p.values[0] == profile) for profile in RULES}
    assert counts["en16931"] >= 35 and counts["factur-x-en16931"] == len(CASES) >= 35
    assert counts["factur-x-extended"] >= 35 and counts["factur-x-basic"] >= 35
    assert counts["xrechnung-3"] >= 10
    sellers = {c.seller.address.country for c in CASES.values()}
    assert len(sellers) >= 10, sellers


@pytest.mark.parametrize(("profile", "name"), PARAMS)
def test_official_validators_accept(profile: str, name: str) -> None:
    xsd_errors, fatal, _warnings = official_findings(_render(profile, name), RULES[profile])
    assert not xsd_errors, "\n".join(xsd_errors)
    assert not fatal, describe(fatal)


def test_credit_note_with_two_preceding_invoices_is_refused_in_d16b() -> None:
    """BG-3 repeats only in D22B: a D16B profile refuses rather than drop a reference."""
    names = [n for n, c in CASES.items() if not _d16b_expressible(c)]
    assert names
    for name in names:
        for profile in ("en16931", "xrechnung-3"):
            with pytest.raises(ValueError, match="BG-3"):
                _render(profile, name)


def test_extended_credit_note_without_terms_fails_br_co_25_only() -> None:
    names = [n for n, c in CASES.items() if not _extended_expressible(c)]
    assert names
    for name in names:
        xsd_errors, fatal, _ = official_findings(
            _render("factur-x-extended", name), RULES["factur-x-extended"]
        )
        assert not xsd_errors
        assert {f.id for f in fatal} == {"BR-CO-25"}, describe(fatal)


def test_basic_refuses_a_rounding_amount() -> None:
    names = [n for n, c in CASES.items() if c.invoice.rounding_amount is not None]
    assert names
    for name in names:
        with pytest.raises(ValueError, match="BT-114"):
            _render("factur-x-basic", name)


def test_basic_leaves_out_what_it_has_no_place_for() -> None:
    """The BASIC XML of a case with contacts, item ids and a BIC has none of them."""
    basic = etree.fromstring(_render("factur-x-basic", "at-wholesale-base-quantity-payee"))
    full = etree.fromstring(_render("factur-x-en16931", "at-wholesale-base-quantity-payee"))
    for path in (".//ram:DefinedTradeContact", ".//ram:SellerAssignedID", ".//ram:BICID"):
        assert full.find(path, NSMAP) is not None and basic.find(path, NSMAP) is None, path
    assert _summation(basic) == _summation(full)


def test_german_seller_without_buyer_reference_fails_br_de_15_only() -> None:
    """XRechnung needs BT-10; a German case without one is a content gap, not a syntax one."""
    names = [n for n, c in CASES.items() if _german_seller(c) and c.invoice.buyer_reference is None]
    assert names
    for name in names:
        xsd_errors, fatal, _ = official_findings(_render("xrechnung-3", name), RULES["xrechnung-3"])
        assert not xsd_errors
        assert {f.id for f in fatal} == {"BR-DE-15"}, describe(fatal)


def _summation(root: etree._Element) -> dict[str, list[Decimal]]:
    summation = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NSMAP)
    assert summation is not None
    out: dict[str, list[Decimal]] = {}
    for el in summation:
        out.setdefault(etree.QName(el).localname, []).append(Decimal(el.text or ""))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_rendered_totals_are_the_computed_ones(name: str) -> None:
    """BG-22 in CII equals `compute()` run afresh on the input, amount for amount."""
    case = CASES[name]
    totals = compute(document(case).invoice)
    root = etree.fromstring(_render("factur-x-en16931", name))
    expected = {
        "LineTotalAmount": [totals.line_extension_amount],
        "ChargeTotalAmount": [totals.charge_total] if totals.charges else None,
        "AllowanceTotalAmount": [totals.allowance_total] if totals.allowances else None,
        "TaxBasisTotalAmount": [totals.tax_exclusive_amount],
        "TaxTotalAmount": [
            totals.tax_amount,
            *([totals.tax_amount_in_tax_currency] if totals.tax_amount_in_tax_currency is not None else []),
        ],
        "RoundingAmount": [totals.rounding_amount] if case.invoice.rounding_amount is not None else None,
        "GrandTotalAmount": [totals.tax_inclusive_amount],
        "TotalPrepaidAmount": [totals.prepaid_amount] if case.invoice.prepaid_amount is not None else None,
        "DuePayableAmount": [totals.payable_amount],
    }
    assert _summation(root) == {k: v for k, v in expected.items() if v is not None}
    lines = root.findall(".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", NSMAP)
    assert [Decimal(el.text or "") for el in lines] == [lt.net_amount for lt in totals.lines]


def test_ubl_and_cii_show_the_same_figures() -> None:
    """No second arithmetic: every amount of the UBL rendering appears in the CII one."""
    from faktura.render.ubl import render_ubl

    for name in ("fr-document-allowances-charges-percent", "de-be-gross-prices-inclusive-of-tax"):
        doc = document(CASES[name])
        ubl = etree.fromstring(render_ubl(doc))
        cii = etree.fromstring(render_cii(doc, "en16931"))
        ubl_amounts = {el.text for el in ubl.iter() if etree.QName(el).localname.endswith("Amount")}
        cii_amounts = {el.text for el in cii.iter() if etree.QName(el).localname.endswith("Amount")}
        assert ubl_amounts <= cii_amounts, ubl_amounts - cii_amounts


def test_specification_identifier_per_profile() -> None:
    expected = {
        "en16931": "urn:cen.eu:en16931:2017",
        "xrechnung-3": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
        "factur-x-basic": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
        "factur-x-en16931": "urn:cen.eu:en16931:2017",
        "factur-x-extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
        # France: EXTENDED-CTC-FR under its own id in CII, under Factur-X EXTENDED's in a Factur-X
        "fr-ctc": "urn:cen.eu:en16931:2017",
        "fr-ctc-extended": "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr",
        "fr-ctc-factur-x-en16931": "urn:cen.eu:en16931:2017",
        "fr-ctc-factur-x-extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
    }
    assert set(PROFILES) == set(expected)
    doc = document(CASES["de-de-public-buyer-leitweg"])
    for profile, guideline in expected.items():
        root = etree.fromstring(render_cii(doc, profile))
        path = "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
        assert root.findtext(path, namespaces=NSMAP) == guideline


def test_credit_note_is_type_381_with_the_preceding_invoice() -> None:
    root = etree.fromstring(_render("en16931", "de-de-credit-note-partial-return"))
    assert root.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NSMAP) == "381"
    ref = root.find(".//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument", NSMAP)
    assert ref is not None and ref.findtext("ram:IssuerAssignedID", namespaces=NSMAP) == "BM-250318-07"
    assert ref.find("ram:FormattedIssueDateTime/qdt:DateTimeString", NSMAP) is not None
    two = etree.fromstring(_render("factur-x-en16931", "be-credit-note-two-invoices"))
    assert len(two.findall(".//ram:InvoiceReferencedDocument", NSMAP)) == 2


def test_memo_is_never_rendered_and_output_is_deterministic() -> None:
    case = CASES["de-be-books-and-workshop-two-rates"]
    secret = "INTERNAL: customer is late payer, do not extend credit"
    doc = document(msgspec.structs.replace(case, invoice=msgspec.structs.replace(case.invoice, memo=secret)))
    first = render_cii(doc, "xrechnung-3")
    assert b"INTERNAL" not in first
    assert first == render_cii(document(msgspec.structs.replace(case)), "xrechnung-3")
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice ')


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="no-such-profile"):
        render_cii(document(CASES["it-public-admin-ipa"]), "no-such-profile")


def test_oracle_rejects_a_broken_document() -> None:
    """Guards the guard: a wrong payable amount must be caught in CII too."""
    xml = _render("en16931", "be-catering-three-rates-service-charge")
    broken = xml.replace(b"<ram:DuePayableAmount>", b"<ram:DuePayableAmount>1")
    _, fatal, _ = official_findings(broken, RULES["en16931"])
    assert "BR-CO-16" in {f.id for f in fatal}
