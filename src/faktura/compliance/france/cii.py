"""The BR-FR rules as the CII Schematron of FNFE-MPE 1.4.0.03 names and tests them
(`BR-FR-Flux2-Schematron-CII.sch`; EXTENDED-CTC-FR repeats it).

The French rule set (`compliance.france`) follows the UBL Schematron. The CII one tests the
same rules under other ids in places (`RENAMED`: `BR-FR-05_BT-22-1` is `BR-FR-05_BT-22_PMT`,
`BR-FR-16_BT-96` and `BR-FR-16_BT-103` are one `BR-FR-16_BT-96_BT-103`, …), leaves some to
another rule or to the syntax (`DROPPED`), and reads the notes otherwise: UBL joins every
note and looks for `#CODE#`, CII reads `ram:SubjectCode` and `ram:Content` note by note. The
rules on notes are therefore run here, on the notes as the CII renderer writes them
(`domain.notes.subject_and_text`), and their UBL findings are dropped for CII.
`compliance.binding` applies the table; `compliance.syntax` adds `french_cii_findings` for a
French invoice issued in CII. `tests/test_fr_cii_differential.py` holds both to the official
CII Schematron.
"""

from __future__ import annotations

from faktura.compliance.findings import Finding, Severity
from faktura.domain import france
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.notes import subject_and_text

#: UBL id -> CII id of the same test
RENAMED: dict[str, str] = {
    "BR-FR-01_BT-25-1": "BR-FR-01_BT-25",
    "BR-FR-03_BT-134": "BR-FR-03_EXT-FR-FE-134",
    "BR-FR-03_BT-135": "BR-FR-03_EXT-FR-FE-135",
    "BR-FR-15_BT-95_BT-102-1": "BR-FR-15_BT-95_BT-102",
    "BR-FR-15_BT-95_BT-102-2": "BR-FR-15_BT-95_BT-102_LM",
    "BR-FR-15_BT-118-1": "BR-FR-15_BT-95_BT-118",
    "BR-FR-15_BT-118-2": "BR-FR-15_BT-95_BT-118_LM",
    "BR-FR-15_BT-151-1": "BR-FR-15_BT-95_BT-151",
    "BR-FR-08_BT-151-2": "BR-FR-15_BT-95_BT-151_LM",
    "BR-FR-16_BT-96": "BR-FR-16_BT-96_BT-103",
    "BR-FR-16_BT-103": "BR-FR-16_BT-96_BT-103",
    "BR-FR-32-ID": "BR-FR-32-GLOBALID",
    "BR-FR-CO-04_BT-3": "BR-FR-CO-04_BT-4",
    "BR-FR-BD-02_BT-30": "BR-FR-BD-02_BT-31",
    "BR-FR-MV-BD_BT-3": "BR-FR-BD-13_BT-3",
}

#: UBL ids with no CII finding of their own, and why
DROPPED: dict[str, str] = {
    "BR-FR-01_BT-25-2": "the CII BR-FR-01 tests the length only; the format is BR-FR-02_BT-25 in both",
    "BR-FR-CO-10_BT-29-1": "CII writes an identifier without a scheme as ram:ID, never as a GlobalID"
    " without schemeID",
    "BR-FR-CO-10_BT-46-1": "as BR-FR-CO-10_BT-29-1",
    "BR-FR-CO-10_BT-60-1": "as BR-FR-CO-10_BT-29-1",
    "BR-FR-CO-10_BT-71-1": "as BR-FR-CO-10_BT-29-1",
    **{
        rule_id: "read from the notes as UBL joins them; run on ram:SubjectCode by `french_cii_findings`"
        for rule_id in (
            "BR-FR-05_BT-22-1",
            "BR-FR-05_BT-22-2",
            "BR-FR-05_BT-22-3",
            "BR-FR-06_BT-21-1",
            "BR-FR-06_BT-21-2",
            "BR-FR-06_BT-21-3",
            "BR-FR-06_BT-21-4",
            "BR-FR-11_BT-47",
            "BR-FR-20_BT-21",
            "BR-FR-21_BT-49",
            "BR-FR-22_BT-34",
            "BR-FR-30_BT-21",
            "BR-FR-CO-14_BT-29-1",
        )
    },
    **{
        rule_id: "the SIREN is the legal registration id under 0002 alone (the Schematron falls back to the"
        " SIRET's first nine digits for the payee only); run by `french_cii_findings`"
        for rule_id in ("BR-FR-09_BT-29", "BR-FR-09_BT-46")
    },
    **{
        rule_id: "UBL reads a credit note's type code and due date elsewhere; run as the CII Schematron tests"
        " it by `french_cii_findings`"
        for rule_id in ("BR-FR-CO-05_BT-3", "BR-FR-CO-07_BT-9", "BR-FR-CO-09_BT-23-3")
    },
}

