"""Factur-X / ZUGFeRD hybrid PDF: the PDF/A-3 that WeasyPrint wrote, with the Factur-X XMP.

WeasyPrint embeds the CII as `factur-x.xml` (the name Factur-X 1.0 and ZUGFeRD 2.1+ fix),
links it from the catalog's `/AF` array and writes the PDF/A-3 identification. Missing is
the Factur-X XMP: the `fx:` properties that tell a reader which file holds the invoice and
at which level, and the PDF/A extension-schema description of those properties, without
which a PDF/A validator rejects the unknown `fx:` namespace. WeasyPrint 70 can only append
raw fragments after its `rdf:RDF` (a second `rdf:RDF` in the packet) and lists the embedded
file twice in `/AF`; so this module adds both descriptions inside the one `rdf:RDF` with
pikepdf, lists the file once in `/AF` and leaves every other object as it was, so the
embedded XML stays the archived bytes.

Why not the `factur-x` package (7.8, BSD): it re-writes the whole PDF through pypdf (a
second PDF library next to pikepdf, plus requests and python-stdnum), builds a new XMP
packet from scratch with the PDF/A conformance fixed to B, dropping WeasyPrint's, and
re-embeds the XML itself. WeasyPrint already gives us the attachment, the `/AF` array and
the PDF/A-3 metadata; all that is missing is the two XMP descriptions below.
"""

from __future__ import annotations

import io

import pikepdf
from lxml import etree

FILENAME = "factur-x.xml"
FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_VERSION = "1.0"
#: `conformance_level` -> the `fx:ConformanceLevel` value of the Factur-X specification
XMP_LEVELS = {"BASIC": "BASIC", "EN16931": "EN 16931", "EXTENDED": "EXTENDED"}
#: Alternative: the XML is an equivalent, machine-readable form of the visible invoice
#: (Factur-X reserves `Data` for MINIMUM and BASIC WL, which are not invoices).
AF_RELATIONSHIP = "Alternative"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_EXT = "http://www.aiim.org/pdfa/ns/extension/"
_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"

_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _fx_description(level: str) -> etree._Element:
    d = etree.Element(_q(RDF, "Description"), {_q(RDF, "about"): ""}, nsmap={"fx": FX_NS})
    for name, value in (
        ("DocumentType", "INVOICE"),
        ("DocumentFileName", FILENAME),
        ("Version", FX_VERSION),
        ("ConformanceLevel", XMP_LEVELS[level]),
    ):
        etree.SubElement(d, _q(FX_NS, name)).text = value
    return d


def _extension_description() -> etree._Element:
    """The PDF/A extension schema (ISO 19005-1 §6.7.8) that declares the `fx:` properties."""
    nsmap = {"pdfaExtension": _EXT, "pdfaSchema": _SCHEMA, "pdfaProperty": _PROPERTY}
    d = etree.Element(_q(RDF, "Description"), {_q(RDF, "about"): ""}, nsmap=nsmap)
    bag = etree.SubElement(etree.SubElement(d, _q(_EXT, "schemas")), _q(RDF, "Bag"))
    schema = etree.SubElement(bag, _q(RDF, "li"), {_q(RDF, "parseType"): "Resource"})
    etree.SubElement(schema, _q(_SCHEMA, "schema")).text = "Factur-X PDFA Extension Schema"
    etree.SubElement(schema, _q(_SCHEMA, "namespaceURI")).text = FX_NS
    etree.SubElement(schema, _q(_SCHEMA, "prefix")).text = "fx"
    seq = etree.SubElement(etree.SubElement(schema, _q(_SCHEMA, "property")), _q(RDF, "Seq"))
    for name, description in _PROPERTIES:
        li = etree.SubElement(seq, _q(RDF, "li"), {_q(RDF, "parseType"): "Resource"})
        etree.SubElement(li, _q(_PROPERTY, "name")).text = name
        etree.SubElement(li, _q(_PROPERTY, "valueType")).text = "Text"
        etree.SubElement(li, _q(_PROPERTY, "category")).text = "external"
        etree.SubElement(li, _q(_PROPERTY, "description")).text = description
    return d


def finish_hybrid(pdf: bytes, level: str) -> bytes:
    """`pdf` with the Factur-X properties at `level` (BASIC, EN16931, EXTENDED) and their
    extension-schema description in its XMP packet, each associated file once in `/AF`."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        seen: dict[tuple[int, int], pikepdf.Object] = {}
        for spec in doc.Root.AF:
            seen.setdefault(spec.objgen, spec)
        doc.Root.AF = pikepdf.Array(seen.values())
        stream = doc.Root.Metadata
        packet = etree.fromstring(stream.read_bytes())
        rdf = packet if etree.QName(packet).localname == "RDF" else packet.find(f".//{_q(RDF, 'RDF')}")
        if rdf is None:
            raise ValueError("the PDF's XMP packet has no rdf:RDF")
        rdf.append(_fx_description(level))
        rdf.append(_extension_description())
        body = etree.tostring(packet, encoding="utf-8")
        xmp = (
            b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            + body
            + b'\n<?xpacket end="r"?>'
        )
        stream.write(xmp)
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
        return out.getvalue()
