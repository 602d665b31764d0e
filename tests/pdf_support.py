"""Helpers for PDF tests: text via pypdf, attachments and XMP via pikepdf (both Python packages)."""

from __future__ import annotations

import io
import re
from typing import Any

import pikepdf
from pypdf import PdfReader

from conformance import describe, official_findings

_SPACE = re.compile(r"[\s\u00a0\u202f]+")


def norm(text: str) -> str:
    """Collapse every kind of space (Babel uses NBSP and narrow NBSP) to one blank."""
    return _SPACE.sub(" ", text).strip()


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None) -> str:
    """The text of pages `first`..`last` (1-based, inclusive), pages separated by form feeds."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    start = (first or 1) - 1
    stop = last if last is not None else len(pages)
    return "".join(pages[i].extract_text() + "\f" for i in range(start, stop))


def page_texts(pdf: bytes) -> list[str]:
    return [norm(p) for p in pdf_text(pdf).split("\f") if p.strip()]


def attachments(pdf: bytes) -> dict[str, tuple[bytes, Any]]:
    """name → (bytes, AFRelationship) of every embedded file."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        out = {}
        for name, spec in doc.attachments.items():
            out[name] = (spec.get_file().read_bytes(), spec.obj.get("/AFRelationship"))
        return out


def pdfa_identification(pdf: bytes) -> tuple[str | None, str | None, bool]:
    """(pdfaid:part, pdfaid:conformance, catalog has /AF) from the XMP packet."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        return meta.get("pdfaid:part"), meta.get("pdfaid:conformance"), "/AF" in doc.Root


FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"


def xmp_packet(pdf: bytes) -> Any:
    """The catalog's XMP packet, parsed (lxml)."""
    from lxml import etree

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return etree.fromstring(doc.Root.Metadata.read_bytes())


def fx_properties(pdf: bytes) -> dict[str, str]:
    """The `fx:` properties of the XMP packet, name → value."""
    return {el.tag.split("}")[1]: el.text for el in xmp_packet(pdf).iter(f"{{{FX}}}*")}


def extension_schemas(pdf: bytes) -> dict[str, tuple[str | None, set[str]]]:
    """PDF/A extension schemas described in the XMP: namespace URI → (prefix, property names)."""
    out = {}
    for schema in xmp_packet(pdf).iter(f"{{{_PDFA_SCHEMA}}}namespaceURI"):
        li = schema.getparent()
        names = {n.text for n in li.iter(f"{{{_PDFA_PROPERTY}}}name")}
        out[schema.text] = (li.findtext(f"{{{_PDFA_SCHEMA}}}prefix"), names)
    return out


def catalog_af(pdf: bytes) -> list[tuple[str, Any]]:
    """(file name, AFRelationship) of each file specification in the catalog's /AF array."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [(str(spec.get("/UF", spec.get("/F"))), spec.get("/AFRelationship")) for spec in doc.Root.AF]


def unembedded_fonts(pdf: bytes) -> list[str]:
    """Base names of fonts used on any page without an embedded font program (Type 3 fonts
    are drawn by the PDF itself and count as embedded)."""
    missing = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            fonts = page.obj.get("/Resources", {}).get("/Font", {})
            for font in fonts.values():
                if font.get("/Subtype") == "/Type3":
                    continue
                for f in font.get("/DescendantFonts", [font]):
                    desc = f.get("/FontDescriptor")
                    if desc is None or not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                        missing.append(str(f.get("/BaseFont")))
    return missing


#: conformance_level -> (fx:ConformanceLevel, the kit's validator of the embedded XML)
LEVELS = {
    "BASIC": ("BASIC", "facturx-basic-1.09.2"),
    "EN16931": ("EN 16931", "facturx-en16931-1.09.2"),
    "EXTENDED": ("EXTENDED", "facturx-extended-1.09.2"),
}


def assert_hybrid(pdf: bytes, archived_xml: bytes, level: str) -> None:
    """Every check a hybrid PDF of the suite passes: PDF/A-3 identification (part 3,
    conformance B) and `/AF` in the catalog; the four `fx:` values of `level`; the PDF/A
    extension schema describing the `fx` namespace and its four properties; `factur-x.xml`
    as the one embedded file, byte for byte `archived_xml`, `AFRelationship /Alternative`,
    and the only entry of the catalog's `/AF`; every font embedded; the embedded XML free of
    XSD errors and fatal findings of the kit's Factur-X 1.09.2 validator for `level`."""
    fx_level, validator = LEVELS[level]
    part, conformance, has_af = pdfa_identification(pdf)
    assert (part, conformance, has_af) == ("3", "B", True)
    assert fx_properties(pdf) == {
        "DocumentType": "INVOICE",
        "DocumentFileName": "factur-x.xml",
        "Version": "1.0",
        "ConformanceLevel": fx_level,
    }
    prefix, properties = extension_schemas(pdf)[FX]
    assert prefix == "fx"
    assert properties == {"DocumentType", "DocumentFileName", "Version", "ConformanceLevel"}
    [(name, (embedded, relationship))] = attachments(pdf).items()
    assert name == "factur-x.xml"
    assert embedded == archived_xml  # byte for byte
    assert relationship == "/Alternative"
    assert catalog_af(pdf) == [("factur-x.xml", "/Alternative")]
    assert unembedded_fonts(pdf) == []
    xsd, fatal, _ = official_findings(embedded, (validator,))
    assert not xsd and not fatal, describe(fatal) + "\n".join(xsd)
