"""Turn the official per-rule unit tests into Faktura request fixtures (`tests/official_units/`).

    python tests/convert_unit_tests.py DIR_OR_FILE...      # writes tests/official_units/*.json

The inputs are local copies of the official unit-test files, in the VEFA `testSet` format
(`<test><assert><success|error|warning>RULE</…></assert><Invoice|CreditNote …/></test>`):
CEN `ConnectingEurope/eInvoicing-EN16931` `test/Invoice-unit-UBL/*.xml` and
`test/CreditNote-unit-UBL/*.xml`, Peppol `OpenPEPPOL/peppol-bis-invoice-3`
`rules/unit-UBL-*/*.xml`. Each copy starts with a provenance comment naming where it came from:

    <!-- source repo="OWNER/NAME" path="PATH/IN/REPO.xml" commit="40 HEX DIGITS" -->

Only derived data is written (never the original XML): per test its provenance, the
expected outcome per rule, and the Faktura request it converts to, or the reason it cannot.

Most unit-test documents are fragments: just the elements the rule looks at. Each fragment
is completed onto a small valid Peppol BIS 3 invoice (or credit note), `BASE_INVOICE`:
elements of the fragment replace those of the base, recursively (a seller tax representative,
which the base lacks, is completed onto a full one, `BASE_PARTS`); an element the fragment
shows commented out (`<!-- <cbc:ProfileID/> -->`) is removed from the base; the rest of the
base is kept. Two completions are tried, the deep one first, then one where the fragment's
top-level elements replace the base's whole; then both again with the base's buyer in the
country the fragment gives the seller (national rules often apply to domestic invoices
only). The completed document is run through the official validators
(`conformance.official_findings`, EN 16931 + Peppol BIS 3), and it stands in for the unit
test only if it gives the unit test's outcome on the named rule;
the fixture records that verdict (`source_verdict`). The completed document is then
converted with `convert_examples.convert`; its declared totals are recorded (`declared`)
for the rules that judge what a client declares (`on_input` rules). A completed document the
converter or the input model refuses for a part the rule does not look at (`DROPPABLE`:
additional supporting documents, further payment terms, a bank branch that is no BIC) is
converted without that part, provided the official validators still give the unit test's
outcome on its rules without it (`dropped`). A test none of whose completions the official
validators can check (their Schematron fails on it) is recorded without a verdict.

CEN tests are checked under the Peppol BIS 3 profile, whose EN 16931 rule set is CEN's.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeAlias

import msgspec
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conformance import kit_dir, official_findings
from convert_examples import Unsupported, convert
from faktura.domain.invoice import InvoiceInput, Party

OUT_DIR = Path(__file__).resolve().parent / "official_units"
VEFA = "http://difi.no/xsd/vefa/validator/1.0"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
XSD = "http://www.w3.org/2001/XMLSchema"
DOC_NS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
NS = {"cac": CAC, "cbc": CBC}
ORACLE = ("en16931", "peppol")
SOURCE = re.compile(r'source repo="([^"]+)" path="([^"]+)" commit="([0-9a-f]{40})"')

#: the document each fragment is completed onto: valid under EN 16931 and Peppol BIS 3
#: (a Belgian seller and buyer: no Peppol national block applies), one line at 25 %.
BASE_INVOICE = """<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
<cbc:ID>UT-1</cbc:ID>
<cbc:IssueDate>2024-01-15</cbc:IssueDate>
<cbc:DueDate>2024-02-15</cbc:DueDate>
<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
<cbc:BuyerReference>REF-1</cbc:BuyerReference>
<cac:AccountingSupplierParty><cac:Party>
 <cbc:EndpointID schemeID="0088">5400000000010</cbc:EndpointID>
 <cac:PostalAddress><cbc:StreetName>Rue Haute 1</cbc:StreetName><cbc:CityName>Bruxelles</cbc:CityName>
  <cbc:PostalZone>1000</cbc:PostalZone><cac:Country><cbc:IdentificationCode>BE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
 <cac:PartyTaxScheme><cbc:CompanyID>BE0123456749</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
 <cac:PartyLegalEntity><cbc:RegistrationName>Seller SA</cbc:RegistrationName></cac:PartyLegalEntity>
</cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party>
 <cbc:EndpointID schemeID="0088">5400000000027</cbc:EndpointID>
 <cac:PostalAddress><cbc:StreetName>Rue Basse 2</cbc:StreetName><cbc:CityName>Liège</cbc:CityName>
  <cbc:PostalZone>4000</cbc:PostalZone><cac:Country><cbc:IdentificationCode>BE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
 <cac:PartyTaxScheme><cbc:CompanyID>BE0987654394</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
 <cac:PartyLegalEntity><cbc:RegistrationName>Buyer NV</cbc:RegistrationName></cac:PartyLegalEntity>
</cac:Party></cac:AccountingCustomerParty>
<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">25.00</cbc:TaxAmount>
 <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="EUR">25.00</cbc:TaxAmount>
  <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>
</cac:TaxTotal>
<cac:LegalMonetaryTotal>
 <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
 <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
 <cbc:TaxInclusiveAmount currencyID="EUR">125.00</cbc:TaxInclusiveAmount>
 <cbc:PayableAmount currencyID="EUR">125.00</cbc:PayableAmount>
</cac:LegalMonetaryTotal>
<cac:InvoiceLine><cbc:ID>1</cbc:ID>
 <cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>
 <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
 <cac:Item><cbc:Name>Item</cbc:Name>
  <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
 <cac:Price><cbc:PriceAmount currencyID="EUR">100.00</cbc:PriceAmount></cac:Price>
</cac:InvoiceLine>
</Invoice>"""

BASE_CREDIT_NOTE = (
    BASE_INVOICE.replace(DOC_NS["Invoice"], DOC_NS["CreditNote"])
    .replace("<Invoice ", "<CreditNote ")
    .replace("</Invoice>", "</CreditNote>")
    .replace("InvoiceTypeCode>380<", "CreditNoteTypeCode>381<")
    .replace("InvoiceTypeCode", "CreditNoteTypeCode")
    .replace("InvoiceLine>", "CreditNoteLine>")
    .replace("InvoicedQuantity", "CreditedQuantity")
    .replace("<cbc:DueDate>2024-02-15</cbc:DueDate>\n", "")
)

#: parts the base document lacks, as complete as a valid invoice needs them: a fragment's
#: top-level element of one of these kinds is completed onto its part (like the base's own)
BASE_PARTS = {
    "TaxRepresentativeParty": """<cac:TaxRepresentativeParty xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cac:PartyName><cbc:Name>Tax Representative SA</cbc:Name></cac:PartyName>
 <cac:PostalAddress><cbc:StreetName>Rue Neuve 3</cbc:StreetName><cbc:CityName>Namur</cbc:CityName>
  <cbc:PostalZone>5000</cbc:PostalZone><cac:Country><cbc:IdentificationCode>BE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
 <cac:PartyTaxScheme><cbc:CompanyID>BE01111111145</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
