"""How long an issued invoice must be kept, by the seller's country.

Each period is the statutory minimum for keeping outgoing invoices (copies of issued
invoices / accounting vouchers), checked against the statute named next to it. Nearly all
of them run from the end of the calendar (= financial) year in which the invoice was
issued; we assume the financial year is the calendar year, which is the default in every
country listed. Where the accounting law and the tax law differ, the longer one wins.
Countries without an entry get `DEFAULT_YEARS`, the longest period below, so that an
unknown country is never kept too briefly. Deletion after `retention_until` is a decision
for the operator; Faktura never deletes archived objects itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    years: int
    #: Years between the end of the issue year and the start of the period (PL: the tax of
    #: a December invoice falls due in January, and the period runs from that year's end).
    start_offset: int
    basis: str


RULES: dict[str, Rule] = {
    # Abgabenordnung § 147 Abs. 1 Nr. 4, Abs. 3 (8 years for Buchungsbelege since the
    # Viertes Bürokratieentlastungsgesetz, BGBl. 2024 I Nr. 323, in force 1 Jan 2025;
    # before: 10), start at the end of the calendar year (§ 147 Abs. 4 AO); UStG § 14b Abs. 1.
    "DE": Rule(8, 0, "DE: AO § 147 Abs. 3, 4 and UStG § 14b Abs. 1 (8 years, BEG IV)"),
    # Code de commerce art. L123-22 al. 2 (10 years for accounting documents and vouchers);
    # the tax rule, Livre des procédures fiscales art. L102 B, asks only 6.
    "FR": Rule(10, 0, "FR: Code de commerce art. L123-22 (10 years); LPF art. L102 B (6)"),
    # Algemene wet inzake rijksbelastingen art. 52 lid 4 (7 years; 10 for immovable
    # property); Burgerlijk Wetboek 2:10 lid 3.
    "NL": Rule(7, 0, "NL: AWR art. 52 lid 4; BW 2:10 lid 3 (7 years)"),
    # Code de la TVA / WBTW art. 60 § 3, extended from 7 to 10 years by the law of
    # 20 November 2022 (for documents from 1 January 2023), counted from 1 January of the
    # year after the transaction.
    "BE": Rule(10, 0, "BE: Code TVA art. 60 § 3 (10 years, loi du 20.11.2022)"),
    # Codice civile art. 2220 (10 years for accounting records and invoices); DPR 600/1973
    # art. 22 and DPR 633/1972 art. 39 (until the tax assessment period ends).
    "IT": Rule(10, 0, "IT: Codice civile art. 2220; DPR 600/1973 art. 22 (10 years)"),
    # Código de Comercio art. 30 (6 years); Ley 58/2003 General Tributaria art. 66 and 70
    # (4-year limitation), so 6.
    "ES": Rule(6, 0, "ES: Código de Comercio art. 30 (6 years); LGT art. 66, 70"),
    # Bundesabgabenordnung § 132 Abs. 1 (7 years from the end of the calendar year);
    # UStG 1994 § 11 Abs. 2 (22 years only for documents on immovable property).
    "AT": Rule(7, 0, "AT: BAO § 132 Abs. 1; UStG 1994 § 11 Abs. 2 (7 years)"),
    # Ustawa o VAT art. 112 with Ordynacja podatkowa art. 70 § 1: until the tax liability
    # is time-barred, 5 years from the end of the year in which the tax fell due (for a
    # December invoice: the next year); ustawa o rachunkowości art. 74 ust. 2 pkt 4: 5.
    "PL": Rule(5, 1, "PL: ustawa o VAT art. 112; Ordynacja podatkowa art. 70 § 1 (5 years)"),
    # Bokföringslagen (1999:1078) 7 kap. 2 § (7 years after the end of the calendar year in
    # which the financial year ended).
    "SE": Rule(7, 0, "SE: Bokföringslagen (1999:1078) 7 kap. 2 § (7 years)"),
    # Bokføringsloven (LOV-2004-11-19-73) § 13 (primary documentation 5 years after the end
    # of the financial year, shortened from 10 in 2014).
    "NO": Rule(5, 0, "NO: Bokføringsloven § 13 (5 years)"),
    # Bogføringsloven (lov nr. 700 af 24/05/2022) § 12 (5 years from the end of the
    # financial year).
    "DK": Rule(5, 0, "DK: Bogføringsloven § 12 (5 years)"),
    # Kirjanpitolaki (1336/1997) 2 luku 10 § (vouchers 6 years from the end of the year in
    # which the financial year ended); Arvonlisäverolaki (1501/1993) 209 e § (6 years).
    "FI": Rule(6, 0, "FI: Kirjanpitolaki 2:10 §; Arvonlisäverolaki 209 e § (6 years)"),
}

DEFAULT_YEARS = 10
DEFAULT_RULE = Rule(DEFAULT_YEARS, 0, f"default: {DEFAULT_YEARS} years (no rule for this country)")


def retention_for(country: str, issue_date: dt.date) -> tuple[dt.date, str]:
    """(last day the artefact must be kept, legal basis) for a seller in `country`."""
    rule = RULES.get(country.upper(), DEFAULT_RULE)
    return dt.date(issue_date.year + rule.start_offset + rule.years, 12, 31), rule.basis
