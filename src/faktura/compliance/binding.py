"""The EN 16931 findings as the syntax binding an invoice is issued in names them.

Faktura's rule sets follow the UBL binding of EN 16931. The CEN CII Schematron (1.3.16)
sometimes tests the same business rule in another context, or leaves a defect to another
rule: a CII invoice gets the ids its official Schematron gives. The table is per syntax,
one entry per UBL rule (and the pointers it applies to), each with the reason read off the
official CII rule's context and test. UBL findings pass unchanged. The CII differential test
(`tests/test_cii_differential.py`) holds the table to the official Schematron.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from faktura.compliance.findings import Finding
from faktura.compliance.france import cii as french_cii
from faktura.domain.invoice import InvoiceInput
from faktura.domain.syntax import CII

#: UNTDID 1001 codes of the CII BR-CL-01 test: invoice and credit note codes in one list
CII_TYPE_CODES = frozenset(
    {
        "71", "80", "81", "82", "83", "84", "102", "130", "202", "203", "204", "211", "218", "219",
        "261", "262", "295", "296", "308", "325", "326", "331", "380", "381", "382", "383", "384", "385",
        "386", "387", "388", "389", "390", "393", "394", "395", "396", "420", "456", "457", "458", "471",
        "472", "473", "500", "501", "502", "503", "527", "532", "553", "575", "623", "633", "751", "780",
        "817", "870", "875", "876", "877", "935",
    }
)  # fmt: skip


class Rebinding(NamedTuple):
    """A UBL rule id at the pointers matching `at` (relative to the request's base) is
    reported under the `ids` of the other binding (none: that binding does not test it),
    when `holds` (if any) holds for the invoice and the finding's relative pointer."""

    rule_id: str
    at: str
    ids: tuple[str, ...]
    reason: str
    holds: Callable[[InvoiceInput, str], bool] | None = None


def _type_code_in_cii_list(invoice: InvoiceInput, _: str) -> bool:
    return " ".join((invoice.type_code or "").split()) in CII_TYPE_CODES


def _category_at(invoice: InvoiceInput, where: str) -> str | None:
    """The VAT category of the line, allowance or charge that `where` points into."""
    parts = where.split("/")
    if len(parts) < 3 or parts[1] not in ("line_items", "allowances", "charges") or not parts[2].isdigit():
        return None
    items = getattr(invoice, parts[1])
    index = int(parts[2])
    category: str | None = getattr(items[index], "tax_category", None) if index < len(items) else None
    return category


def _igic_or_ipsi(invoice: InvoiceInput, where: str) -> bool:
    return _category_at(invoice, where) in ("L", "M")


def _only_shadowed_breakdowns(invoice: InvoiceInput, _: str) -> bool:
    """Every VAT breakdown, if any, is 'L', 'M' or 'O' (each line, allowance and charge names one)."""
    categories: list[str | None] = [li.tax_category for li in invoice.line_items]
    categories += [ac.tax_category for ac in (*invoice.allowances, *invoice.charges)]
    return all(c in ("L", "M", "O") for c in categories)


def _no_standard_rated_item(invoice: InvoiceInput, _: str) -> bool:
    categories: list[str | None] = [li.tax_category for li in invoice.line_items]
    categories += [ac.tax_category for ac in (*invoice.allowances, *invoice.charges)]
    return "S" not in categories


#: the categories of XRechnung's BR-DE-16 (a seller VAT or tax registration id, or a tax representative)
_DE_16_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "L", "M"})


def _no_taxed_line(invoice: InvoiceInput, _: str) -> bool:
    return not any(li.tax_category in _DE_16_CATEGORIES for li in invoice.line_items)


def _without_lines(invoice: InvoiceInput, _: str) -> bool:
    return not invoice.line_items


#: the CII breakdown rule of IGIC and IPSI has the context ApplicableTradeTax[CategoryCode='L'|'M'],
#: which in the pattern EN16931-CII-Model comes before the generic //ram:ApplicableHeaderTradeSettlement/
#: ram:ApplicableTradeTax: a Schematron node fires the first matching rule of a pattern only
_SHADOWED = (
    "CII context //ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax is shadowed for 'L' and 'M'"
    " breakdowns by the earlier ApplicableTradeTax[ram:CategoryCode = 'L'|'M'] rule of the same pattern."
)


