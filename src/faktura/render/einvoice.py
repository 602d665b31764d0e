"""The issued e-invoice of a Document in its syntax: UBL, or CII with the CII profile chosen
from the document's profile and Factur-X / ZUGFeRD conformance level.

`prepare` (issuing) resolves `syntax` and `conformance_level` into the invoice before
anything is rendered, and the compliance check refuses combinations that do not exist
(`compliance.syntax`); this module only maps the resolved choice to a renderer.
"""

from __future__ import annotations

from typing import NamedTuple

from faktura.domain.document import FR_CTC, FR_CTC_EXTENDED, XRECHNUNG_3, Document
from faktura.domain.syntax import DEFAULT_LEVEL, FACTURX_PROFILES, UBL, facturx_level, syntax_of
from faktura.render.cii import render_cii
from faktura.render.cii.document import (
    FACTURX_BASIC,
    FACTURX_EN16931,
    FACTURX_EXTENDED,
    FR_CTC_CII,
    FR_CTC_EXTENDED_CII,
    FR_CTC_EXTENDED_FACTURX,
    FR_CTC_FACTURX,
    XRECHNUNG_3_CII,
)
from faktura.render.ubl import render_ubl

XML_MEDIA_TYPE = "application/xml"
#: conformance level -> CII profile; MINIMUM and BASIC_WL have none (FK-FACTURX-LEVEL)
FACTURX_LEVELS = {"BASIC": FACTURX_BASIC, "EN16931": FACTURX_EN16931, "EXTENDED": FACTURX_EXTENDED}
#: French profile -> its CII profile as plain CII, and as the XML of a Factur-X
FRENCH = {
    FR_CTC: (FR_CTC_CII, FR_CTC_FACTURX),
    FR_CTC_EXTENDED: (FR_CTC_EXTENDED_CII, FR_CTC_EXTENDED_FACTURX),
}


class EInvoice(NamedTuple):
    kind: str  # archive kind = syntax: "ubl" or "cii"
    media_type: str
    suffix: str  # see `file_suffix`
    content: bytes


def cii_profile(doc: Document) -> str:
    """The `render_cii` profile key of a document issued in CII."""
    if doc.profile in FACTURX_PROFILES:
        level = doc.invoice.conformance_level or DEFAULT_LEVEL
        if level not in FACTURX_LEVELS:
            raise ValueError(f"Factur-X level {level!r} is not issued (FK-FACTURX-LEVEL)")
        return FACTURX_LEVELS[level]
    if doc.profile == XRECHNUNG_3:
        return XRECHNUNG_3_CII
    if doc.profile in FRENCH:
        plain, hybrid = FRENCH[doc.profile]
        return hybrid if facturx_level(doc.profile, doc.invoice.conformance_level) else plain
    raise ValueError(f"profile {doc.profile!r} is not issued in CII (FK-SYNTAX)")


def file_suffix(profile: str, syntax: str) -> str:
    """How a download's file name ends, saying which e-invoice it is:
    `<number>.xml` (UBL), `<number>.cii.xml` (XRechnung CII), `<number>.factur-x.xml`."""
    if syntax == UBL:
        return ".xml"
    return ".factur-x.xml" if profile in FACTURX_PROFILES else ".cii.xml"


def render_einvoice(doc: Document) -> EInvoice:
    """The e-invoice XML of `doc` in the syntax resolved into its invoice."""
    syntax = syntax_of(doc.profile, doc.invoice.syntax)
    content = render_ubl(doc) if syntax == UBL else render_cii(doc, cii_profile(doc))
    return EInvoice(syntax, XML_MEDIA_TYPE, file_suffix(doc.profile, syntax), content)
