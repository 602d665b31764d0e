"""The BR-FR asserts of the UBL Schematrons that Faktura does not evaluate natively, and why.

Every other assert id of the kit's UBL Schematron is a rule of `faktura.compliance.france`;
`tests/test_fr_coverage.py` checks that the two together are exactly the kit's ids, and
`scripts/gen_france_doc.py` writes the table of `docs/france.md` from them.
"""

from __future__ import annotations

NOT_WRITTEN = "Faktura's UBL never writes the element this rule's context needs"
LINE_REFERENCE = (
    "line-level invoice references (EXT-FR-FE-136..138) and line delivery (EXT-FR-FE-158) are"
    " EXTENDED-CTC-FR terms Faktura's model has no place for, so the context never occurs"
)
EXTRA_PARTY = (
    "agent, payer and service-provider parties (EXT-FR-FE-06..121) are EXTENDED-CTC-FR terms"
    " Faktura's model has no place for, so the context never occurs"
)
SUB_LINES = (
    "applies only to billing modes B8/S8/M8/B9/S9/M9, which Faktura refuses with FK-FR-UNSUPPORTED"
    " (their sub-lines EXT-FR-FE-163 have no place in the model)"
)
NUMBER = (
    "BT-1 is not request data: the series assigns it at issue, so it is checked there on the number"
    " itself (`france.documents.number_findings`): a French invoice whose series format makes a number"
    " of more than 35 characters or other characters than letters, digits, + - _ / is refused under this"
    " id, pointing at `series`, and the number returns to the series"
)
NOT_APPLICABLE: dict[str, str] = {
    "BR-FR-01_BT-1-1": NUMBER,
    "BR-FR-01_BT-1-2": NUMBER,
    "BR-FR-02_BT-1": NUMBER,
    "BR-FR-01_EXT-FR-FE-136-1": LINE_REFERENCE,
    "BR-FR-01_EXT-FR-FE-136-2": LINE_REFERENCE,
    "BR-FR-02_EXT-FR-FE-136": LINE_REFERENCE,
    "BR-FR-03_EXT-FR-FE-138": LINE_REFERENCE,
    "BR-FR-03_EXT-FR-FE-158": LINE_REFERENCE,
    "BR-FR-04_EXT-FR-FE-137": LINE_REFERENCE,
    "BR-FR-04_EXT-FR-FE-02": "the preceding invoice's type code (EXT-FR-FE-02) is not written",
    "BR-FR-09_EXT-FR-FE-06": EXTRA_PARTY,
    "BR-FR-09_EXT-FR-FE-46": EXTRA_PARTY,
    "BR-FR-09_EXT-FR-FE-69": EXTRA_PARTY,
    "BR-FR-09_EXT-FR-FE-92": EXTRA_PARTY,
    "BR-FR-09_EXT-FR-FE-115": EXTRA_PARTY,
    "BR-FR-09_EXT-FR-FE-146": LINE_REFERENCE + "; its context also looks for DeliveryLocation inside itself",
    "BR-FR-16_BT-103": "same context as BR-FR-16_BT-96 in the same pattern: Schematron fires only the first rule",
    "BR-FR-23_EXT-FR-FE-12": EXTRA_PARTY,
    "BR-FR-23_EXT-FR-FE-29": "the payee's electronic address (EXT-FR-FE-29) is not written",
    "BR-FR-23_EXT-FR-FE-52": EXTRA_PARTY,
    "BR-FR-23_EXT-FR-FE-75": EXTRA_PARTY,
    "BR-FR-23_EXT-FR-FE-98": EXTRA_PARTY,
    "BR-FR-23_EXT-FR-FE-121": EXTRA_PARTY,
    "BR-FR-25_EXT-FR-FE-12": EXTRA_PARTY,
    "BR-FR-25_EXT-FR-FE-29": "the payee's electronic address (EXT-FR-FE-29) is not written",
    "BR-FR-25_EXT-FR-FE-52": EXTRA_PARTY,
    "BR-FR-25_EXT-FR-FE-75": EXTRA_PARTY,
    "BR-FR-25_EXT-FR-FE-98": EXTRA_PARTY,
    "BR-FR-25_EXT-FR-FE-121": EXTRA_PARTY,
    "BR-FR-27_BG-32": "its context `ubl:Invoice/cac:Item/...` matches nothing (an Item sits in a line)",
    "BR-FR-27_BT-160": "its context `ubl:Invoice/cac:Item/...` matches nothing (an Item sits in a line)",
    "BR-FR-27_EXT-FR-FE-159": "its context `ubl:Invoice/cac:Item/...` matches nothing (an Item sits in a line)",
    "BR-FR-29_BT-18": "each AdditionalDocumentReference carries one ID, so AFL/AVV cannot repeat in one",
    "BR-FR-29_AFL": "a blank identifier is not written (the element is dropped), so it is never empty",
    "BR-FR-29_AVV": "a blank identifier is not written (the element is dropped), so it is never empty",
    "BR-FR-30_BT-128": "each line DocumentReference carries one ID, so AFL/AVV cannot repeat in one",
    "BR-FR-30_AFL": "a blank identifier is not written (the element is dropped), so it is never empty",
    "BR-FR-30_AVV": "a blank identifier is not written (the element is dropped), so it is never empty",
    "BR-FR-CO-10_EXT-FR-FE-06-1": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-06-2": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-46-1": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-46-2": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-69-1": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-69-2": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-92-1": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-92-2": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-115-1": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-115-2": EXTRA_PARTY,
    "BR-FR-CO-10_EXT-FR-FE-146-1": LINE_REFERENCE,
    "BR-FR-CO-10_EXT-FR-FE-146-2": LINE_REFERENCE,
    "BR-FR-CO-10_BT-71-2": "a DeliveryLocation carries one ID, so a scheme cannot repeat in it",
    "BR-FR-DEC-01_BT-111": "same context as BR-FR-DEC-01_BT-110 in the same pattern: only the first rule fires",
    **{
        rid: SUB_LINES
        for rid in (
            "BR-FR-MV-01_EXT-FR-FE-163",
            "BR-FR-MV-02_EXT-FR-FE-163",
            "BR-FR-BD-02_EXT-FR-FE-163",
            "BR-FR-BD-02_BT-30",
            "BR-FR-BD-02_BT-47",
            "BR-FR-MV-03_EXT-FR-FE-164",
            "BR-FR-MV-03_EXT-FR-FE-167",
            "BR-FR-MV-03_EXT-FR-FE-177",
            "BR-FR-MV-03_EXT-FR-FE-181",
            "BR-FR-MV-03_EXT-FR-FE-182",
            "BR-FR-MV-03_BT-128_AFL",
            "BR-FR-MV-03_BT-128_AVV",
            "BR-FR-MV-05_EXT-FR-FE-BG-12",
            "BR-FR-MV-06_EXT-FR-FE-167",
            "BR-FR-MV-07_BT-128",
            "BR-FR-MV-08_BT-128",
            "BR-FR-MV-09_EXT-FR-FE-181",
            "BR-FR-MV-10_EXT-FR-FE-184",
            "BR-FR-MV-11_BT-128",
            "BR-FR-MV-12_BT-128",
            "BR-FR-MV-13_BT-3",
            "BR-FR-MV-BD_BT-3",
            "BR-FR-MV-14-EXT-FR-FE-136",
            "BR-FR-MV-14-EXT-FR-FE-138",
            "BR-FR-BD-14-EXT-FR-FE-136",
            "BR-FR-BD-14-EXT-FR-FE-138",
        )
    },
}

