"""CDAR life-cycle status messages of the French e-invoicing reform (XP Z12-012, FNFE-MPE 1.4.0.03).

A French life-cycle status ("CDV") travels as a UN/CEFACT Cross Domain Acknowledgement and
Response D22B message that refers to one invoice: who set the status (issuer, MDG-10), to whom
it goes (recipients, MDG-15), the status code 200–601 (MDT-105), reasons and amounts (MDG-37).
`parse_cdar` reads one into a `StatusMessage` and refuses it with `CdarError` when it breaks the
French rules; `build_cdar` writes one and refuses to write what would break them.

The rules are the official BR-FR-CDV Schematron of release 1.4.0.03 (`fr-cdar-1.4.0.03`),
implemented natively with its assert ids, including its quirks (several asserts can never fire,
`!=` is XPath's "some value differs"), so that the native verdict equals the official one; a
few `FK-CDAR-*` findings add what Faktura itself needs to file a status (an invoice number, a
creation time, one invoice per message) and the schema shape the XSD would catch.

Time zone: CDAR date-times (format 204, `CCYYMMDDHHMMSS`) carry no offset; the French life
cycle means French legal time, so they are read and written as Europe/Paris wall-clock time
(an ambiguous autumn hour reads as its first, summer-time occurrence). Dates (format 102) are
calendar dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from lxml import etree

from faktura.compliance.findings import Finding, Severity

RSM = "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

#: the French legal time every CDAR date-time is written in
PARIS = ZoneInfo("Europe/Paris")
#: MDT-3 between platforms (and towards issuers and recipients)
GUIDELINE_INVOICE = "urn.cpro.gouv.fr:1p0:CDV:invoice"
#: MDT-3 of a message addressed to the tax administration's platform (PPF) alone
GUIDELINE_PPF = "urn.cpro.gouv.fr:1p0:CDV:einvoicingF2"
#: MDT-77: the transmission phase (platforms) and the processing phase (issuer, recipient)
TRANSMISSION = "305"
PROCESSING = "23"
#: the scheme of a SIREN in MDT-38/57/129, as the official examples write it
SIREN_SCHEME = "0002"
#: the scheme of the platforms' and the PPF's own ids; the PPF is 0000 since release 1.4.0
PLATFORM_SCHEME = "0238"
PPF_ID = "0000"
#: the scheme of French electronic addresses (SIREN[_SIRET[_routing code]])
ADDRESS_SCHEME = "0225"

Sender = Literal[
    "issuer platform", "recipient platform", "issuer or recipient platform", "buyer", "seller", "recipient"
]
TaxAdministration = Literal["yes", "no", "when VAT is due on receipt"]


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """One life-cycle status code as XP Z12-012 / XP Z12-014 (release 1.4) describe it."""

    code: int
    french: str
    english: str
    phase: str
    sent_by: Sender
    tax_administration: TaxAdministration = "no"
    #: MDT-88, the UN/CEFACT document status the official examples pair with the code (None: left out)
    document_status: str | None = None
    #: BR-FR-CDV-15: a reason (MDT-113) is required
    reason_required: bool = False
    #: BR-FR-CDV-CL-09: the reasons allowed with this status (None: any reason of the list)
    reasons: frozenset[str] | None = None


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: BR-FR-CDV-CL-09, the closed list of reasons (MDT-113)
REASON_CODES = _codes(
    "RETRAIT_MAN_SERV ST_CT_NON_DECLAR SUPPR_COMP_AVOIR TRANSF_PMNT_REGIE CONTACT_ACHTR NON_TRANSMISE"
    " JUSTIF_ABS ROUTAGE_ERR AUTRE COORD_BANC_ERR TX_TVA_ERR MONTANTTOTAL_ERR CALCUL_ERR NON_CONFORME"
    " DOUBLON DEST_INC DEST_ERR TRANSAC_INC EMMET_INC CONTRAT_TERM DOUBLE_FACT CMD_ERR ADR_ERR SIRET_ERR"
    " CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR PU_ERR REM_ERR QTE_ERR ART_ERR MODPAI_ERR QUALITE_ERR"
    " LIVR_INCOMP REJ_SEMAN REJ_UNI REJ_COH REJ_ADR REJ_CONT_B2G REJ_REF_PJ REJ_ASS_PJ IRR_VIDE_F"
    " IRR_TYPE_F IRR_SYNTAX IRR_TAILLE_PJ IRR_NOM_PJ IRR_VID_PJ IRR_EXT_DOC IRR_TAILLE_F IRR_ANTIVIRUS"
    " IRR_NOM_F"
)
#: BR-FR-CDV-CL-09, reasons per status (assert ids `BR-FR-CDV-CL-09_MDT-113_<code>`)
STATUS_REASONS: dict[str, frozenset[str]] = {
    "200": _codes("NON_TRANSMISE"),
    "213": _codes(
        "MONTANTTOTAL_ERR CALCUL_ERR DOUBLON DEST_INC ADR_ERR REJ_SEMAN REJ_UNI REJ_COH REJ_ADR"
        " REJ_CONT_B2G REJ_REF_PJ REJ_ASS_PJ"
    ),
    "210": _codes(
        "TX_TVA_ERR MONTANTTOTAL_ERR CALCUL_ERR NON_CONFORME DOUBLON DEST_ERR TRANSAC_INC EMMET_INC"
        " CONTRAT_TERM DOUBLE_FACT CMD_ERR ADR_ERR REF_CT_ABSENT"
    ),
    "207": _codes(
        "AUTRE COORD_BANC_ERR TX_TVA_ERR MONTANTTOTAL_ERR CALCUL_ERR NON_CONFORME DOUBLON DEST_INC DEST_ERR"
        " TRANSAC_INC EMMET_INC CONTRAT_TERM DOUBLE_FACT CMD_ERR ADR_ERR SIRET_ERR CODE_ROUTAGE_ERR"
        " REF_CT_ABSENT REF_ERR PU_ERR REM_ERR QTE_ERR ART_ERR MODPAI_ERR QUALITE_ERR LIVR_INCOMP"
    ),
    "206": _codes(
        "AUTRE CMD_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR PU_ERR REM_ERR QTE_ERR ART_ERR"
        " MODPAI_ERR QUALITE_ERR LIVR_INCOMP"
    ),
    "208": _codes("JUSTIF_ABS COORD_BANC_ERR CMD_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR"),
    "221": _codes("ROUTAGE_ERR"),
    "501": _codes(
        "IRR_VIDE_F IRR_TYPE_F IRR_SYNTAX IRR_TAILLE_PJ IRR_NOM_PJ IRR_VID_PJ IRR_EXT_DOC IRR_TAILLE_F"
        " IRR_ANTIVIRUS IRR_NOM_F"
    ),
}
#: BR-FR-CDV-CL-09_MDT-113_210B2G: refusal reasons when the sender is the public sector's platform
B2G_REFUSAL_REASONS = STATUS_REASONS["210"] | _codes(
    "RETRAIT_MAN_SERV ST_CT_NON_DECLAR SUPPR_COMP_AVOIR TRANSF_PMNT_REGIE AUTRE COORD_BANC_ERR LIVR_INCOMP"
)
#: BR-FR-CDV-15: statuses that need a reason
REASON_REQUIRED = _codes("210 213 501 207 206 208")
#: BR-FR-CDV-CL-06 (a warning): the status codes of the release
STATUS_CODES = _codes(
    "200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 220 221 224 225 226 227 228 250 251 300 301 400 401 500 501 601"
)
#: BR-FR-CDV-CL-10: requested actions (MDT-121)
ACTION_CODES = _codes("NOA PIN NIN CNF CNP CNA OTH")
#: BR-FR-CDV-CL-11: kinds of data in a status detail (MDT-207); MEN = amount cashed, MPA = amount paid
CHARACTERISTIC_TYPES = _codes("MEN MPA RAP ESC RAB REM MAP MAPTTC MNA MNATTC CBB DIV DVA MAJ")
#: BR-FR-04: the referenced document's type (MDT-91)
DOCUMENT_TYPES = _codes("380 389 393 501 386 500 384 471 472 473 261 262 381 396 502 503")
#: BR-FR-CDV-CL-01: business process (MDT-2)
BUSINESS_PROCESSES = _codes("REGULATED NON_REGULATED B2C B2CINT B2BINT OUTOFSCOPE")
#: BR-FR-CDV-CL-02/03/04/08: party roles
PARTY_ROLES = _codes("BY AB DL SE SR PE PR II IV")
#: BR-FR-CDV-CL-05: MDT-88 per phase
PHASE_DOCUMENT_STATUSES = {
    TRANSMISSION: _codes("10 51 43 8 48"),
    PROCESSING: _codes("45 39 37 50 49 47 46 1 5"),
}


def _status(code: int, french: str, english: str, phase: str, sent_by: Sender, **kw: object) -> Status:
    key = str(code)
    return Status(
        code=code,
        french=french,
        english=english,
        phase=phase,
        sent_by=sent_by,
        reason_required=key in REASON_REQUIRED,
        reasons=STATUS_REASONS.get(key),
        **kw,  # type: ignore[arg-type]
    )


#: every status with a published name in release 1.4; the other codes of BR-FR-CDV-CL-06
#: (250, 251, 300, 301, 400, 401, 500, 601) are read but never written
STATUSES: dict[int, Status] = {
    s.code: s
    for s in (
        _status(
            200,
            "Déposée",
            "Submitted",
            TRANSMISSION,
            "issuer platform",
            tax_administration="yes",
            document_status="10",
        ),
        _status(201, "Émise par la plateforme", "Issued by the platform", TRANSMISSION, "issuer platform"),
        _status(
            202,
            "Reçue par la plateforme",
            "Received by the platform",
            TRANSMISSION,
            "recipient platform",
            document_status="43",
        ),
        _status(
            203,
            "Mise à disposition",
            "Made available",
            TRANSMISSION,
            "recipient platform",
            document_status="48",
        ),
        _status(204, "Prise en charge", "Taken over", PROCESSING, "buyer", document_status="45"),
        _status(205, "Approuvée", "Approved", PROCESSING, "buyer", document_status="1"),
        _status(206, "Approuvée partiellement", "Partially approved", PROCESSING, "buyer"),
        _status(207, "En litige", "Disputed", PROCESSING, "buyer", document_status="46"),
        _status(208, "Suspendue", "Suspended", PROCESSING, "buyer"),
        _status(209, "Complétée", "Completed", PROCESSING, "seller"),
        _status(210, "Refusée", "Refused", PROCESSING, "buyer", tax_administration="yes"),
        _status(211, "Paiement transmis", "Payment sent", PROCESSING, "buyer", document_status="47"),
        _status(
            212,
            "Encaissée",
            "Cashed (payment received)",
            PROCESSING,
            "seller",
            tax_administration="when VAT is due on receipt",
            document_status="47",
        ),
        _status(
            213, "Rejetée", "Rejected", TRANSMISSION, "issuer or recipient platform", tax_administration="yes"
        ),
        _status(214, "Visée", "Endorsed", PROCESSING, "buyer"),
        _status(220, "Annulée", "Cancelled", PROCESSING, "seller"),
        _status(221, "Erreur de routage", "Routing error", PROCESSING, "recipient"),
        _status(224, "Demande de paiement direct", "Direct payment requested", PROCESSING, "seller"),
        _status(225, "Affacturée", "Factored", PROCESSING, "seller"),
        _status(226, "Affacturée confidentiel", "Factored (confidential)", PROCESSING, "seller"),
        _status(227, "Changement de compte à payer", "Change of the account to pay", PROCESSING, "seller"),
        _status(228, "Non affacturée", "Not factored", PROCESSING, "seller"),
        _status(501, "Irrecevable", "Inadmissible", TRANSMISSION, "issuer or recipient platform"),
    )
}
#: the statuses the issuer (the seller, for whom Faktura acts) sets and Faktura writes
ISSUER_CODES: tuple[int, ...] = tuple(s.code for s in STATUSES.values() if s.sent_by == "seller")


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """A party of the message (MDG-9/10/15) or the referenced invoice's seller (MDG-39)."""

    role: str | None = None  # MDT-21/40/59: SE seller, BY buyer, WK platform, DFH tax administration
    id: str | None = None  # MDT-38/57 GlobalID: a SIREN under 0002, a platform id under 0238
    scheme: str | None = None
    name: str | None = None
    address: str | None = None  # MDT-73: electronic address
    address_scheme: str | None = None