</cac:TaxRepresentativeParty>""",
}

El: TypeAlias = etree._Element


@dataclass(frozen=True)
class UnitTest:
    repo: str
    path: str
    commit: str
    index: int  # 1-based position of the <test> in its file
    expect: dict[str, str]  # rule id -> "success" | "error" | "warning"
    document: El


def read_testset(file: Path) -> list[UnitTest]:
    text = file.read_text(encoding="utf-8")
    m = SOURCE.search(text)
    if m is None:
        raise SystemExit(f"{file}: no provenance comment (<!-- source repo=… path=… commit=… -->)")
    repo, path, commit = m.groups()
    root = etree.fromstring(text.encode())
    tests = []
    for i, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
        expect: dict[str, str] = {}
        for outcome in test.iterfind(f"{{{VEFA}}}assert/*"):
            kind = etree.QName(outcome).localname
            if kind in ("success", "error", "warning") and outcome.text and outcome.text.strip():
                expect[outcome.text.strip()] = kind
        docs = [c for c in test if isinstance(c.tag, str) and etree.QName(c).localname in DOC_NS]
        if expect and docs:
            tests.append(UnitTest(repo, path, commit, i, expect, docs[0]))
    return tests


# -- completing a fragment onto the base document ---------------------------------------


@functools.cache
def _schema_order() -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """(element QName -> type name, type name -> {child QName: position}) from the UBL 2.1 XSDs."""
    root = kit_dir() / "xsd" / "ubl-2.1"
    files = [
        (root / "common" / "UBL-CommonAggregateComponents-2.1.xsd", CAC),
        (root / "maindoc" / "UBL-Invoice-2.1.xsd", DOC_NS["Invoice"]),
        (root / "maindoc" / "UBL-CreditNote-2.1.xsd", DOC_NS["CreditNote"]),
    ]
    types: dict[str, str] = {}
    order: dict[str, dict[str, int]] = {}
    for file, target in files:
        xsd = etree.parse(str(file)).getroot()
        for el in xsd.iterfind(f"{{{XSD}}}element"):
            types[f"{{{target}}}{el.get('name')}"] = el.get("type") or ""
        for ct in xsd.iterfind(f"{{{XSD}}}complexType"):
            seq: dict[str, int] = {}
            for pos, ref in enumerate(ct.iterfind(f"{{{XSD}}}sequence/{{{XSD}}}element")):
                prefix, _, local = (ref.get("ref") or "").partition(":")
                ns = ref.nsmap.get(prefix) or xsd.nsmap.get(prefix)
                seq[f"{{{ns}}}{local}"] = pos
            order[ct.get("name") or ""] = seq
    return types, order


def _sorted_children(tag: str, children: list[El]) -> list[El]:
    types, order = _schema_order()
    seq = order.get(types.get(tag, ""), {})
    return sorted(children, key=lambda c: seq.get(c.tag, len(seq)))


def _commented_out(el: El) -> set[str]:
    """QNames of the elements a fragment shows commented out directly inside `el`: in one
    comment (`<!-- <cbc:ID>1</cbc:ID> -->`), or spread over consecutive ones, a tag a line
    (`<!-- <cac:PartyLegalEntity> -->`, `<!-- <cbc:CompanyID>…</cbc:CompanyID> -->`, …)."""
    nsdecl = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items())
    default = etree.QName(el).namespace or ""

    def parsed(text: str) -> set[str] | None:
        for candidate in (text, f"<{text.lstrip()}"):  # also `<!-- cbc:ID>1</cbc:ID> -->`, its "<" lost
            try:
                wrapped = etree.fromstring(f'<w xmlns="{default}" {nsdecl}>{candidate}</w>'.encode())
            except etree.XMLSyntaxError:
                continue
            return {e.tag for e in wrapped if isinstance(e.tag, str)}
        return None

    runs: list[list[str]] = [[]]
    for c in el:
        if isinstance(c, etree._Comment) and "<" in (c.text or ""):
            runs[-1].append(c.text or "")
        elif runs[-1]:
            runs.append([])
    out: set[str] = set()
    for run in runs:
        whole = parsed("".join(run)) if len(run) > 1 else None
        if whole is not None:
            out |= whole
        else:
            for text in run:
                out |= parsed(text) or set()
    return out


def _elements(el: El) -> list[El]:
    return [c for c in el if isinstance(c.tag, str)]


def _leaf(base: El | None, frag: El) -> El:
    out = etree.Element(frag.tag, nsmap=frag.nsmap)
    if base is not None:
        out.attrib.update(base.attrib)
    out.attrib.update(frag.attrib)
    out.text = frag.text
    for child in _elements(frag):  # a cbc element never has children in UBL; keep what is there
        out.append(copy.deepcopy(child))
    return out


def _merge(base: El, frag: El, *, deep: bool) -> El:
    out = etree.Element(base.tag, nsmap=base.nsmap)
    out.attrib.update(base.attrib)
    out.attrib.update(frag.attrib)
    frag_children = _elements(frag)
    named = {c.tag for c in frag_children}
    removed = _commented_out(frag) - named
    children: list[El] = [
        copy.deepcopy(c) for c in _elements(base) if c.tag not in named and c.tag not in removed
    ]
    templates: dict[str, list[El]] = {}
    for c in _elements(base):
        templates.setdefault(c.tag, []).append(c)
    seen: dict[str, int] = {}
    for fc in frag_children:
        i = seen[fc.tag] = seen.get(fc.tag, -1) + 1
        candidates = templates.get(fc.tag, [])
        template = candidates[min(i, len(candidates) - 1)] if candidates else None
        if etree.QName(fc).namespace == CBC:
            children.append(_leaf(template, fc))
        elif template is not None and deep:
            children.append(_merge(template, fc, deep=True))
        else:
            children.append(copy.deepcopy(fc))
    for c in _sorted_children(out.tag, children):
        out.append(c)
    return out


def _currency(doc: El) -> str:
    code = doc.findtext("cbc:DocumentCurrencyCode", namespaces=NS)
    if code and code.strip():
        return code.strip()
    for el in doc.iter():
        if isinstance(el.tag, str) and el.get("currencyID"):
            return el.get("currencyID") or "EUR"
    return "EUR"


COUNTRY = "cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode"


def complete(fragment: El, *, deep: bool, domestic: bool = False) -> bytes:
    """The fragment completed onto the base document of its kind; `domestic`: with the
    base's buyer in the seller's country as the fragment gives it."""
    credit = etree.QName(fragment).localname == "CreditNote"
    base_text = (BASE_CREDIT_NOTE if credit else BASE_INVOICE).replace('"EUR"', f'"{_currency(fragment)}"')
    base = etree.fromstring(base_text.encode())
    base.find("cbc:DocumentCurrencyCode", NS).text = _currency(fragment)  # type: ignore[union-attr]
    seller_country = fragment.findtext(f"cac:AccountingSupplierParty/{COUNTRY}", namespaces=NS)
    if domestic and seller_country and seller_country.strip():
        base.find(f"cac:AccountingCustomerParty/{COUNTRY}", NS).text = seller_country.strip()  # type: ignore[union-attr]
    for name, part in BASE_PARTS.items():
        tag = f"{{{CAC}}}{name}"
        if fragment.find(tag) is not None and base.find(tag) is None:
            base.append(etree.fromstring(part.encode()))  # placed in schema order by `_merge`
    merged = _merge(base, fragment, deep=deep)
    return etree.tostring(merged, xml_declaration=True, encoding="UTF-8")


# -- verdicts and declared values -------------------------------------------------------


def official_verdicts(xml: bytes, rules: Iterable[str]) -> dict[str, str]:
    """Per rule: "error" / "warning" when the official validators report it, else "success"."""
    _, fatal, warnings = official_findings(xml, ORACLE)
    fatal_ids = {f.id for f in fatal}
    warning_ids = {f.id for f in warnings}
    return {r: "error" if r in fatal_ids else "warning" if r in warning_ids else "success" for r in rules}


def _same(verdict: str, expected: str) -> bool:
    return (verdict == "success") == (expected == "success")


def _sum(values: Iterator[str | None]) -> str | None:
    total = Decimal(0)
    for v in values:
        try:
            total += Decimal((v or "").strip())
        except InvalidOperation:
            return None
    return str(total)


def declared(xml: bytes) -> dict[str, str | None]:
    """The totals the completed document declares, which `on_input` rules relate."""
    root = etree.fromstring(xml)
    line = "cac:CreditNoteLine" if etree.QName(root).localname == "CreditNote" else "cac:InvoiceLine"
    currency = _currency(root)
    tax_amounts = [
        el.text
        for el in root.iterfind("cac:TaxTotal/cbc:TaxAmount", NS)
        if el.get("currencyID") in (None, currency)
    ]
    return {
        "line_nets": _sum(el.text for el in root.iterfind(f"{line}/cbc:LineExtensionAmount", NS)),
        "allowances": _sum(
            el.text for el in root.iterfind("cac:AllowanceCharge[cbc:ChargeIndicator='false']/cbc:Amount", NS)
        ),
        "tax_subtotals": _sum(
            el.text
            for tt in root.iterfind("cac:TaxTotal", NS)
            if tt.findtext("cbc:TaxAmount", namespaces=NS) in tax_amounts
            for el in tt.iterfind("cac:TaxSubtotal/cbc:TaxAmount", NS)
        ),
        "tax_amount": tax_amounts[0].strip() if tax_amounts and tax_amounts[0] else None,
        "tax_exclusive": root.findtext("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", namespaces=NS),
    }


#: why a completed document cannot be used as it is (what the converter or the input model
#: says) -> the parts of it that reason is about (XPath): parts the input model has no field
#: for, or would have to refuse, and that the unit test's rule does not look at
DROPPABLE: tuple[tuple[str, str], ...] = (
    ("additional supporting documents (BG-24)", "cac:AdditionalDocumentReference"),
    ("more than one payment terms text", "cac:PaymentTerms[position() > 1]"),
    (".account.bic`", "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch"),
)


def _refusal(case: dict[str, Any]) -> str | None:
    """Why the input model refuses a converted request, as the tests convert it (None: it does not)."""
    try:
        msgspec.convert({**case["invoice"], "issue_date": case["issue_date"]}, InvoiceInput, strict=False)
        msgspec.convert(case["seller"], Party, strict=False)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


def _convert(xml: bytes, expect: dict[str, str]) -> tuple[dict[str, Any], bytes, list[str]]:
    """`convert(xml)`; or, if the converter or the input model refuses it for a `DROPPABLE`
    part, that of `xml` without the part, provided the official outcome on the `expect`ed
    rules stays the unit test's: (request, the document converted, the XPaths dropped).
    Raises `Unsupported` as `convert` does."""
    dropped: list[str] = []
    while True:
        error: Unsupported | None = None
        try:
            case: dict[str, Any] | None = convert(xml)
        except Unsupported as exc:
            case, error = None, exc
        reason = str(error) if case is None else _refusal(case)
        path = next((p for why, p in DROPPABLE if reason and why in reason and p not in dropped), None)
        reduced = xml
        if path is not None:
            root = etree.fromstring(xml)
            for el in root.xpath(path, namespaces=NS):
                el.getparent().remove(el)
            reduced = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            try:
                verdict = official_verdicts(reduced, expect)
            except RuntimeError:
                verdict = {}
            if not all(_same(verdict.get(r, "unchecked"), e) for r, e in expect.items()):
                path = None
        if path is None:
            if case is None:
                raise error  # type: ignore[misc]
            return case, xml, dropped
        xml = reduced
        dropped.append(path)


def fixture(test: UnitTest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"{Path(test.path).stem}#{test.index}",
        "path": test.path,
        "commit": test.commit,
        "index": test.index,
        "expect": test.expect,
    }
    chosen: tuple[str, bytes, dict[str, str]] | None = None
    first: tuple[str, bytes, dict[str, str]] | None = None
    unchecked: RuntimeError | None = None
    for how in ("deep", "shallow", "deep, domestic buyer", "shallow, domestic buyer"):
        xml = complete(test.document, deep=how.startswith("deep"), domestic="domestic" in how)
        try:
            verdict = official_verdicts(xml, test.expect)
        except RuntimeError as exc:  # e.g. the Schematron fails on an empty decimal
            unchecked = unchecked or exc
            continue
        first = first or (how, xml, verdict)
        if all(_same(verdict[r], e) for r, e in test.expect.items()):
            chosen = (how, xml, verdict)
            break
    if first is None:
        out["source_verdict"] = {}
        out["unsupported"] = f"the official validators cannot check the completed document: {unchecked}"
        return out
    how, xml, verdict = chosen or first
    out["completion"] = how
    out["source_verdict"] = verdict
    try:
        case, xml, dropped = _convert(xml, test.expect)
    except Unsupported as exc:
        out["unsupported"] = str(exc)
        return out
    except Exception as exc:  # a fragment that leaves out what the converter needs
        out["unsupported"] = f"not convertible: {type(exc).__name__}: {exc}"
        return out
    if dropped:
        out["dropped"] = dropped
    out["declared"] = declared(xml)
    out["request"] = {k: case[k] for k in ("profile", "number", "issue_date", "seller", "invoice")}
    return out


def group_name(test: UnitTest) -> str:
    """Fixture file per source folder: `peppol-unit-UBL-PEPPOL`, `cen-Invoice-unit-UBL`, …"""
    folder = Path(test.path).parent.name
    return f"{'cen' if 'EN16931' in test.repo else 'peppol'}-{folder}"


def write(groups: dict[str, list[dict[str, Any]]], repos: dict[str, str]) -> None:
    OUT_DIR.mkdir(exist_ok=True)
    for name, items in sorted(groups.items()):
        items.sort(key=lambda t: (t["path"], t["index"]))
        body = ",\n".join(json.dumps(t, ensure_ascii=False, sort_keys=True) for t in items)
        (OUT_DIR / f"{name}.json").write_text(
            f'{{"repo": {json.dumps(repos[name])}, "tests": [\n{body}\n]}}\n', encoding="utf-8"
        )


def main(args: list[str]) -> int:
    files: list[Path] = []
    for a in args:
        p = Path(a)
        files += sorted(p.rglob("*.xml")) if p.is_dir() else [p]
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    groups: dict[str, list[dict[str, Any]]] = {}
    repos: dict[str, str] = {}
    for f in files:
        for t in read_testset(f):
            name = group_name(t)
            repos[name] = t.repo
            groups.setdefault(name, []).append(fixture(t))
    write(groups, repos)
    for name, items in sorted(groups.items()):
        ok = sum("request" in t for t in items)
        print(f"{name}: {len(items)} tests, {ok} converted", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