RELAXED = (
    "EXTENDED-CTC-FR's relaxed form of the EN 16931 rule of the same number (it admits GROUP/INFORMATION"
    " sub-lines); Faktura writes no sub-lines, so the EN 16931 form, checked natively, is the stricter test"
)
SUB_LINE_TYPE = (
    "concerns the line subtype (EXT-FR-FE-163) and parent lines (EXT-FR-FE-162): Faktura writes neither,"
    " so every line is a plain DETAIL line and the EN 16931 line rules apply natively"
)

#: EXTENDED-CTC-FR's Schematron replaces EN 16931's (same ids where unchanged: those are the
#: `en16931` rule set's); what it adds or relaxes, by id
NOT_APPLICABLE_EXTENDED: dict[str, str] = {
    "BR-CO-25": "the EN 16931 rule BR-CO-25 as written in EXTENDED; evaluated by the en16931 rule set",
    **{
        rid: RELAXED
        for rid in (
            "BR-FREXT-22",
            "BR-FREXT-23",
            "BR-FREXT-24",
            "BR-FREXT-26",
            "BR-FREXT-CO-04",
            "BR-FREXT-CO-10",
            "BR-FREXT-CO-11",
            "BR-FREXT-CO-12",
            "BR-FREXT-CO-13",
            "BR-FREXT-CO-15",
            "BR-FREXT-54-1",
            "BR-FREXT-54-2",
            "UBL-FREXT-SR-48",
            *(
                f"BR-FREXT-{cat}-{n}"
                for cat in ("S", "Z", "E", "AE", "IC", "G", "O", "AF", "AG")
                for n in ("01", "08", "08ini", "08rev")
            ),
            "BR-FREXT-S-09",
        )
    },
    **{
        rid: SUB_LINE_TYPE
        for rid in ("BR-FREXT-05", "BR-FREXT-06", "BR-FREXT-08", "BR-FREXT-11", "BR-FREXT-12")
    },
    "BR-FREXT-04": "item attribute codes (EXT-FR-FE-159) are not written: attributes carry a name",
    "BR-FREXT-CL-10": (
        "EXTENDED's BR-CL-10 (ICD list plus BY and SE): the en16931 rule set checks the stricter ICD list"
    ),
    "BR-FREXT-CL-20": "EXTENDED's BR-CL-20 (charge reason codes): the en16931 rule set checks BR-CL-20",
    "BR-FREXT-CL-20-TAX": "charge reason codes from UNCL 5153 are an EXTENDED addition Faktura does not write",
    "BR-FREXT-CL-20-LISTID": "no listID is written on charge reason codes",
    "BR-FREXT-CL-24": "EXTENDED's BR-CL-24 (MIME codes): the en16931 rule set checks BR-CL-24",
    "BR-FREXT-CL-27": "delivery terms (INCOTERMS) are not written",
    "UBL-FREXT-CR-410": "warning: delivery terms are not written",
    "UBL-FREXT-CR-645": "warning: line delivery terms are not written",
    "CII-FREXT-CR-490": "warning: a CII element, never in UBL",
}
