"""The UBL renderer against the official validators, over the whole corpus.

Every case in `tests/corpus/` is built into a Document, rendered, and must be XSD-valid with
no fatal finding from CEN EN 16931 or Peppol BIS 3.0 — the validator is the oracle. The
rendered totals must be the ones the totals engine computes, and the bytes must match the
golden file (`FAKTURA_UPDATE_GOLDEN=1` rewrites them after a deliberate change).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from lxml import etree
from stdnum import ean as stdnum_ean
from stdnum import iban as stdnum_iban
from stdnum import luhn as stdnum_luhn
from stdnum.de import leitweg as stdnum_leitweg
from stdnum.dk import cvr as stdnum_cvr
from stdnum.eu import vat as stdnum_vat
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from stdnum.gb import vat as stdnum_gb_vat
from stdnum.it import iva as stdnum_iva
from stdnum.no import mva as stdnum_no_mva
from stdnum.no import orgnr as stdnum_no_orgnr
from stdnum.se import orgnr as stdnum_se_orgnr

from conformance import describe, official_findings
from faktura.domain.document import Document, build_document
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.totals import compute
from faktura.render.ubl import render_ubl

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
GOLDEN = HERE / "golden" / "peppol-bis-3"
UPDATE_GOLDEN = os.environ.get("FAKTURA_UPDATE_GOLDEN") == "1"

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


class Case(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One corpus file: an issued invoice as the service would see it at issue time."""

    description: str
    number: str
    issue_date: dt.date
    seller: Party
    buyer: Party
    invoice: InvoiceInput


CASE_FILES = sorted(CORPUS.glob("*.json"))


def load(path: Path) -> Case:
    return msgspec.json.decode(path.read_bytes(), type=Case)


def document(case: Case) -> Document:
    return build_document(
        case.invoice,
        number=case.number,
        issue_date=case.issue_date,
        seller=case.seller,
        buyer=case.buyer,
        currency=case.invoice.currency or "EUR",
    )


@pytest.fixture(scope="module", params=CASE_FILES, ids=[p.stem for p in CASE_FILES])
def rendered(request: pytest.FixtureRequest) -> tuple[str, Case, bytes]:
    case = load(request.param)
    return request.param.stem, case, render_ubl(document(case))


def test_corpus_is_large_enough() -> None:
    assert len(CASE_FILES) >= 30


def test_official_validators_accept(rendered: tuple[str, Case, bytes]) -> None:
    _, _, xml = rendered
    xsd_errors, fatal, _warnings = official_findings(xml)
    assert not xsd_errors, "\n".join(xsd_errors)
    assert not fatal, describe(fatal)


def test_rendered_totals_are_the_computed_ones(rendered: tuple[str, Case, bytes]) -> None:
    """BG-22 in the XML equals `compute()` run afresh on the input, amount for amount."""
    _, case, xml = rendered
    totals = compute(document(case).invoice)
    root = etree.fromstring(xml)
    lmt = root.find("cac:LegalMonetaryTotal", NS)
    assert lmt is not None
    expected = {
        "LineExtensionAmount": totals.line_extension_amount,
        "TaxExclusiveAmount": totals.tax_exclusive_amount,
        "TaxInclusiveAmount": totals.tax_inclusive_amount,
        "AllowanceTotalAmount": totals.allowance_total if totals.allowances else None,
        "ChargeTotalAmount": totals.charge_total if totals.charges else None,
        "PrepaidAmount": totals.prepaid_amount if case.invoice.prepaid_amount is not None else None,
        "PayableRoundingAmount": totals.rounding_amount if case.invoice.rounding_amount is not None else None,
        "PayableAmount": totals.payable_amount,
    }
    found = {name: lmt.findtext(f"cbc:{name}", namespaces=NS) for name in expected}
    assert {k: Decimal(v) for k, v in found.items() if v is not None} == {
        k: v for k, v in expected.items() if v is not None
    }
    tax_total = root.find("cac:TaxTotal[cac:TaxSubtotal]", NS)
    assert tax_total is not None
    assert Decimal(tax_total.findtext("cbc:TaxAmount", namespaces=NS) or "") == totals.tax_amount


def test_golden_file(rendered: tuple[str, Case, bytes]) -> None:
    name, _, xml = rendered
    golden = GOLDEN / f"{name}.xml"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(xml)
    assert golden.is_file(), f"no golden file for {name}; run with FAKTURA_UPDATE_GOLDEN=1"
    assert xml == golden.read_bytes(), (
        f"{name}: output differs from {golden} (FAKTURA_UPDATE_GOLDEN=1 to accept)"
    )


#: Identifier scheme (ICD / EAS) -> check of the number, python-stdnum doing the arithmetic.
SCHEME_CHECKS: dict[str, Callable[[str], bool]] = {
    "0002": stdnum_siren.is_valid,
    "0007": stdnum_se_orgnr.is_valid,
    "0009": stdnum_siret.is_valid,
    "0088": stdnum_ean.is_valid,
    "0106": lambda v: len(v) == 8 and v.isdigit(),  # KVK numbers carry no check digit
    "0160": stdnum_ean.is_valid,
    "0184": lambda v: v.startswith("DK") and stdnum_cvr.is_valid(v[2:]),
    "0192": stdnum_no_orgnr.is_valid,
    "0201": lambda v: len(v) == 6 and v.isalnum(),  # IPA office codes carry no check digit
    "0204": stdnum_leitweg.is_valid,
    "0208": lambda v: stdnum_vat.is_valid("BE" + v),
    "0211": lambda v: stdnum_iva.is_valid(v.removeprefix("IT")),
    "9914": stdnum_vat.is_valid,
    "9930": stdnum_vat.is_valid,
    "9944": stdnum_vat.is_valid,
    "9957": stdnum_vat.is_valid,
}