#: BR-FR-20 / BR-FR-31: the values of a BAR note (`custom:is-valid-bar-treatment`)
BAR_TREATMENTS = frozenset({"B2B", "B2BINT", "B2C", "B2CINT", "OUTOFSCOPE", "ARCHIVEONLY"})
#: BT-3 codes of credit notes (BR-FR-CO-05), deposit invoices (BR-FR-CO-07), and the billing
#: modes of an invoice already paid (BR-FR-CO-07, BR-FR-CO-09)
CREDIT_TYPES = frozenset({"261", "381", "396", "502", "503"})
DEPOSIT_TYPES = frozenset({"386", "500", "503"})
PAID_MODES = frozenset({"B2", "S2", "M2"})
#: BT-3 codes of self-billed documents (BR-FR-21 / BR-FR-22)
SELF_BILLED = frozenset({"389", "501", "500", "471", "473", "261", "502"})
#: BR-FR-CO-14: a member of a single VAT taxpayer (assujetti unique) says so in a TXD note
SINGLE_TAXPAYER_SCHEME = "0231"
SINGLE_TAXPAYER_NOTE = "MEMBRE_ASSUJETTI_UNIQUE"

_MANDATORY = (
    ("PMT", "La mention relative aux frais de recouvrement (code PMT)"),
    ("PMD", "La mention relative aux pénalités de retard (code PMD)"),
    ("AAB", "La mention relative à l’escompte ou à son absence (code AAB)"),
)
_ONCE = (
    ("PMT", "indemnité forfaitaire pour frais de recouvrement"),
    ("PMD", "pénalités de retard"),
    ("AAB", "mention d’escompte ou d’absence d’escompte"),
    ("TXD", "mention de taxe"),
)


def _fatal(rule_id: str, text: str, pointer: str, term: str) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.FATAL,
        title="Validation Error",
        detail=text,
        pointer=pointer,
        business_term=term,
    )


def cii_notes(invoice: InvoiceInput) -> list[tuple[int, str | None, str | None]]:
    """(index, ram:SubjectCode, ram:Content) of each `ram:IncludedNote` the renderer writes
    (blank notes are not written; a blank text leaves the note without ram:Content)."""
    out = []
    for i, note in enumerate(invoice.notes):
        if note.strip():
            subject, text = subject_and_text(note)
            out.append((i, subject, text if text.strip() else None))
    return out


def _type_code(invoice: InvoiceInput) -> str:
    return invoice.type_code or ("381" if invoice.document_type == "CREDIT_NOTE" else "380")


def _address_of_siren(party: Party | None) -> bool:
    """`starts-with($endpointID, $siren) and $endpointSchemeID = '0225'`, with the party's
    `SpecifiedLegalOrganization/ram:ID` (any scheme) as the SIREN."""
    endpoint = party.endpoint if party is not None else None
    legal = france.legal_id(party) if party is not None else None
    siren = legal.value if legal is not None else ""
    return (
        endpoint is not None and endpoint.scheme == france.ADDRESS_SCHEME and endpoint.value.startswith(siren)
    )


