"""The PDF renderer on the whole corpus: every invoice renders to a PDF/A-3b whose text
has the number, dates, parties, every VAT rate and the payable amount formatted for the
printed locale, and whose embedded XML is exactly the UBL it was given. Each corpus case
is rendered once (one test per case, so xdist spreads them)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pikepdf
import pytest
import segno
from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from tests.pdf_support import attachments, norm, page_texts, pdf_text, pdfa_identification

from faktura.domain.document import Document, build_document
from faktura.domain.invoice import InvoiceInput, Item, LineItem, Party
from faktura.render.pdf import Branding, PdfRenderer, locale_for
from faktura.render.pdf.labels import LABELS, LANGUAGES
from faktura.render.pdf.qr import epc_payload
from faktura.render.ubl import render_ubl

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
#: The language we print each seller country's corpus invoices in (every label set used).
COUNTRY_LANGUAGE = {"DE": "de", "AT": "de", "FR": "fr", "NL": "nl", "BE": "fr", "IT": "it", "ES": "es"}


@pytest.fixture(scope="session")
def renderer() -> PdfRenderer:
    return PdfRenderer()


def corpus_document(path: Path) -> Document:
    c = json.loads(path.read_text())
    inv = msgspec.convert(c["invoice"], InvoiceInput, strict=False)
    return build_document(
        inv,
        number=c.get("number") or f"T-{path.stem[:20]}",
        issue_date=dt.date.fromisoformat(c["issue_date"]),
        seller=msgspec.convert(c["seller"], Party, strict=False),
        buyer=msgspec.convert(c["buyer"], Party, strict=False),
        currency=inv.currency or "EUR",
    )


@pytest.mark.parametrize("case", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_invoice_renders_with_locale_formatting(renderer: PdfRenderer, case: Path) -> None:
    doc = corpus_document(case)
    lang = COUNTRY_LANGUAGE.get(doc.seller.address.country, "en")
    locale = locale_for(lang)
    xml = render_ubl(doc)
    design = "modern" if len(case.stem) % 2 else "classic"
    pdf = renderer.render(doc, branding=Branding(template=design), language=lang, xml=xml).pdf

    text = norm(pdf_text(pdf))
    expected = [
        doc.number,
        norm(format_date(doc.issue_date, format="medium", locale=locale)),
        norm(doc.seller.name),
        norm(doc.buyer.name),
        norm(format_currency(doc.totals.payable_amount, doc.currency, locale=locale)),
        LABELS[lang]["credit_note" if doc.is_credit_note else "invoice"],
    ]
    if doc.invoice.due_date:
        expected.append(norm(format_date(doc.invoice.due_date, format="medium", locale=locale)))
    for b in doc.totals.breakdown:
        if b.rate is not None:
            expected.append(norm(format_percent(b.rate / 100, locale=locale, decimal_quantization=False)))
    if doc.is_credit_note:
        expected += [ref.number for ref in doc.invoice.preceding_invoices]
    rep = doc.invoice.tax_representative
    if rep is not None:  # (the designs may set party headings in capitals)
        assert LABELS[lang]["tax_representative"].upper() in text.upper()
        expected += [norm(rep.name), rep.vat_id]
    for pm in doc.invoice.payment_means:  # a Swedish giro account is labelled as one, not as an IBAN
        if pm.account is not None and (pm.account.bic or "").startswith("SE:"):
            expected += [pm.account.bic.split(":")[1].capitalize(), pm.account.iban]  # type: ignore[union-attr]
    # Text extraction turns a (narrow) no-break space into a space or into nothing depending on the
    # glyph gap, so spacing is compared loosely; digits, separators and symbols exactly.
    compact = text.replace(" ", "")
    missing = [e for e in expected if e not in text and e.replace(" ", "") not in compact]
    assert missing == [], (missing, text[:3000])

    # PDF/A-3b with the UBL as associated file, byte for byte
    files = attachments(pdf)
    assert len(files) == 1
    [(data, relationship)] = files.values()
    assert data == xml
    assert str(relationship) == "/Alternative"
    assert pdfa_identification(pdf) == ("3", "B", True)


def test_long_invoice_spans_pages_with_repeated_header(renderer: PdfRenderer) -> None:
    doc = corpus_document(CORPUS[0])
    lines = [
        LineItem(
            item=Item(name=f"Article {i:03d}"),
            quantity=Decimal(i % 7 + 1),
            unit_price=Decimal("12.50"),
            tax_category="S",
            tax_rate=Decimal(20),
        )
        for i in range(1, 201)
    ]
    inv = msgspec.structs.replace(
        doc.invoice, line_items=lines, allowances=[], charges=[], prepaid_amount=None
    )
    doc = build_document(
        inv, number="LONG-1", issue_date=doc.issue_date, seller=doc.seller, buyer=doc.buyer, currency="EUR"
    )
    rendered = renderer.render(doc, branding=Branding(), language="de", xml=render_ubl(doc))
    pages = page_texts(rendered.pdf)
    assert rendered.pages == len(pages) >= 5
    header = [
        LABELS["de"][k].upper() for k in ("pos", "description", "quantity", "unit", "unit_price", "amount")
    ]
    for n, page in enumerate(pages, start=1):
        assert f"Seite {n} von {len(pages)}" in page
        if "Article" in page:  # the column headings are printed in capitals on every page of lines
            assert [h for h in header if h not in page] == [], n
            assert page.count(LABELS["de"]["unit_price"].upper()) == 1
    assert "Article 200" in pages[-1] or "Article 200" in pages[-2]


def test_draft_is_marked_and_has_no_attachment(renderer: PdfRenderer) -> None:
    doc = corpus_document(CORPUS[0])
    pdf = renderer.render(doc, branding=Branding(), language="fr", xml=b"<x/>", draft=True).pdf
    assert norm(LABELS["fr"]["draft_note"]) in norm(pdf_text(pdf))
    assert attachments(pdf) == {}


def test_memo_is_private_and_notes_are_printed(renderer: PdfRenderer) -> None:
    """`memo` is the seller's private note (the seed: "The invoice's private note"): the UBL
    and CII never carry it, and neither may the PDF the customer receives."""
    doc = corpus_document(CORPUS[0])
    invoice = msgspec.structs.replace(doc.invoice, notes=["Thank you for your order."], memo="Upsell in Q1")
    doc = msgspec.structs.replace(doc, invoice=invoice)
    text = norm(pdf_text(renderer.render(doc, branding=Branding(), language="en", xml=render_ubl(doc)).pdf))
    assert norm("Thank you for your order.") in text
    assert norm("Upsell in Q1") not in text


def test_every_language_has_every_label() -> None:
    keys = set(LABELS["en"])
    assert set(LANGUAGES) == set(LABELS)
    assert {lang: sorted(keys ^ set(LABELS[lang])) for lang in LANGUAGES} == {lang: [] for lang in LANGUAGES}


def test_epc_qr_payload() -> None:
    p = epc_payload(
        name="ACME GmbH",
        iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX",
        amount=Decimal("1234.5"),
        remittance="INV-1",
    )
    assert p == "BCD\n002\n1\nSCT\nCOBADEFFXXX\nACME GmbH\nDE89370400440532013000\nEUR1234.50\n\n\nINV-1"
    assert epc_payload(name="A", iban="DE89370400440532013000", amount=Decimal(0)) is None
    long = epc_payload(name="A" * 100, iban="DE89370400440532013000", amount=Decimal(1), remittance="x" * 500)
    assert long is not None and len(long.encode()) <= 331 and "\n" + "A" * 70 + "\n" in long


def test_logo_is_drawn_and_nothing_is_fetched(renderer: PdfRenderer) -> None:
    doc = corpus_document(CORPUS[0])
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" '
        b'height="40"><rect width="120" height="40" fill="#c00"/>'
        b'<image xlink:href="http://127.0.0.1:9/leak.png" width="1" height="1"/></svg>'
    )
    html = renderer.html(doc, branding=Branding(logo=svg, logo_media_type="image/svg+xml"), language="en")
    assert "data:image/svg+xml;base64," in html
    pdf = renderer.render(
        doc, branding=Branding(logo=svg, logo_media_type="image/svg+xml"), language="en"
    ).pdf
    assert pdf.startswith(b"%PDF")


def test_epc_qr_is_drawn_module_for_module(renderer: PdfRenderer) -> None:
    """The PDF carries the EPC QR of the invoice's transfer as an image of one pixel a module,
    drawn without smoothing, so a banking app reads the same symbol segno encoded."""
    doc = corpus_document(Path(__file__).parent / "corpus" / "de-de-line-allowances-and-charges.json")
    pm = next(p for p in doc.invoice.payment_means if p.account is not None)
    assert pm.account is not None
    payload = epc_payload(
        name=doc.seller.name,
        iban=pm.account.iban,
        amount=doc.totals.payable_amount,
        bic=pm.account.bic,
        remittance=pm.payment_id or doc.number,
    )
    assert payload is not None
    expected = [
        list(row) for row in segno.make_qr(payload, error="m", encoding="utf-8", boost_error=False).matrix
    ]

    pdf = renderer.render(doc, branding=Branding(), language="de", xml=render_ubl(doc)).pdf
    with pikepdf.open(io.BytesIO(pdf)) as p:
        images = [pikepdf.PdfImage(x) for x in p.pages[0].get_images().values()]
        (qr,) = [i for i in images if (i.width, i.height) == (len(expected), len(expected))]
        assert bool(qr.obj.get("/Interpolate", True)) is False
        pixels = qr.as_pil_image().convert("L")
    drawn = [[1 if pixels.getpixel((x, y)) < 128 else 0 for x in range(qr.width)] for y in range(qr.height)]
    assert drawn == expected