class Characteristic(msgspec.Struct, frozen=True, kw_only=True):
    """A datum a status reports or expects (MDG-43): an amount cashed, a wrong VAT rate, ..."""

    type_code: str  # MDT-207: MEN cashed, MPA paid, DIV wrong value, DVA expected value, ...
    changed: bool | None = None  # MDT-209
    id: str | None = None  # MDT-206: the business term, e.g. BT-152
    name: str | None = None
    location: str | None = None  # MDT-213: XPath of the datum in the invoice
    amount: Decimal | None = None  # MDT-215
    currency: str | None = None
    percent: Decimal | None = None  # MDT-224: the VAT rate of an amount cashed
    date: dt.date | None = None


class StatusDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One status detail (MDG-37): a reason, a requested action, the data it is about."""

    sequence: int = 1  # MDT-124-2
    reason_code: str | None = None  # MDT-113
    reason: str | None = None
    action_code: str | None = None  # MDT-121
    action: str | None = None
    characteristics: tuple[Characteristic, ...] = ()


class InvoiceReference(msgspec.Struct, frozen=True, kw_only=True):
    """The invoice the status is about (MDG-32)."""

    number: str  # MDT-87 (BT-1)
    issue_date: dt.date | None = None  # MDT-100 (BT-2); only an inadmissible (501) flow lacks it
    type_code: str = "380"  # MDT-91 (BT-3)
    seller_id: str | None = None  # MDT-129, the seller's SIREN (BT-30)
    seller_scheme: str | None = SIREN_SCHEME
    received_at: dt.datetime | None = None  # MDT-95


class StatusMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One CDAR life-cycle message: one status of one invoice."""

    id: str  # MDT-4
    issued_at: dt.datetime  # MDT-8: when the message was made (Europe/Paris)
    status_code: int  # MDT-105
    invoice: InvoiceReference
    issuer: Party  # MDG-10: who set the status
    recipients: tuple[Party, ...]  # MDG-15
    sender: Party = Party(role="WK")  # MDG-9: a platform (anonymous between platforms)
    status_at: dt.datetime | None = None  # MDT-78: when the status was set
    status_label: str | None = None  # MDT-106
    phase: str | None = None  # MDT-77; None: the code's own phase
    document_status: str | None = None  # MDT-88; None: the code's usual one, if any
    name: str | None = None  # MDT-5
    business_process: str = "REGULATED"  # MDT-2
    guideline: str = GUIDELINE_INVOICE  # MDT-3
    details: tuple[StatusDetail, ...] = ()

    @property
    def status(self) -> Status | None:
        return STATUSES.get(self.status_code)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(d.reason_code for d in self.details if d.reason_code)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(d.reason.strip() for d in self.details if d.reason and d.reason.strip())

    @property
    def amounts(self) -> tuple[Characteristic, ...]:
        """The amounts the status carries (cashed, paid, ...), in document order."""
        return tuple(c for d in self.details for c in d.characteristics if c.amount is not None)


