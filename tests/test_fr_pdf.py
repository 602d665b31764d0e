"""The printed French invoice names each party's SIREN and SIRET (French invoices must state
the SIREN), and embeds the UBL of the `fr-ctc` profile byte for byte."""

from __future__ import annotations

from tests.pdf_support import attachments, norm, pdf_text

from faktura.domain.document import build_document
from faktura.render.pdf import Branding, PdfRenderer
from faktura.render.ubl import render_ubl
from france_corpus import CASES, domain, load


def test_french_pdf_shows_siren_and_siret() -> None:
    case = load(next(p for p in CASES if p.stem == "b1-delivery-siret"))
    inv, seller, buyer = domain(case)
    assert inv.issue_date is not None and inv.currency is not None
    doc = build_document(
        inv,
        number="F-2026-0007",
        issue_date=inv.issue_date,
        seller=seller,
        buyer=buyer,
        currency=inv.currency,
        profile="fr-ctc",
    )
    xml = render_ubl(doc)
    pdf = PdfRenderer().render(doc, branding=Branding(), language="fr", xml=xml).pdf
    text = norm(pdf_text(pdf)).replace(" ", "")
    for party in (seller, buyer):
        assert party.siren and party.siren in text
        assert party.siret and party.siret in text
    assert "SIREN" in text and "SIRET" in text
    [(data, _)] = attachments(pdf).values()
    assert data == xml
