"""PDF rendering: Jinja2 templates (top-level `templates/pdf/`) laid out by WeasyPrint.

Issued invoices become PDF/A-3b with the UBL embedded as an associated file
(`AFRelationship /Alternative`: the XML is an equivalent, machine-readable representation
of the same invoice). A Factur-X / ZUGFeRD invoice becomes its hybrid PDF: the CII embedded as
`factur-x.xml` and the Factur-X XMP (`render.pdf.facturx`). Drafts become a plain
PDF stamped DRAFT. Rendering fetches nothing: the only URLs a template may use are
`data:` URIs (logo, QR code), so a tenant's SVG logo cannot make the renderer call out.

Speed: the designs' CSS (`common.css` + `<design>.css`) is parsed once per renderer, with
one shared font configuration, and passed to WeasyPrint as stylesheets; only the accent
colour and the page-number label travel inline in each document (`accent.css`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import msgspec

from faktura.domain.document import Document
from faktura.domain.syntax import facturx_level
from faktura.render.pdf import facturx
from faktura.render.pdf.labels import LABELS, LANGUAGES, language_of
from faktura.render.pdf.view import build_view, locale_for

__all__ = [
    "DEFAULT_ACCENT",
    "LANGUAGES",
    "PDF_MEDIA_TYPE",
    "TEMPLATES",
    "Branding",
    "PdfRenderer",
    "choose_language",
    "default_templates_dir",
    "locale_for",
]

PDF_MEDIA_TYPE = "application/pdf"
#: The shipped designs (`templates/pdf/<name>.html`).
TEMPLATES = ("classic", "modern")
DEFAULT_ACCENT = "#1f4e79"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class Branding(msgspec.Struct, kw_only=True, frozen=True):
    """A tenant's look, as snapshotted for one invoice."""

    template: str = "classic"
    accent_color: str = DEFAULT_ACCENT
    footer_text: str | None = None
    logo: bytes | None = None
    logo_media_type: str | None = None


def choose_language(*candidates: str | None) -> str:
    """The first candidate we have labels for (buyer's, then tenant's), else English."""
    for c in candidates:
        lang = language_of(c)
        if lang is not None:
            return lang
    return "en"


def default_templates_dir() -> Path:
    """`templates/` of the source tree (editable installs, tests), else of the cwd (the
    container copies it to /app/templates)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "templates" / "pdf"
        if candidate.is_dir():
            return candidate.parent
    return Path.cwd() / "templates"


def _css_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ") + '"'


@dataclass
class Rendered:
    pdf: bytes
    pages: int


class PdfRenderer:
    """Holds the template environment, the font configuration and the parsed CSS of each
    design. Meant for one rendering thread (the rendering process has one): the font
    configuration and its caches are shared by consecutive renders."""

    def __init__(self, templates_dir: Path | None = None):
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.templates_dir = templates_dir or default_templates_dir()
        self.url_fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
        self.font_config = FontConfiguration()
        self.stylesheets = {design: self._parse_css("common", design) for design in TEMPLATES}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.templates_dir)),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["css_string"] = _css_string

    def _parse_css(self, *names: str) -> list[Any]:
        import weasyprint

        return [
            weasyprint.CSS(
                string=(self.templates_dir / "pdf" / f"{name}.css").read_text(encoding="utf-8"),
                base_url=str(self.templates_dir),
                url_fetcher=self.url_fetcher,
                font_config=self.font_config,
            )
            for name in names
        ]

    def html(self, doc: Document, *, branding: Branding, language: str, draft: bool = False) -> str:
        template = _design(branding)
        accent = branding.accent_color if _HEX.match(branding.accent_color or "") else DEFAULT_ACCENT
        logo = None
        if branding.logo and branding.logo_media_type:
            logo = (branding.logo, branding.logo_media_type)
        view = build_view(
            doc,
            language=language if language in LABELS else "en",
            draft=draft,
            accent=accent,
            footer_text=branding.footer_text,
            logo=logo,
        )
        return self.env.get_template(f"pdf/{template}.html").render(design=template, **view)

    def render(
        self,
        doc: Document,
        *,
        branding: Branding,
        language: str,
        xml: bytes | None = None,
        draft: bool = False,
    ) -> Rendered:
        """A PDF/A-3b with `xml` embedded (the Factur-X hybrid for a Factur-X / ZUGFeRD
        invoice), or (draft) a plain PDF marked DRAFT."""
        html = self.html(doc, branding=branding, language=language, draft=draft)
        design = _design(branding)
        if draft or xml is None:
            return self.write(html, design=design)
        level = facturx_level(doc.profile, doc.invoice.conformance_level)
        if level is not None:
            rendered = self.write(
                html,
                design=design,
                xml=xml,
                attachment_name=facturx.FILENAME,
                description=f"Factur-X invoice, {facturx.XMP_LEVELS[level]} (UN/CEFACT CII)",
            )
            return Rendered(pdf=facturx.finish_hybrid(rendered.pdf, level), pages=rendered.pages)
        return self.write(html, design=design, xml=xml, attachment_name=_filename(doc.number) + ".xml")

    def write(
        self,
        html: str,
        *,
        design: str = TEMPLATES[0],
        xml: bytes | None = None,
        attachment_name: str = "invoice.xml",
        description: str = "EN 16931 invoice, UBL 2.1 (Peppol BIS Billing 3.0)",
    ) -> Rendered:
        import weasyprint

        fetcher = self.url_fetcher
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=str(self.templates_dir)).render(
            stylesheets=self.stylesheets[design], font_config=self.font_config
        )
        options: dict[str, Any] = {}
        if xml is not None:
            options = {
                "pdf_variant": "pdf/a-3b",
                "attachments": [
                    weasyprint.Attachment(
                        file_obj=io.BytesIO(xml),
                        name=attachment_name,
                        description=description,
                        relationship=facturx.AF_RELATIONSHIP,
                        url_fetcher=fetcher,
                    )
                ],
            }
        pdf = document.write_pdf(**options)
        assert pdf is not None
        return Rendered(pdf=pdf, pages=len(document.pages))


def _design(branding: Branding) -> str:
    return branding.template if branding.template in TEMPLATES else TEMPLATES[0]


def _filename(number: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in number)