class CdarError(ValueError):
    """A CDAR message that breaks the French rules or cannot be read; `findings` says where."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        first = "; ".join(f"{f.rule_id}: {f.detail}" for f in self.findings[:3])
        more = f" (+{len(self.findings) - 3} more)" if len(self.findings) > 3 else ""
        super().__init__(f"invalid CDAR status message: {first}{more}")


# --- date-times -------------------------------------------------------------------------------


def paris_time(value: dt.datetime) -> dt.datetime:
    """`value` as Europe/Paris wall-clock time, to the second; a naive value is refused, since a
    CDAR date-time without its zone would silently shift by one or two hours."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a CDAR date-time needs a time zone: {value.isoformat()}")
    return value.astimezone(PARIS).replace(microsecond=0)


def _write_datetime(value: dt.datetime) -> str:
    return paris_time(value).strftime("%Y%m%d%H%M%S")


def _read_datetime(text: str) -> dt.datetime:
    if not re.fullmatch(r"\d{14}", text):
        raise ValueError(f"expected CCYYMMDDHHMMSS (format 204), got {text!r}")
    return dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=PARIS)


def _read_date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"expected CCYYMMDD (format 102), got {text!r}")
    return dt.datetime.strptime(text, "%Y%m%d").date()


# --- the rules -------------------------------------------------------------------------------