CII_BINDING: tuple[Rebinding, ...] = (
    Rebinding(
        "BR-61",
        r"/payment_means/\d+/account",
        ("CII-SR-470",),
        "CII BR-61 has the context SpecifiedTradeSettlementPaymentMeans[TypeCode='30' or '58']/"
        "PayeePartyCreditorFinancialAccount: a missing account is CII-SR-470's (IBAN or ProprietaryID).",
    ),
    Rebinding(
        "BR-CL-17",
        r"/line_items/\d+/tax_category",
        (),
        "CII BR-CL-17 has the context ram:CategoryTradeTax/ram:CategoryCode (document allowances and"
        " charges); line and breakdown categories are ram:ApplicableTradeTax/ram:CategoryCode, BR-CL-18's.",
    ),
    Rebinding(
        "BR-CL-01",
        r"/type_code",
        (),
        "CII BR-CL-01 (context rsm:ExchangedDocument/ram:TypeCode) tests one list of invoice and credit"
        " note codes; UBL tests InvoiceTypeCode and CreditNoteTypeCode against a list each.",
        _type_code_in_cii_list,
    ),
    Rebinding("BR-48", r"/(line_items|allowances|charges)/\d+/.*", (), "BR-48: " + _SHADOWED, _igic_or_ipsi),
    Rebinding(
        "BR-CO-17", r"/(line_items|allowances|charges)/\d+/.*", (), "BR-CO-17: " + _SHADOWED, _igic_or_ipsi
    ),
    Rebinding(
        "BR-17",
        r"/payee(/.*)?",
        (),
        "CII BR-17 (context //ram:PayeeTradeParty) asks for a name and for name, ID and legal ID all unlike"
        " the seller's: checked natively by `compliance.cii.payee_findings`.",
    ),
    *(
        Rebinding(
            rule_id,
            r".*",
            (),
            f"CII {rule_id} tests any other category anywhere (ApplicableTradeTax for BR-O-12, CategoryTradeTax"
            " for BR-O-13/14) from the 'O' breakdown: checked natively by `compliance.cii.not_subject_findings`.",
        )
        for rule_id in ("BR-O-12", "BR-O-13", "BR-O-14")
    ),
    *(
        Rebinding(
            f"BR-{family}-08",
            r".*",
            (),
            f"CII BR-{family}-08 (context the header ApplicableTradeTax of the category) compares BasisAmount with"
            " the category's line nets + charges - allowances and asks for no invoice line (UBL's does); the"
            " breakdown Faktura computes is that sum.",
            _without_lines,
        )
        for family in ("AE", "E", "G", "IC", "O", "Z")
    ),
    Rebinding(
        "BR-S-01",
        r".*",
        (),
        "CII BR-S-01 (context /rsm:CrossIndustryInvoice) is `(count(line 'S') + count(breakdown 'S') >= 2 or"
        " not(line 'S')) and (count(CategoryTradeTax 'S') + count(breakdown 'S') >= 2 or not(CategoryTradeTax"
        " 'S'))`: an 'S' breakdown without an 'S' line, allowance or charge passes it.",
        _no_standard_rated_item,
    ),
    Rebinding(
        "BR-IC-11",
        r".*",
        (),
        "CII BR-IC-11 (context the header 'K' CategoryCode) asks for ActualDeliverySupplyChainEvent or a"
        " BillingSpecifiedPeriod start or end; UBL's invoice period counts BT-8 too: checked natively by"
        " `compliance.cii.intra_community_findings`.",
    ),
    Rebinding(
        "BR-CL-08",
        r"/notes/\d+",
        (),
        "CII BR-CL-08 has the context ram:SubjectCode; a note is written as ram:Content alone (its '#code#'"
        " prefix, UBL's convention, stays text), so no subject code is there to test.",
    ),
    Rebinding(
        "BR-DE-16",
        r".*",
        (),
        "XRechnung CII BR-DE-16 tests a document allowance or charge as `ram:CategoryTradeTax = 'VAT'`, the"
        " element's whole text, never 'VAT' once a category code is written: only line categories count.",
        _no_taxed_line,
    ),
    *(
        Rebinding(
            rule_id,
            r".*",
            (),
            f"XRechnung CII {rule_id} (context a {codes} SpecifiedTradeSettlementPaymentMeans) also refuses the"
            " document's DirectDebitMandateID and CreditorReferenceID: checked natively by"
            " `compliance.cii.payment_means_findings`.",
        )
        for rule_id, codes in (("BR-DE-23-b", "30/58"), ("BR-DE-24-b", "48/54/55"))
    ),
    Rebinding(
        "BR-CO-18",
        r".*",
        (),
        "CII BR-CO-18 has the context //ram:IncludedSupplyChainTradeLineItem: an invoice without lines"
        " (refused by BR-16) is not tested for a VAT breakdown.",
        _without_lines,
    ),
    Rebinding(
        "PEPPOL-EN16931-R053",
        r".*",
        (),
        "XRechnung CII R053 counts TaxTotalAmount in the document currency (at most one), which is written"
        " once; UBL's counts TaxTotals with subtotals, none without a breakdown.",
    ),
    Rebinding(
        "PEPPOL-EN16931-R054",
        r".*",
        (),
        "XRechnung CII R054 counts TaxTotalAmount in another currency against TaxCurrencyCode; UBL's counts"
        " a TaxTotal without a breakdown too: the CII test is run by `compliance.cii.cii_findings`.",
    ),
    Rebinding(
        "BR-CO-03",
        r".*",
        (),
        "BR-CO-03: CII context //ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax, shadowed for 'L',"
        " 'M' and 'O' breakdowns by the earlier ApplicableTradeTax[ram:CategoryCode = 'L'|'M'|'O'] rules of the"
        " same pattern: with no other breakdown, nothing runs the test.",
        _only_shadowed_breakdowns,
    ),
    Rebinding("BR-AF-09", r".*", (), "CII BR-AF-09 (IGIC breakdown tax amount) has the test true()."),
    Rebinding("BR-AG-09", r".*", (), "CII BR-AG-09 (IPSI breakdown tax amount) has the test true()."),
    Rebinding(
        "BR-AF-08",
        r".*",
        (),
        "CII BR-AF-08 tests `every $rate in ../ram:RateApplicablePercent` from the IGIC breakdown, i.e. the"
        " header settlement's rate, which does not exist: the test holds vacuously.",
    ),
    Rebinding(
        "BR-AG-08",
        r".*",
        (),
        "CII BR-AG-08 tests `every $rate in ../ram:RateApplicablePercent` from the IPSI breakdown, i.e. the"
        " header settlement's rate, which does not exist: the test holds vacuously.",
    ),
)

