"""`faktura.render.tree` writes what lxml writes for the same tree, byte for byte.

The UBL renderer builds its tree with `faktura.render.tree` instead of lxml; an issued
invoice's bytes must not change with that. Each tree here is also built in lxml (the
renderer's namespaces declared on the root, as the renderer did with lxml) and written with
`etree.indent` and `etree.tostring`: random trees with hostile text and attribute values,
and the renderer's own tree of every corpus case and documentation example.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import france_corpus
from faktura.domain.document import PEPPOL_BIS_3, Document, build_document
from faktura.domain.invoice import InvoiceInput
from faktura.domain.parties import ContactInput, TenantInput, buyer_party, seller_party
from faktura.render.tree import NOT_XML_MESSAGE, Element, tostring
from faktura.render.ubl.common import NS_CAC, NS_CBC, NS_INVOICE, cbc
from faktura.render.ubl.document import XML_DECLARATION, render_ubl, tree
from test_ubl_conformance import CASE_FILES, document, load

ROOT = Path(__file__).resolve().parents[1]


def as_lxml(el: Element, parent: etree._Element | None = None) -> etree._Element:
    """The same tree in lxml: the root's `xmlns` attributes become lxml's namespace map (in
    their order), and `prefix:name` is `name` in the prefix's namespace."""
    if parent is None:
        nsmap = {k.partition(":")[2] or None: v for k, v in (el.attrs or {}).items() if k.startswith("xmlns")}
    else:
        nsmap = {p: ns for p, ns in parent.nsmap.items()}
    prefix, _, name = el.tag.rpartition(":")
    tag = f"{{{nsmap[prefix or None]}}}{name}"
    attrs = {k: v for k, v in (el.attrs or {}).items() if not k.startswith("xmlns")}
    node = etree.Element(tag, attrs, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag, attrs)
    node.text = el.text
    for child in el.children:
        as_lxml(child, node)
    return node


def lxml_bytes(root: Element) -> bytes:
    node = as_lxml(root)
    etree.indent(node, space="  ")
    return etree.tostring(node, encoding="UTF-8", xml_declaration=False)


def root_of(children: list[Element]) -> Element:
    root = Element("Invoice", attrs={"xmlns": NS_INVOICE, "xmlns:cac": NS_CAC, "xmlns:cbc": NS_CBC})
    root.children = children
    return root


#: XML-compatible text with everything an escaper can get wrong: markup characters, quotes,
#: whitespace of every kind, entity look-alikes (`&amp;`, `]]>` from their letters),
#: non-ASCII in the BMP and beyond, DEL and NEL
TEXT = st.text(alphabet=st.sampled_from(list("ab <>&\"'\t\n\r;#x0]é€😀\u2028\x7f\x85")), max_size=12)
NAMES = st.sampled_from(["ID", "Note", "Amount", "Name", "Line"])
ATTRS = st.dictionaries(st.sampled_from(["currencyID", "schemeID", "unitCode", "name"]), TEXT, max_size=3)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Element:
    name = draw(NAMES)
    if depth < 3 and draw(st.booleans()):
        el = Element("cac:" + name)
        el.children = draw(st.lists(trees(depth + 1), max_size=4))
        return el
    text = draw(st.none() | TEXT)
    return Element("cbc:" + name, text, draw(ATTRS) or None)


@settings(max_examples=200, deadline=None)
@given(st.lists(trees(), min_size=1, max_size=5))
def test_random_trees_are_written_as_lxml_writes_them(children: list[Element]) -> None:
    root = root_of(children)
    assert tostring(root) == lxml_bytes(root)


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
@pytest.mark.parametrize("where", ["text", "attribute"])
def test_text_xml_cannot_carry_is_refused_as_by_lxml(bad: str, where: str) -> None:
    value = f"a{bad}b"
    with pytest.raises(ValueError):
        etree.Element("x").text = value  # the behaviour kept
    leaf = Element("cbc:ID", value) if where == "text" else Element("cbc:ID", "x", {"schemeID": value})
    with pytest.raises(ValueError) as refused:  # a lone surrogate: UnicodeEncodeError
        tostring(root_of([leaf]))
    assert str(refused.value) == NOT_XML_MESSAGE or isinstance(refused.value, UnicodeEncodeError)


def test_an_absent_or_blank_value_writes_no_element() -> None:
    parent = Element("cac:Party")
    assert cbc(parent, "Name", None) is None
    assert cbc(parent, "Name", " \n") is None
    assert len(parent) == 0


def _documents() -> list[tuple[str, Document]]:
    """Every corpus case (Peppol and French) and the documentation's invoice, as issued."""
    out = [(path.stem, document(load(path))) for path in CASE_FILES]
    for path in france_corpus.CASES:
        inv, seller, buyer = france_corpus.domain(france_corpus.load(path))
        assert inv.issue_date is not None
        doc = build_document(
            inv,
            number="FA-2026-0001",
            issue_date=inv.issue_date,
            seller=seller,
            buyer=buyer,
            currency=inv.currency or "EUR",
            profile=inv.profile or PEPPOL_BIS_3,
        )
        out.append((f"france/{path.stem}", doc))
    example = json.loads((ROOT / "docs/examples/invoice.json").read_bytes())["model"]
    example.pop("contact")
    inv = msgspec.convert(example, InvoiceInput, strict=False)
    tenant = json.loads((ROOT / "docs/examples/tenant.json").read_bytes())["model"]
    contact = json.loads((ROOT / "docs/examples/contact.json").read_bytes())["model"]
    doc = build_document(
        inv,
        number="INV-2026-00001",
        issue_date=dt.date(2026, 12, 1),
        seller=seller_party(msgspec.convert(tenant, TenantInput)),
        buyer=buyer_party(msgspec.convert(contact, ContactInput)),
        currency="EUR",
    )
    return [*out, ("docs/examples/invoice", doc)]


@pytest.mark.parametrize(("name", "doc"), _documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_is_written_as_lxml_writes_it(name: str, doc: Document) -> None:
    assert render_ubl(doc) == XML_DECLARATION + lxml_bytes(tree(doc)) + b"\n"
