"""Regenerate the sample PDFs' first pages shown in the README (docs/pdf-*.png).

.venv/bin/python scripts/render_samples.py      # needs pdftoppm (poppler-utils)
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
from pathlib import Path

import msgspec

from faktura.domain.document import build_document
from faktura.domain.invoice import InvoiceInput, Party
from faktura.render.pdf import Branding, PdfRenderer
from faktura.render.ubl import render_ubl

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [
    # (corpus case, language, design, accent, logo text, output)
    ("de-de-line-allowances-and-charges", "de", "classic", "#1f4e79", "BRANDT", "pdf-de.png"),
    ("fr-document-allowances-charges-percent", "fr", "modern", "#7a2e3a", "MOREAU", "pdf-fr.png"),
]


def logo(text: str, accent: str) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="220" height="60" viewBox="0 0 220 60">'
        f'<rect x="0" y="8" width="44" height="44" rx="8" fill="{accent}"/>'
        f'<path d="M12 40 L22 18 L32 40 Z" fill="#fff"/>'
        f'<text x="56" y="41" font-family="DejaVu Sans" font-weight="bold" font-size="24" fill="{accent}">{text}</text>'
        f"</svg>"
    ).encode()


def main() -> None:
    renderer = PdfRenderer()
    for case, lang, design, accent, mark, out in SAMPLES:
        c = json.loads((ROOT / "tests" / "corpus" / f"{case}.json").read_text())
        inv = msgspec.convert(c["invoice"], InvoiceInput, strict=False)
        doc = build_document(
            inv,
            number=c["number"],
            issue_date=dt.date.fromisoformat(c["issue_date"]),
            seller=msgspec.convert(c["seller"], Party, strict=False),
            buyer=msgspec.convert(c["buyer"], Party, strict=False),
            currency=inv.currency or "EUR",
        )
        branding = Branding(
            template=design,
            accent_color=accent,
            footer_text={"de": "Vielen Dank für Ihren Auftrag.", "fr": "Merci pour votre confiance."}[lang],
            logo=logo(mark, accent),
            logo_media_type="image/svg+xml",
        )
        pdf = renderer.render(doc, branding=branding, language=lang, xml=render_ubl(doc)).pdf
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "sample.pdf"
            src.write_bytes(pdf)
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "80",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(src),
                    str(ROOT / "docs" / out[:-4]),
                ],
                check=True,
            )
        print(f"docs/{out}")


if __name__ == "__main__":
    main()