#: the French rules (BR-FR) under the ids of their CII Schematron (`compliance.france.cii`)
FRENCH_CII_BINDING = tuple(
    Rebinding(rule_id, r".*", (cii_id,), "the CII Schematron's id of the same test")
    for rule_id, cii_id in french_cii.RENAMED.items()
) + tuple(Rebinding(rule_id, r".*", (), reason) for rule_id, reason in french_cii.DROPPED.items())

BINDINGS: dict[str, tuple[Rebinding, ...]] = {CII: CII_BINDING + FRENCH_CII_BINDING}


def _applies(entry: Rebinding, finding: Finding, invoice: InvoiceInput, base: str) -> bool:
    """Pointers into the invoice are matched relative to `base`; others (`/tenant/...`) as they are."""
    where = finding.pointer[len(base) :] if finding.pointer.startswith(base + "/") else finding.pointer
    return (
        finding.rule_id == entry.rule_id
        and re.fullmatch(entry.at, where) is not None
        and (entry.holds is None or entry.holds(invoice, where))
    )


def rebind(
    findings: list[Finding], invoice: InvoiceInput, syntax: str, base: str = "/model"
) -> list[Finding]:
    """`findings` with the rule ids of `syntax`'s binding; the same list for UBL."""
    table = BINDINGS.get(syntax)
    if not table:
        return findings
    plain = [(f, next((e for e in table if _applies(e, f, invoice, base)), None)) for f in findings]
    seen = {(f.rule_id, f.pointer) for f, entry in plain if entry is None}
    out: list[Finding] = []
    for f, entry in plain:
        if entry is None:
            out.append(f)
            continue
        for rule_id in entry.ids:  # a defect the binding reports already is not reported twice
            if (rule_id, f.pointer) not in seen:
                seen.add((rule_id, f.pointer))
                out.append(msgspec.structs.replace(f, rule_id=rule_id))
    return out