#: rule id -> (business term, what is wrong); `{value}` is the offending value. The assert ids
#: are the official Schematron's; `FK-CDAR-*` are Faktura's.
RULES: dict[str, tuple[str | None, str]] = {
    "BR-FR-04_MDT-91": ("MDT-91", "document type {value!r} is not allowed in France"),
    "BR-FR-CDV-02_MDT-3": (
        "MDT-3",
        f"MDT-3 must be {GUIDELINE_INVOICE}, or {GUIDELINE_PPF} for a message to the PPF alone",
    ),
    "BR-FR-CDV-03_MDT-4": ("MDT-4", "the message id (MDT-4) is required"),
    "BR-FR-CDV-07_MDT-38_yes": ("MDT-38", "a processing status (23) names who set it: MDT-38 is required"),
    "BR-FR-CDV-08_MDT-73": ("MDT-73", "a recipient other than WK or DFH needs its electronic address"),
    "BR-FR-CDV-09_MDT-77": ("MDT-77", "MDT-77 must be 23 or 305, not {value!r}"),
    "BR-FR-CDV-11_MDG-35": ("MDT-100", "the invoice date (MDT-100) is required unless the status is 501"),
    "BR-FR-CDV-12_MDT-105": ("MDT-105", "the status code (MDT-105) is required"),
    "BR-FR-CDV-13_MDT-129": ("MDT-129", "the seller's id (MDT-129) is required unless the status is 501"),
    "BR-FR-CDV-14_MDT-207": ("MDT-207", "a cashed status (212) has MEN amounts, each with its VAT rate"),
    "BR-FR-CDV-15_MDT-113": ("MDT-113", "status {value} needs a reason (MDT-113)"),
    "BR-FR-CDV-16_MDT-124-2": ("MDT-124-2", "a status detail needs its sequence number (MDT-124-2)"),
    "BR-FR-CDV-CL-01_MDT-2": ("MDT-2", "MDT-2 {value!r} is not allowed (at most 3 characters to the PPF)"),
    "BR-FR-CDV-CL-02_MDT-21_305": ("MDT-21", "a transmission status (305) is sent by a platform (WK)"),
    "BR-FR-CDV-CL-02_MDT-21_23": ("MDT-21", "sender role {value!r} is not allowed for a processing status"),
    "BR-FR-CDV-CL-03_MDT-40_305": ("MDT-40", "a transmission status (305) is set by a platform (WK)"),
    "BR-FR-CDV-CL-03_MDT-40_23": ("MDT-40", "issuer role {value!r} is not allowed for a processing status"),
    "BR-FR-CDV-CL-04_MDT-59": ("MDT-59", "recipient role {value!r} is not allowed"),
    "BR-FR-CDV-CL-05_MDT-88_305": ("MDT-88", "MDT-88 {value!r} is not one of 10 51 43 8 48 (phase 305)"),
    "BR-FR-CDV-CL-05_MDT-88_23": (
        "MDT-88",
        "MDT-88 {value!r} is not one of 45 39 37 50 49 47 46 1 5 (phase 23)",
    ),
    "BR-FR-CDV-CL-06_MDT-105": ("MDT-105", "status code {value!r} is not in the published list"),
    "BR-FR-CDV-CL-06_MDT-115": ("MDT-115", "status code {value!r} is not in the published list"),
    "BR-FR-CDV-CL-07_MDT-132": ("MDT-132", "the invoice's issuer role must be SE, not {value!r}"),
    "BR-FR-CDV-CL-08_MDT-158": ("MDT-158", "role {value!r} is not allowed"),
    "BR-FR-CDV-CL-09_MDT-113": ("MDT-113", "reason {value!r} is not in the published list"),
    "BR-FR-CDV-CL-09_MDT-113_status": ("MDT-113", "reason {value!r} is not allowed with this status"),
    "BR-FR-CDV-CL-10_MDT-121": ("MDT-121", "requested action {value!r} is not in the published list"),
    "BR-FR-CDV-CL-11_MDT-207": ("MDT-207", "data type {value!r} is not in the published list"),
    "FK-CDAR-REQUIRED": (None, "{value} is required"),
    "FK-CDAR-MULTI": (
        "MDT-74",
        "one message refers to one invoice; multi-document messages are not supported",
    ),
    "FK-CDAR-SYNTAX": (None, "{value}"),
}
#: BR-FR-CDV-CL-06 is a warning in release 1.4.0.03 (codes may be added by bilateral agreement)
WARNINGS = frozenset({"BR-FR-CDV-CL-06_MDT-105", "BR-FR-CDV-CL-06_MDT-115"})


def _q(prefix: str, name: str) -> str:
    return f"{{{NSMAP[prefix]}}}{name}"


def _value(el: etree._Element) -> str:
    """The XPath string value (whitespace kept, as the Schematron compares it)."""
    return "".join(el.itertext())


def _values(nodes: Iterable[etree._Element]) -> list[str]:
    return [_value(n) for n in nodes]


def _location(el: etree._Element) -> str:
    steps = []
    node: etree._Element | None = el
    while node is not None:
        qname = etree.QName(node)
        prefix = next((p for p, uri in NSMAP.items() if uri == qname.namespace), "")
        parent = node.getparent()
        same = [s for s in parent if s.tag == node.tag] if parent is not None else [node]
        index = f"[{same.index(node) + 1}]" if len(same) > 1 else ""
        steps.append(f"{prefix}:{qname.localname}{index}" if prefix else qname.localname)
        node = parent
    return "/" + "/".join(reversed(steps))


def _finding(rule_id: str, el: etree._Element, value: object = None) -> Finding:
    term, text = RULES.get(rule_id) or RULES[rule_id.rsplit("_", 1)[0] + "_status"]
    warning = rule_id in WARNINGS
    return Finding(
        rule_id=rule_id,
        severity=Severity.WARNING if warning else Severity.FATAL,
        title="CDAR status message warning" if warning else "Invalid CDAR status message",
        detail=text.format(value=_value(el) if value is None else value),
        pointer=_location(el),
        business_term=term,
    )


def _x(el: etree._Element, path: str) -> list[etree._Element]:
    return el.xpath(path, namespaces=NSMAP)  # type: ignore[no-any-return]


def _eq(values: Sequence[str], *targets: str) -> bool:
    """XPath `nodes = (targets)`: some value equals some target."""
    return any(v in targets for v in values)


def _ne(values: Sequence[str], target: str) -> bool:
    """XPath `nodes != target`: some value differs (false when there is none)."""
    return any(v != target for v in values)


def _not_in(
    out: list[Finding], rule_id: str, nodes: Iterable[etree._Element], allowed: Iterable[str]
) -> None:
    """A closed-list rule: every node's value must be one of `allowed`."""
    allowed = frozenset(allowed)
    out += [_finding(rule_id, n) for n in nodes if _value(n) not in allowed]