def _identifiers(node: object) -> Iterator[tuple[str, str]]:
    """Every `{"value", "scheme"}` in a raw corpus file, wherever it sits."""
    if isinstance(node, dict):
        if isinstance(node.get("value"), str) and isinstance(node.get("scheme"), str):
            yield node["scheme"], node["value"]
        for child in node.values():
            yield from _identifiers(child)
    elif isinstance(node, list):
        for child in node:
            yield from _identifiers(child)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_corpus_identifiers_have_valid_check_digits(path: Path) -> None:
    """Peppol checks only some check digits; the corpus keeps all of them right."""
    case = load(path)
    parties = [
        case.seller,
        case.buyer,
        *([case.invoice.payee] if case.invoice.payee else []),
        *([case.invoice.tax_representative] if case.invoice.tax_representative else []),
    ]
    for party in parties:
        if party.vat_id:
            if party.vat_id.startswith("NO"):
                assert stdnum_no_mva.is_valid(party.vat_id), party.vat_id
            elif party.vat_id.startswith("GB"):  # outside the EU VAT area since 2021
                assert stdnum_gb_vat.is_valid(party.vat_id), party.vat_id
            else:
                assert stdnum_vat.is_valid(party.vat_id), party.vat_id
    for pm in case.invoice.payment_means:
        giro = pm.account is not None and (pm.account.bic or "").startswith("SE:")
        for account in (
            pm.account.iban if pm.account else None,
            pm.mandate.debited_account if pm.mandate else None,
        ):
            if account and giro:  # Swedish Bankgiro / Plusgiro numbers carry a Luhn digit
                assert stdnum_luhn.is_valid(account), account
            elif account:
                assert stdnum_iban.is_valid(account), account
    for scheme, value in _identifiers(json.loads(path.read_bytes())):
        if scheme in SCHEME_CHECKS:
            assert SCHEME_CHECKS[scheme](value), f"{scheme}: {value}"
        else:
            assert scheme == "ABZ", f"no check for scheme {scheme} ({value}); add one"


# -- focused renderer tests ---------------------------------------------------------------------


def _case(stem: str) -> Case:
    return load(CORPUS / f"{stem}.json")


def test_memo_is_never_rendered() -> None:
    case = _case("de-be-books-and-workshop-two-rates")
    secret = "INTERNAL: customer is late payer, do not extend credit"
    invoice = msgspec.structs.replace(case.invoice, memo=secret)
    xml = render_ubl(document(msgspec.structs.replace(case, invoice=invoice)))
    assert secret.encode() not in xml
    assert b"INTERNAL" not in xml


def test_credit_note_root_and_line_elements() -> None:
    xml = render_ubl(document(_case("de-de-credit-note-partial-return")))
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert root.find("cac:CreditNoteLine/cbc:CreditedQuantity", NS) is not None
    assert root.find("cac:InvoiceLine", NS) is None
    ref = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    assert ref is not None and ref.findtext("cbc:ID", namespaces=NS) == "BM-250318-07"


def test_output_is_deterministic_and_declares_utf8() -> None:
    case = _case("fr-usd-invoice-vat-in-eur")
    first, second = render_ubl(document(case)), render_ubl(document(_case("fr-usd-invoice-vat-in-eur")))
    assert first == second
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice ')


def test_amounts_have_two_decimals_and_a_currency() -> None:
    root = etree.fromstring(render_ubl(document(_case("de-at-thirds-four-decimal-prices"))))
    amounts = root.xpath(
        "//cbc:*[substring(local-name(), string-length(local-name()) - 5) = 'Amount']", namespaces=NS
    )
    assert amounts
    for el in amounts:
        if etree.QName(el).localname == "PriceAmount" or el.getparent().getparent().tag.endswith("}Price"):
            continue  # unit prices (BT-146..148) are not EN 16931 amounts; they keep their decimals
        assert el.get("currencyID") == "EUR", etree.tostring(el)
        assert len(el.text.rpartition(".")[2]) == 2 and "." in el.text, el.text


def test_tax_currency_total_without_subtotals() -> None:
    root = etree.fromstring(render_ubl(document(_case("fr-usd-invoice-vat-in-eur"))))
    assert root.findtext("cbc:TaxCurrencyCode", namespaces=NS) == "EUR"
    totals = root.findall("cac:TaxTotal", NS)
    assert [t.find("cbc:TaxAmount", NS).get("currencyID") for t in totals] == ["USD", "EUR"]
    assert totals[1].find("cac:TaxSubtotal", NS) is None


def test_unknown_profile_is_refused() -> None:
    doc = msgspec.structs.replace(document(_case("it-public-admin-ipa")), profile="no-such-cius")
    with pytest.raises(ValueError, match="no-such-cius"):
        render_ubl(doc)


def test_oracle_rejects_a_broken_document() -> None:
    """Guards the guard: a wrong total and a bad Belgian check digit must be caught."""
    xml = render_ubl(document(_case("be-catering-three-rates-service-charge")))
    broken = xml.replace(b'<cbc:PayableAmount currencyID="EUR">', b'<cbc:PayableAmount currencyID="EUR">1')
    broken = broken.replace(b'schemeID="0208">0471235896', b'schemeID="0208">0471235897')
    _, fatal, _ = official_findings(broken)
    assert {"BR-CO-16", "PEPPOL-COMMON-R043"} <= {f.id for f in fatal}
