"""PDF rendering cost per design and size: ours (template + Babel formatting + WeasyPrint +
PDF/A-3b with the UBL attached) against plain WeasyPrint rendering the same HTML with the
design's CSS to a plain PDF, measured in the same run; the ratio is our overhead. "PDFs/s/core" is 1000 / our median
ms: one process renders on one core, so the month-end throughput is that times the cores.

    .venv/bin/python bench/pdf.py [--runs 15]

"month-end" is the invoice bench/monthend.py issues 100,000 times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import weasyprint

from faktura.domain.document import Document, build_document
from faktura.domain.invoice import InvoiceInput, Item, LineItem, Party
from faktura.domain.parties import ContactInput, TenantInput, buyer_party, default_payment_means, seller_party
from faktura.render.pdf import TEMPLATES, Branding, PdfRenderer
from faktura.render.ubl import render_ubl

ROOT = Path(__file__).resolve().parents[1]


def document(lines: int) -> Document:
    c = json.loads((ROOT / "tests" / "corpus" / "de-de-line-allowances-and-charges.json").read_text())
    inv = msgspec.convert(c["invoice"], InvoiceInput, strict=False)
    items = [
        LineItem(
            item=Item(name=f"Article {i:03d}", seller_id=f"A-{i:05d}"),
            quantity=Decimal(i % 5 + 1),
            unit_price=Decimal("19.90"),
            tax_category="S",
            tax_rate=Decimal(19),
        )
        for i in range(1, lines + 1)
    ]
    inv = msgspec.structs.replace(inv, line_items=items)
    return build_document(
        inv,
        number="BENCH-1",
        issue_date=dt.date(2026, 1, 15),
        seller=msgspec.convert(c["seller"], Party, strict=False),
        buyer=msgspec.convert(c["buyer"], Party, strict=False),
        currency="EUR",
    )


def month_end_document() -> Document:
    """The invoice bench/monthend.py and bench/bulk.py issue: docs/examples' invoice from its
    tenant to its contact, paid by the tenant's bank account (so with the EPC QR code)."""
    examples = ROOT / "docs" / "examples"

    def example(name: str) -> dict:
        return json.loads((examples / f"{name}.json").read_text())["model"]

    tenant = msgspec.convert(example("tenant"), TenantInput, strict=False)
    inv = msgspec.convert(example("invoice") | {"contact": None}, InvoiceInput, strict=False)
    inv = msgspec.structs.replace(inv, payment_means=default_payment_means(tenant, "EUR"))
    return build_document(
        inv,
        number="RE-2026-000123",
        issue_date=dt.date(2026, 11, 30),
        seller=seller_party(tenant),
        buyer=buyer_party(msgspec.convert(example("contact"), ContactInput, strict=False)),
        currency="EUR",
    )


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: fonts, templates
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def font_subsetter() -> str:
    """WeasyPrint subsets the embedded fonts with HarfBuzz when libharfbuzz-subset is installed
    (`.ci/run` and the README install it), else with fontTools, which here takes longer than
    the whole rest of a 1-page render: say which one the figures were taken with."""
    from weasyprint.text.ffi import harfbuzz_subset

    return "HarfBuzz" if harfbuzz_subset else "fontTools (libharfbuzz-subset0 missing: slower PDFs)"


def main() -> None:
    print(f"# fonts subset with {font_subsetter()}")
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    renderer = PdfRenderer()
    print(
        f"{'invoice':<10} {'design':<8} {'pages':>5} {'faktura ms':>11} {'PDFs/s/core':>12}"
        f" {'weasyprint ms':>14} {'ratio':>6}"
    )
    for label, doc in (
        ("1-page", document(4)),
        ("5-page", document(85)),
        ("month-end", month_end_document()),
    ):
        xml = render_ubl(doc)
        for design in TEMPLATES:
            branding = Branding(template=design, footer_text="Bench")
            pages = renderer.render(doc, branding=branding, language="de", xml=xml).pages
            html = renderer.html(doc, branding=branding, language="de")
            ours = median_ms(
                lambda d=doc, x=xml, b=branding: renderer.render(d, branding=b, language="de", xml=x),
                args.runs,
            )
            # the same HTML and the design's CSS, laid out by WeasyPrint as it comes, to a plain PDF
            css = [
                weasyprint.CSS(string=(renderer.templates_dir / "pdf" / f"{name}.css").read_text())
                for name in ("common", design)
            ]
            plain = median_ms(
                lambda h=html, c=css: weasyprint.HTML(string=h).write_pdf(stylesheets=c), args.runs
            )
            print(
                f"{label:<10} {design:<8} {pages:>5} {ours:>11.1f} {1000 / ours:>12.2f}"
                f" {plain:>14.1f} {ours / plain:>6.2f}"
            )


if __name__ == "__main__":
    main()