def cdar_findings(root: etree._Element) -> list[Finding]:
    """Every finding of the BR-FR-CDV rules of release 1.4.0.03 (plus Faktura's `FK-CDAR-*`) on a
    CDAR tree. Asserts that can never fire in the official Schematron (BR-FR-CDV-01, 04, 05,
    06, 07_MDT-38_no, 10: they test the context node itself) have no native counterpart."""
    if root.tag != _q("rsm", "CrossDomainAcknowledgementAndResponse"):
        return [_finding("FK-CDAR-SYNTAX", root, f"the root element {root.tag} is not a CDAR message")]
    out = _shape(root)
    ack_types = _values(_x(root, "rsm:AcknowledgementDocument/ram:TypeCode"))
    for ctx in _x(root, "rsm:ExchangedDocumentContext"):
        recipients = _x(root, "rsm:ExchangedDocument/ram:RecipientTradeParty")
        global_ids = [g for r in recipients for g in _x(r, "ram:GlobalID")]
        to_ppf = (
            len(global_ids) == 1
            and _eq([_value(g) for g in global_ids if g.get("schemeID") == PLATFORM_SCHEME], PPF_ID)
            and _eq(_values(r for p in recipients for r in _x(p, "ram:RoleCode")), "DFH")
        )
        guideline = _values(_x(ctx, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"))
        if not (_eq(guideline, GUIDELINE_INVOICE) or (_eq(guideline, GUIDELINE_PPF) and to_ppf)):
            out.append(_finding("BR-FR-CDV-02_MDT-3", ctx))
        process = _values(_x(ctx, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"))
        short = len(" ".join("".join(process).split())) <= 3
        if not ((not to_ppf and _eq(process, *BUSINESS_PROCESSES)) or (to_ppf and short)):
            out.append(_finding("BR-FR-CDV-CL-01_MDT-2", ctx, "".join(process)))
    for doc in _x(root, "rsm:ExchangedDocument"):
        out += _header_findings(doc, ack_types)
    _not_in(
        out,
        "BR-FR-CDV-09_MDT-77",
        _x(root, "rsm:AcknowledgementDocument/ram:TypeCode"),
        (PROCESSING, TRANSMISSION),
    )
    for ref in _x(root, "rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument"):
        out += _reference_findings(ref, root)
    return out


def _header_findings(doc: etree._Element, ack_types: list[str]) -> list[Finding]:
    out = []
    if not _x(doc, "ram:ID"):
        out.append(_finding("BR-FR-CDV-03_MDT-4", doc))
    sender_roles = _values(_x(doc, "ram:SenderTradeParty/ram:RoleCode"))
    issuer_roles = _values(_x(doc, "ram:IssuerTradeParty/ram:RoleCode"))
    for rule, roles, processing_roles in (
        ("BR-FR-CDV-CL-02_MDT-21", sender_roles, (*PARTY_ROLES, "WK")),
        ("BR-FR-CDV-CL-03_MDT-40", issuer_roles, tuple(PARTY_ROLES)),
    ):
        if _eq(ack_types, TRANSMISSION) and not _eq(roles, "WK"):
            out.append(_finding(f"{rule}_305", doc, " ".join(roles)))
        if _eq(ack_types, PROCESSING) and not _eq(roles, *processing_roles):
            out.append(_finding(f"{rule}_23", doc, " ".join(roles)))
    for issuer in _x(doc, "ram:IssuerTradeParty"):
        if not (_ne(ack_types, PROCESSING) or _x(issuer, "ram:GlobalID")):
            out.append(_finding("BR-FR-CDV-07_MDT-38_yes", issuer))
    for recipient in _x(doc, "ram:RecipientTradeParty"):
        roles = _values(_x(recipient, "ram:RoleCode"))
        if not (_eq(roles, "WK", "DFH") or _x(recipient, "ram:URIUniversalCommunication/ram:URIID")):
            out.append(_finding("BR-FR-CDV-08_MDT-73", recipient))
        _not_in(out, "BR-FR-CDV-CL-04_MDT-59", _x(recipient, "ram:RoleCode"), PARTY_ROLES | {"WK", "DFH"})
    return out


def _reference_findings(ref: etree._Element, root: etree._Element) -> list[Finding]:
    out: list[Finding] = []
    all_conditions = _values(
        _x(root, "rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument/ram:ProcessConditionCode")
    )
    conditions = _values(_x(ref, "ram:ProcessConditionCode"))
    _not_in(out, "BR-FR-04_MDT-91", _x(ref, "ram:TypeCode"), DOCUMENT_TYPES)
    if not (_x(ref, "ram:FormattedIssueDateTime") or _eq(all_conditions, "501")):
        out.append(_finding("BR-FR-CDV-11_MDG-35", ref))
    if not conditions:
        out.append(_finding("BR-FR-CDV-12_MDT-105", ref))
    for issuer in _x(ref, "ram:IssuerTradeParty"):
        if not (_x(issuer, "ram:GlobalID") or _eq(all_conditions, "501")):
            out.append(_finding("BR-FR-CDV-13_MDT-129", issuer))
    if _eq(conditions, "212"):
        cashed = _x(
            ref, "ram:SpecifiedDocumentStatus/ram:SpecifiedDocumentCharacteristic[ram:TypeCode = 'MEN']"
        )
        if not cashed or any(not (_x(c, "ram:ValueAmount") and _x(c, "ram:ValuePercent")) for c in cashed):
            out.append(_finding("BR-FR-CDV-14_MDT-207", ref))
    for code in _x(ref, "ram:ProcessConditionCode"):
        if _value(code) in REASON_REQUIRED and not _x(ref, "ram:SpecifiedDocumentStatus/ram:ReasonCode"):
            out.append(_finding("BR-FR-CDV-15_MDT-113", code))
    _not_in(out, "BR-FR-CDV-CL-06_MDT-105", _x(ref, "ram:ProcessConditionCode"), STATUS_CODES)
    _not_in(
        out,
        "BR-FR-CDV-CL-06_MDT-115",
        _x(ref, "ram:SpecifiedDocumentStatus/ram:ProcessConditionCode"),
        STATUS_CODES,
    )
    ack_types = _values(_x(ref, "../ram:TypeCode"))
    statuses = _values(_x(ref, "ram:StatusCode"))
    for phase, allowed in PHASE_DOCUMENT_STATUSES.items():
        if not (_ne(ack_types, phase) or not statuses or _eq(statuses, *allowed)):
            out.append(_finding(f"BR-FR-CDV-CL-05_MDT-88_{phase}", ref, " ".join(statuses)))
    _not_in(out, "BR-FR-CDV-CL-07_MDT-132", _x(ref, "ram:IssuerTradeParty/ram:RoleCode"), ("SE",))
    _not_in(
        out,
        "BR-FR-CDV-CL-08_MDT-158",
        _x(ref, "ram:RecipientTradeParty/ram:RoleCode"),
        PARTY_ROLES | {"WK", "DFH"},
    )
    for status in _x(ref, "ram:SpecifiedDocumentStatus"):
        if not _x(status, "ram:SequenceNumeric"):
            out.append(_finding("BR-FR-CDV-16_MDT-124-2", status))
        for reason in _x(status, "ram:ReasonCode"):
            out += _reason_findings(reason, conditions, _values(_x(status, "ram:ProcessConditionCode")), root)
        _not_in(out, "BR-FR-CDV-CL-10_MDT-121", _x(status, "ram:RequestedActionCode"), ACTION_CODES)
        kinds = _x(status, "ram:SpecifiedDocumentCharacteristic/ram:TypeCode")
        _not_in(out, "BR-FR-CDV-CL-11_MDT-207", kinds, CHARACTERISTIC_TYPES)
    return out


def _reason_findings(
    reason: etree._Element, outer: list[str], inner: list[str], root: etree._Element
) -> list[Finding]:
    """BR-FR-CDV-CL-09 as the Schematron states it: a reason is checked against the list of the
    status of its referenced document unless its own detail names another status."""
    value = _value(reason)
    out = []
    if value not in REASON_CODES:
        out.append(_finding("BR-FR-CDV-CL-09_MDT-113", reason))

    def exempt(code: str) -> bool:
        return (_ne(outer, code) and (not inner or _ne(inner, code))) or (
            _eq(outer, code) and _ne(inner, code)
        )

    senders = _x(root, "rsm:ExchangedDocument/ram:SenderTradeParty/ram:GlobalID")
    b2g = _values(s for s in senders if s.get("schemeID") == PLATFORM_SCHEME)
    for code, allowed in STATUS_REASONS.items():
        if exempt(code) or value in allowed or (code == "210" and _eq(b2g, "9999")):
            continue
        out.append(_finding(f"BR-FR-CDV-CL-09_MDT-113_{code}", reason))
    b2g_ok = not senders or _ne(b2g, "9999") or (_eq(b2g, "9999") and value in B2G_REFUSAL_REASONS)
    if not (exempt("210") or b2g_ok):
        out.append(_finding("BR-FR-CDV-CL-09_MDT-113_210B2G", reason))
    return out


#: what the D22B schema and Faktura need to read a message, checked before the rules
_REQUIRED = (
    ("rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", "MDT-3"),
    ("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "MDT-8"),
    ("rsm:ExchangedDocument/ram:RecipientTradeParty", "MDG-15"),
    ("rsm:AcknowledgementDocument", "MDG-30"),
    ("rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument", "MDG-32"),
    ("rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument/ram:IssuerAssignedID", "MDT-87"),
)
_DATE_FORMATS = {"204": r"\d{14}", "102": r"\d{8}"}


def _shape(root: etree._Element) -> list[Finding]:
    out = [
        _finding("FK-CDAR-REQUIRED", root, f"{term} ({path})")
        for path, term in _REQUIRED
        if not _x(root, path)
    ]
    if len(_x(root, "rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument")) > 1:
        out.append(_finding("FK-CDAR-MULTI", root))
    for el in _x(root, ".//udt:DateTimeString | .//qdt:DateTimeString"):
        fmt, text = el.get("format") or "", _value(el)
        try:
            if not re.fullmatch(_DATE_FORMATS.get(fmt, "^$"), text):
                raise ValueError
            _read_datetime(text) if fmt == "204" else _read_date(text)
        except ValueError:
            out.append(
                _finding(
                    "FK-CDAR-SYNTAX", el, f"{text!r} (format {fmt!r}) is not a date (102) or date-time (204)"
                )
            )
    for el in _x(root, ".//ram:ValueAmount | .//ram:ValuePercent | .//ram:SequenceNumeric"):
        if not re.fullmatch(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*", _value(el)):
            out.append(_finding("FK-CDAR-SYNTAX", el, f"{_value(el)!r} is not a decimal number"))
    for el in _x(
        root, "rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument/ram:ProcessConditionCode"
    ):
        if not re.fullmatch(r"\s*\d{3}\s*", _value(el)):
            out.append(
                _finding("FK-CDAR-SYNTAX", el, f"status code {_value(el)!r} is not a three-digit code")
            )
    return out


# --- reading ---------------------------------------------------------------------------------

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def _text(el: etree._Element, path: str) -> str | None:
    found = _x(el, path)
    return _value(found[0]).strip() if found else None


def _decimal(el: etree._Element, path: str) -> Decimal | None:
    text = _text(el, path)
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _party(el: etree._Element) -> Party:
    gid = _x(el, "ram:GlobalID")
    uri = _x(el, "ram:URIUniversalCommunication/ram:URIID")
    return Party(
        role=_text(el, "ram:RoleCode"),
        id=_value(gid[0]).strip() if gid else None,
        scheme=gid[0].get("schemeID") if gid else None,
        name=_text(el, "ram:Name"),
        address=_value(uri[0]).strip() if uri else None,
        address_scheme=uri[0].get("schemeID") if uri else None,
    )


def _when(el: etree._Element, path: str) -> dt.datetime | None:
    text = _text(el, path)
    return _read_datetime(text) if text else None


def _characteristic(el: etree._Element) -> Characteristic:
    amount = _x(el, "ram:ValueAmount")
    changed = _text(el, "ram:ValueChangedIndicator/udt:IndicatorString") or _text(
        el, "ram:ValueChangedIndicator/udt:Indicator"
    )
    value_date = _x(el, "ram:ValueDateTime/udt:DateTimeString")
    date = None
    if value_date:
        text = _value(value_date[0]).strip()
        date = _read_date(text) if value_date[0].get("format") == "102" else _read_datetime(text).date()
    return Characteristic(
        type_code=_text(el, "ram:TypeCode") or "",
        changed=None if changed is None else changed == "true",
        id=_text(el, "ram:ID"),
        name=_text(el, "ram:Name"),
        location=_text(el, "ram:Location"),
        amount=_decimal(el, "ram:ValueAmount"),
        currency=amount[0].get("currencyID") if amount else None,
        percent=_decimal(el, "ram:ValuePercent"),
        date=date,
    )


def _detail(el: etree._Element) -> StatusDetail:
    sequence = _decimal(el, "ram:SequenceNumeric")
    return StatusDetail(
        sequence=int(sequence) if sequence is not None else 0,
        reason_code=_text(el, "ram:ReasonCode"),
        reason=_text(el, "ram:Reason"),
        action_code=_text(el, "ram:RequestedActionCode"),
        action=_text(el, "ram:RequestedAction"),
        characteristics=tuple(_characteristic(c) for c in _x(el, "ram:SpecifiedDocumentCharacteristic")),
    )


def read_tree(data: bytes) -> etree._Element:
    """The XML tree of a message, read without entities, DTDs or network access."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        finding = _finding("FK-CDAR-SYNTAX", etree.Element("document"), f"not well-formed XML: {exc}")
        raise CdarError([msgspec.structs.replace(finding, pointer="/")]) from exc


def parse_cdar(data: bytes) -> StatusMessage:
    """The status message in `data`, or `CdarError` with every fatal finding (warnings, such as
    a status code outside the published list, do not refuse the message)."""
    root = read_tree(data)
    fatal = [f for f in cdar_findings(root) if f.fatal]
    if fatal:
        raise CdarError(fatal)
    doc = _x(root, "rsm:ExchangedDocument")[0]
    ack = _x(root, "rsm:AcknowledgementDocument")[0]
    ref = _x(ack, "ram:ReferenceReferencedDocument")[0]
    seller_id = _x(ref, "ram:IssuerTradeParty/ram:GlobalID")
    issue_date = _text(ref, "ram:FormattedIssueDateTime/qdt:DateTimeString")
    issued_at = _when(doc, "ram:IssueDateTime/udt:DateTimeString")
    assert issued_at is not None  # FK-CDAR-REQUIRED
    sender = _x(doc, "ram:SenderTradeParty")
    issuer = _x(doc, "ram:IssuerTradeParty")
    return StatusMessage(
        id=_text(doc, "ram:ID") or "",
        name=_text(doc, "ram:Name"),
        issued_at=issued_at,
        business_process=_text(
            root, "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
        )
        or "",
        guideline=_text(
            root, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
        )
        or "",
        sender=_party(sender[0]) if sender else Party(),
        issuer=_party(issuer[0]) if issuer else Party(),
        recipients=tuple(_party(r) for r in _x(doc, "ram:RecipientTradeParty")),
        phase=_text(ack, "ram:TypeCode"),
        status_at=_when(ack, "ram:IssueDateTime/udt:DateTimeString"),
        status_code=int(_text(ref, "ram:ProcessConditionCode") or 0),
        status_label=_text(ref, "ram:ProcessCondition"),
        document_status=_text(ref, "ram:StatusCode"),
        invoice=InvoiceReference(
            number=_text(ref, "ram:IssuerAssignedID") or "",
            issue_date=_read_date(issue_date) if issue_date else None,
            type_code=_text(ref, "ram:TypeCode") or "",
            seller_id=_value(seller_id[0]).strip() if seller_id else None,
            seller_scheme=seller_id[0].get("schemeID") if seller_id else None,
            received_at=_when(ref, "ram:ReceiptDateTime/udt:DateTimeString"),
        ),
        details=tuple(_detail(s) for s in _x(ref, "ram:SpecifiedDocumentStatus")),
    )


# --- writing ---------------------------------------------------------------------------------


def _el(
    parent: etree._Element, prefix: str, name: str, text: str | None = None, **attrs: str | None
) -> etree._Element:
    el = etree.SubElement(parent, _q(prefix, name), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _when_el(parent: etree._Element, name: str, value: dt.datetime) -> None:
    _el(_el(parent, "ram", name), "udt", "DateTimeString", _write_datetime(value), format="204")


def _party_el(parent: etree._Element, name: str, party: Party) -> None:
    el = _el(parent, "ram", name)
    if party.id is not None:
        _el(el, "ram", "GlobalID", party.id, schemeID=party.scheme)
    if party.name is not None:
        _el(el, "ram", "Name", party.name)
    if party.role is not None:
        _el(el, "ram", "RoleCode", party.role)
    if party.address is not None:
        uri = _el(el, "ram", "URIUniversalCommunication")
        _el(uri, "ram", "URIID", party.address, schemeID=party.address_scheme)


def _number(value: Decimal) -> str:
    return format(value, "f")


def _characteristic_el(parent: etree._Element, c: Characteristic) -> None:
    el = _el(parent, "ram", "SpecifiedDocumentCharacteristic")
    if c.id is not None:
        _el(el, "ram", "ID", c.id)
    _el(el, "ram", "TypeCode", c.type_code)
    if c.changed is not None:
        _el(
            _el(el, "ram", "ValueChangedIndicator"),
            "udt",
            "IndicatorString",
            "true" if c.changed else "false",
        )
    if c.name is not None:
        _el(el, "ram", "Name", c.name)
    if c.location is not None:
        _el(el, "ram", "Location", c.location)
    if c.amount is not None:
        _el(el, "ram", "ValueAmount", _number(c.amount), currencyID=c.currency)
    if c.date is not None:
        _el(_el(el, "ram", "ValueDateTime"), "udt", "DateTimeString", c.date.strftime("%Y%m%d"), format="102")
    if c.percent is not None:
        _el(el, "ram", "ValuePercent", _number(c.percent))


def _detail_el(parent: etree._Element, d: StatusDetail) -> None:
    el = _el(parent, "ram", "SpecifiedDocumentStatus")
    for name, value in (
        ("ReasonCode", d.reason_code),
        ("Reason", d.reason),
        ("RequestedActionCode", d.action_code),
        ("RequestedAction", d.action),
    ):
        if value is not None:
            _el(el, "ram", name, value)
    _el(el, "ram", "SequenceNumeric", str(d.sequence))
    for c in d.characteristics:
        _characteristic_el(el, c)


def cdar_tree(message: StatusMessage) -> etree._Element:
    """The CDAR tree of `message`, elements in the D22B schema's order; not yet checked."""
    status = STATUSES.get(message.status_code)
    phase = message.phase or (status.phase if status else None)
    if phase is None:
        raise ValueError(f"status {message.status_code} has no published phase; give `phase`")
    root = etree.Element(_q("rsm", "CrossDomainAcknowledgementAndResponse"), nsmap=NSMAP)
    ctx = _el(root, "rsm", "ExchangedDocumentContext")
    _el(
        _el(ctx, "ram", "BusinessProcessSpecifiedDocumentContextParameter"),
        "ram",
        "ID",
        message.business_process,
    )
    _el(_el(ctx, "ram", "GuidelineSpecifiedDocumentContextParameter"), "ram", "ID", message.guideline)
    doc = _el(root, "rsm", "ExchangedDocument")
    _el(doc, "ram", "ID", message.id)
    if message.name is not None:
        _el(doc, "ram", "Name", message.name)
    _when_el(doc, "IssueDateTime", message.issued_at)
    _party_el(doc, "SenderTradeParty", message.sender)
    _party_el(doc, "IssuerTradeParty", message.issuer)
    for recipient in message.recipients:
        _party_el(doc, "RecipientTradeParty", recipient)
    ack = _el(root, "rsm", "AcknowledgementDocument")
    _el(_el(ack, "ram", "MultipleReferencesIndicator"), "udt", "Indicator", "false")
    _el(ack, "ram", "TypeCode", phase)
    _when_el(ack, "IssueDateTime", message.status_at or message.issued_at)
    ref = _el(ack, "ram", "ReferenceReferencedDocument")
    invoice = message.invoice
    _el(ref, "ram", "IssuerAssignedID", invoice.number)
    document_status = message.document_status or (status.document_status if status else None)
    if document_status is not None:
        _el(ref, "ram", "StatusCode", document_status)
    _el(ref, "ram", "TypeCode", invoice.type_code)
    if invoice.received_at is not None:
        _when_el(ref, "ReceiptDateTime", invoice.received_at)
    if invoice.issue_date is not None:
        _el(
            _el(ref, "ram", "FormattedIssueDateTime"),
            "qdt",
            "DateTimeString",
            invoice.issue_date.strftime("%Y%m%d"),
            format="102",
        )
    _el(ref, "ram", "ProcessConditionCode", str(message.status_code))
    label = message.status_label or (status.french if status else None)
    if label is not None:
        _el(ref, "ram", "ProcessCondition", label)
    if invoice.seller_id is not None:
        seller = _el(ref, "ram", "IssuerTradeParty")
        _el(seller, "ram", "GlobalID", invoice.seller_id, schemeID=invoice.seller_scheme)
    for detail in message.details:
        _detail_el(ref, detail)
    return root


def build_cdar(message: StatusMessage) -> bytes:
    """The CDAR XML of `message` (UTF-8), or `CdarError` if it would break the French rules:
    Faktura never hands a platform a status message the platform must refuse."""
    root = cdar_tree(message)
    fatal = [f for f in cdar_findings(root) if f.fatal]
    if fatal:
        raise CdarError(fatal)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def message_id(invoice: InvoiceReference, code: int, at: dt.datetime) -> str:
    """MDT-4 as the official examples build it (invoice_status_time#type_date), with the time
    the status was set, so that two statuses of one invoice never share an id."""
    date = invoice.issue_date.strftime("%Y%m%d") if invoice.issue_date else ""
    return f"{invoice.number}_{code}_{_write_datetime(at)}#{invoice.type_code}_{date}"


def ppf() -> Party:
    """The tax administration's platform as a recipient (MDT-57..59)."""
    return Party(role="DFH", id=PPF_ID, scheme=PLATFORM_SCHEME, name="PPF")


def seller_status(
    code: int,
    *,
    invoice: InvoiceReference,
    seller: Party,
    buyer: Party,
    at: dt.datetime,
    details: Sequence[StatusDetail] = (),
    to_tax_administration: bool = False,
    issued_at: dt.datetime | None = None,
) -> StatusMessage:
    """A status the seller sets on its own invoice (`ISSUER_CODES`), addressed to the buyer
    (who needs an electronic address) and, when it must reach the tax administration, the PPF.

    `seller.id` is the seller's SIREN; `at` is when the status was set (MDT-78).
    """
    if code not in ISSUER_CODES:
        raise ValueError(f"status {code} is not one the seller sets; the seller sets {ISSUER_CODES}")
    if not seller.id:
        raise ValueError("the seller's SIREN (MDT-38) is required")
    if not buyer.address:
        raise ValueError(
            "the buyer's electronic address (MDT-73: BT-49 under 0225, or its SIREN) is required"
        )
    at = paris_time(at)
    buyer_scheme = buyer.scheme or (SIREN_SCHEME if buyer.id else None)
    recipients = [
        Party(
            role="BY",
            id=buyer.id,
            scheme=buyer_scheme,
            name=buyer.name,
            address=buyer.address,
            address_scheme=buyer.address_scheme or ADDRESS_SCHEME,
        )
    ]
    if to_tax_administration:
        recipients.append(ppf())
    reference = (
        invoice
        if invoice.seller_id
        else msgspec.structs.replace(
            invoice, seller_id=seller.id, seller_scheme=seller.scheme or SIREN_SCHEME
        )
    )
    return StatusMessage(
        id=message_id(invoice, code, at),
        issued_at=paris_time(issued_at) if issued_at else at,
        status_at=at,
        status_code=code,
        invoice=reference,
        issuer=Party(role="SE", id=seller.id, scheme=seller.scheme or SIREN_SCHEME, name=seller.name),
        recipients=tuple(recipients),
        details=tuple(details),
    )


def cashed(
    *,
    invoice: InvoiceReference,
    seller: Party,
    buyer: Party,
    at: dt.datetime,
    amounts: Sequence[tuple[Decimal, Decimal]],
    currency: str = "EUR",
    to_tax_administration: bool = True,
    issued_at: dt.datetime | None = None,
) -> StatusMessage:
    """Status 212 "Encaissée": the seller has cashed `amounts`, each (amount incl. VAT, VAT rate)
    (BR-FR-CDV-14). It reaches the tax administration when VAT is due on receipt."""
    if not amounts:
        raise ValueError("a cashed status carries at least one amount and its VAT rate (BR-FR-CDV-14)")
    detail = StatusDetail(
        sequence=1,
        characteristics=tuple(
            Characteristic(type_code="MEN", changed=False, amount=amount, currency=currency, percent=rate)
            for amount, rate in amounts
        ),
    )
    return seller_status(
        212,
        invoice=invoice,
        seller=seller,
        buyer=buyer,
        at=at,
        details=(detail,),
        to_tax_administration=to_tax_administration,
        issued_at=issued_at,
    )


def split_by_rate(paid: Decimal, totals: Sequence[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    """A payment of `paid` (incl. VAT) over the invoice's (amount incl. VAT, VAT rate) totals,
    pro rata, to the cent: what a partial payment cashed at each rate. The cents lost to
    rounding go to the largest share, so the amounts always add up to `paid`."""
    whole = sum((amount for amount, _ in totals), Decimal(0))
    if whole <= 0 or not 0 < paid <= whole:
        raise ValueError(f"a payment of {paid} cannot be split over an invoice of {whole}")
    cent = Decimal("0.01")
    shares = [((paid * amount / whole).quantize(cent), rate) for amount, rate in totals]
    largest = max(range(len(shares)), key=lambda i: shares[i][0])
    amount, rate = shares[largest]
    shares[largest] = (amount + paid - sum((a for a, _ in shares), Decimal(0)), rate)
    return [(amount, rate) for amount, rate in shares if amount != 0]