def french_cii_findings(
    invoice: InvoiceInput,
    seller: Party | None,
    buyer: Party | None,
    base: str = "/model",
) -> list[Finding]:
    """The BR-FR rules on notes as the CII Schematron tests them (BR-FR-05, -06, -11, -20,
    -21, -22, -31, BR-FR-CO-14), for a French invoice issued in CII."""
    notes = cii_notes(invoice)
    at = f"{base}/notes"
    out: list[Finding] = []
    for code, what in _MANDATORY:
        if not any(subject == code for _, subject, _ in notes):
            out.append(
                _fatal(
                    f"BR-FR-05_BT-22_{code}",
                    f"BR-FR-05/BT-22 : {what} est absente. Elle est obligatoire dans les notes (BG-1).",
                    at,
                    "BT-22",
                )
            )
    for code, what in _ONCE:
        repeated = [i for i, subject, _ in notes if subject == code][1:]
        if repeated:
            out.append(
                _fatal(
                    f"BR-FR-06_BT-21_{code}",
                    f"BR-FR-06/BT-21 : Le code sujet {code} ({what}) ne doit apparaître qu'une seule fois dans les"
                    " notes (BG-1).",
                    f"{at}/{repeated[0]}",
                    "BT-21",
                )
            )
    bar = [(i, text) for i, subject, text in notes if subject == "BAR"]
    for i, text in bar:
        if text not in BAR_TREATMENTS:
            out.append(
                _fatal(
                    "BR-FR-20_BT-21",
                    "BR-FR-20/BT-21 : Lorsqu’une note a pour code sujet « BAR » (BT-21), la valeur associée (BT-22,"
                    f" contenu de la note) doit être l’une des suivantes : B2B, B2BINT, B2C, OUTOFSCOPE, ARCHIVEONLY."
                    f' Valeur fournie : "{text or ""}".',
                    f"{at}/{i}",
                    "BT-22",
                )
            )
    treatments = [i for i, text in bar if text is not None and " ".join(text.split()) in BAR_TREATMENTS]
    if len(treatments) > 1:
        out.append(
            _fatal(
                "BR-FR-31_BT-21",
                "BR-FR-31/BT-21 : Lorsque plusieurs notes ont le code sujet « BAR » (BT-21), Il ne peut y avoir"
                " qu'une seule valeur associée (BT-22, contenu de la note).",
                f"{at}/{treatments[1]}",
                "BT-21",
            )
        )
    b2b = any(text == "B2B" for _, text in bar)
    buyer_ptr = f"{base}/buyer" if invoice.buyer is not None else f"{base}/contact"
    if b2b:
        legal = france.legal_id(buyer) if buyer is not None else None
        siren = legal.value if legal is not None and legal.scheme == france.SIREN_SCHEME else None
        if siren is None or not (len(siren) == 9 and siren.isascii() and siren.isdigit()):
            out.append(
                _fatal(
                    "BR-FR-11_BT-47",
                    "BR-FR-11/BT-47 : Si une note contient le code sujet BAR avec la valeur 'B2B', alors le SIREN de"
                    " l’acheteur (BT-47, ram:ID) est obligatoire et doit être composé exactement de 9 chiffres.",
                    f"{buyer_ptr}/siren",
                    "BT-47",
                )
            )
        self_billed = _type_code(invoice) in SELF_BILLED
        if not self_billed and not _address_of_siren(buyer):
            out.append(
                _fatal(
                    "BR-FR-21_BT-49",
                    "BR-FR-21/BT-49 : Si le traitement est BAR/B2B et que le type de document (BT-3) n’est pas en"
                    " autofacture (389, 501, 500, 471, 473, 261, 502), alors le BT-49 (EndpointID) doit commencer"
                    ' par le SIREN (BT-47) et le BT-49-1 (schemeID) doit être égal à "0225".',
                    f"{buyer_ptr}/endpoint",
                    "BT-49",
                )
            )
        if self_billed and not _address_of_siren(seller):
            out.append(
                _fatal(
                    "BR-FR-22_BT-34",
                    "BR-FR-22/BT-34 : Si le traitement est BAR/B2B et que le type de document (BT-3) est en"
                    " autofacture (389, 501, 500, 471, 473, 261, 502), alors le BT-34 (EndpointID du vendeur) doit"
                    ' commencer par le SIREN (BT-30) et le BT-34-1 (schemeID) doit être égal à "0225".',
                    "/tenant/endpoint",
                    "BT-34",
                )
            )
    single_taxpayer = seller is not None and any(
        ident.scheme == SINGLE_TAXPAYER_SCHEME for ident in france.identifiers(seller)
    )
    if single_taxpayer and not any(s == "TXD" and t == SINGLE_TAXPAYER_NOTE for _, s, t in notes):
        out.append(
            _fatal(
                "BR-FR-CO-14_BT-29-1",
                "BR-FR-CO-14/BT-29-1 : Si le schéma d’identification du vendeur (BT-29-1) est '0231', cela signifie"
                " qu’il est membre d’un assujetti unique. Dans ce cas, une note (BG-1) avec le code sujet 'TXD'"
                " (BT-21) et le texte 'MEMBRE_ASSUJETTI_UNIQUE' (BT-22) doit être présente.",
                at,
                "BT-21",
            )
        )
    out += _siret_findings(seller, "/tenant", "BT-29")
    out += _siret_findings(buyer, buyer_ptr, "BT-46")
    return out + _document_findings(invoice, base)


def _siret_findings(party: Party | None, pointer: str, term: str) -> list[Finding]:
    """BR-FR-09 for the seller (BT-29) and the buyer (BT-46): the first SIRET (GlobalID under
    0009) has 14 digits and begins with the SIREN written as the legal registration id (0002);
    with a SIRET and no such SIREN, it fails."""
    if party is None:
        return []
    idents = france.identifiers(party)
    sirets = [(i, x) for i, x in enumerate(idents) if x.scheme == france.SIRET_SCHEME]
    if not sirets:
        return []
    index, siret = sirets[0]
    legal = france.legal_id(party)
    siren = legal.value if legal is not None and legal.scheme == france.SIREN_SCHEME else None
    value = siret.value
    if len(value) == 14 and value.isascii() and value.isdigit() and siren is not None and value[:9] == siren:
        return []
    where = f"{pointer}/identifiers/{index}" if index < len(party.identifiers) else f"{pointer}/siret"
    return [
        _fatal(
            f"BR-FR-09_{term}",
            f"BR-FR-09/{term} : Le SIRET doit contenir 14 chiffres et commencer par le SIREN.",
            where,
            term,
        )
    ]


def _document_findings(invoice: InvoiceInput, base: str) -> list[Finding]:
    """BR-FR-CO-05, -07 and -09 (part 3) as the CII Schematron tests them: from the type code
    (BT-3) whatever the document type, and with the due date (BT-9) that CII writes for
    credit notes too (`SpecifiedTradePaymentTerms/DueDateDateTime`)."""
    out: list[Finding] = []
    type_code = _type_code(invoice)
    # with no line, "every line refers to an invoice" holds
    if (
        type_code in CREDIT_TYPES
        and invoice.line_items
        and not any(r.number.strip() and r.issue_date is not None for r in invoice.preceding_invoices)
    ):
        out.append(
            _fatal(
                "BR-FR-CO-05_BT-3",
                "BR-FR-CO-05/BT-3 : Si le type de facture (BT-3) est un avoir (261, 381, 396, 502, 503), alors au"
                " moins une référence à une facture antérieure (BT-25) avec sa date (BT-26) doit être présente au"
                " niveau entête.",
                f"{base}/preceding_invoices",
                "BT-25",
            )
        )
    due, issued, mode = invoice.due_date, invoice.issue_date, invoice.billing_mode
    if (
        due is not None
        and issued is not None
        and type_code not in DEPOSIT_TYPES
        and mode not in PAID_MODES
        and due < issued
    ):
        out.append(
            _fatal(
                "BR-FR-CO-07_BT-9",
                "BR-FR-CO-07/BT-9 : La date d’échéance (BT-9), si présente, doit être postérieure ou égale à la date"
                " de facture (BT-2), sauf si la facture est de type acompte (386, 500, 503) ou si le cadre de"
                " facturation (BT-23) est B2, S2 ou M2.",
                f"{base}/due_date",
                "BT-9",
            )
        )
    if mode in PAID_MODES and due is None:
        out.append(
            _fatal(
                "BR-FR-CO-09_BT-23-3",
                "BR-FR-CO-09/BT-23 : Si le cadre de facturation est B2, S2 ou M2 (facture déjà payée), la date"
                " d’échéance (BT-9) doit être présente.",
                f"{base}/due_date",
                "BT-9",
            )
        )
    return out
