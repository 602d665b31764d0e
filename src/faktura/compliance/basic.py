"""`check_invoice`: every rule of the invoice's profile, run before anything is numbered or stored.

Two layers. First the input's shape, which no official rule covers because the XML could not
even be written (non-finite or absurd numbers, an allowance without amount or percentage,
both a contact id and an inline buyer): these findings have no rule id. Then the rule engine
(`faktura.compliance.engine`) with the profile's rule sets (`faktura.compliance.profiles`):
EN 16931, Peppol BIS 3 or XRechnung, and Faktura's own `FK-*` checks. All findings come back
together, each with its official rule id and a JSON Pointer into the request.

Before either, a request that does not even fit the wire structs is walked member by member
(`shape_findings`), so that all its missing, unknown and malformed members come back at once,
with the EN 16931 cardinality or code-list rule that covers each where there is one.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

import msgspec

from faktura.compliance.engine import Context, Plan, plan, run_plan
from faktura.compliance.findings import Finding, Severity, pointer
from faktura.compliance.profiles import Profile
from faktura.compliance.profiles import profile as get_profile
from faktura.domain.invoice import AllowanceCharge, InvoiceInput, Party
from faktura.domain.money import unreadable_decimal
from faktura.domain.parties import ContactInput, TenantInput
from faktura.domain.totals import Totals, compute

MAX_ABS = Decimal("1e12")  # no invoice amount, price or quantity is larger than this
MAX_EXPONENT = -10  # at most 10 decimal places on any number


class Checks:
    """Collects the shape findings (no rule id)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        rule_id: str | None,
        ptr: str,
        detail: str,
        *,
        title: str = "Invalid Field",
        problem_type: str = "INVALID_FIELD",
        severity: Severity = Severity.FATAL,
        bt: str | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity,
                title=title,
                detail=detail,
                pointer=ptr,
                problem_type=problem_type,
                business_term=bt,
            )
        )

    def missing(self, rule_id: str | None, ptr: str, what: str, bt: str | None = None) -> None:
        self.add(
            rule_id,
            ptr,
            f"{what} is required.",
            title="Missing Required Field",
            problem_type="MISSING_REQUIRED_FIELD",
            bt=bt,
        )


def _decimals(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Decimal]]:
    """Every Decimal inside a struct tree, with its path: one generic sweep for ranges."""
    if isinstance(value, Decimal):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _decimals(getattr(value, name), (*path, name))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _decimals(v, (*path, i))


#: Decimals written as bare JSON numbers, so that a number is told from a string: one that is
#: non-finite, has an exponent, more than 12 integer digits or more than 10 decimals sends
#: the check down the slow sweep, which names the field. Text never matches (it is quoted).
_NUMBERS = msgspec.json.Encoder(decimal_format="number")
_SUSPECT = re.compile(rb"[:\[,]-?(?:s?NaN|Infinity|\d*\.?\d+E[-+]?\d+|\d{13,}|\d*\.\d{11,})[,\]}]")
#: A regular expression costs ~10 ns per byte here; `bytes.translate` and `in` run at memory
#: speed. With every digit folded to 0, the bytes a number can follow (`:`, `,`, `[`) and the
#: decimal point folded to `:`, and minus signs dropped, four quick tests rule out `_SUSPECT`
#: on almost every request: 11 digits in a row after such a byte, an exponent after a
#: number's digits (`:0E`, `:0:0E`: not the `938e` of a contact's UUID), NaN or Infinity.
#: Text that looks like one merely takes the regular expression.
_FOLD = bytes.maketrans(b"123456789e,[.", b"000000000E:::")


def encode(value: Any) -> bytes:
    """The one JSON encoding the byte-level sweeps below share (decimals as bare numbers)."""
    return _NUMBERS.encode(value)


def _maybe_suspect(raw: bytes) -> bool:
    folded = raw.translate(_FOLD, b"-")
    return (
        b":00000000000" in folded
        or _EXPONENT.search(folded) is not None
        or _NAN.search(folded) is not None
        or _INFINITY.search(folded) is not None
    )


#: short literals as regular expressions: `re` finds these faster than `bytes in` (which wins
#: for the long run of zeros)
_EXPONENT = re.compile(b":[0:]*0E")
_NAN = re.compile(b"NaN")
_INFINITY = re.compile(b"Infinity")


def check_numbers(
    c: Checks, invoice: InvoiceInput, base: tuple[str | int, ...], raw: bytes | None = None
) -> bool:
    """Finite, bounded, not absurdly precise. Returns False when the totals cannot be computed."""
    try:
        raw = encode(invoice) if raw is None else raw
        if not (_maybe_suspect(raw) and _SUSPECT.search(raw)):
            return True
    except (UnicodeEncodeError, ValueError):
        pass  # a lone surrogate in some text, or a non-finite number: sweep one by one
    ok = True
    for path, v in _decimals(invoice, base):
        p = pointer(*path)
        if not v.is_finite():
            c.add(None, p, "Must be a finite decimal number.")
            ok = False
        elif v.copy_abs() > MAX_ABS:  # copy_abs: no context, no Overflow on a huge exponent
            c.add(None, p, f"Absolute value must not exceed {MAX_ABS:f}.", problem_type="OUT_OF_RANGE")
            ok = False
        elif v.as_tuple().exponent < MAX_EXPONENT:  # type: ignore[operator]
            c.add(None, p, "At most 10 decimal places are allowed.", problem_type="OUT_OF_RANGE")
            ok = False
    return ok


def _check_allowance_charge(
    c: Checks, ac: AllowanceCharge, where: tuple[str | int, ...], *, charge: bool, line_level: bool
) -> None:
    """`where` is the allowance's path from the request's base pointer; the pointer text is
    built only for what is reported (this runs for every allowance of every request)."""
    kind = "charge" if charge else "allowance"
    if ac.amount is None and ac.percentage is None:
        c.missing(None, _at(where, "amount"), f"The {kind} amount (or a percentage)")
    if ac.amount is not None and ac.amount < 0:
        c.add(None, _at(where, "amount"), "Must not be negative.")
    if line_level and (ac.tax_category or ac.tax_rate is not None):
        c.add(
            None,
            _at(where, "tax_category"),
            "Line-level allowances and charges take the line's VAT category.",
        )


def _at(where: tuple[str | int, ...], field: str) -> str:
    return "/".join(str(p) for p in (*where, field))


#: XML 1.0 cannot carry C0 controls other than tab/newline/return, nor U+FFFE/U+FFFF; in
#: JSON they are escaped (`\u001f`) or raw (U+FFFE), so one search finds them all.
_NOT_XML = re.compile(rb"\\u00(?:0[0-8bcef]|1[0-9a-f])|\\[bf]|\xef\xbf[\xbe\xbf]")
_NOT_XML_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff{chr(0xD800)}-{chr(0xDFFF)}]")


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _strings(getattr(value, name), (*path, name))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def check_text(c: Checks, value: Any, base: tuple[str | int, ...], raw: bytes | None = None) -> None:
    """Text the XML could not carry (control characters, non-characters, lone surrogates)."""
    try:
        raw = encode(value) if raw is None else raw
        # JSON escapes every control character with a backslash; U+FFFE/FFFF are EF BF BE/BF
        # (one-byte needles: `in` is memchr for them, and ten times slower for two bytes)
        if (b"\\" not in raw and b"\xef" not in raw) or not _NOT_XML.search(raw):
            return
    except (UnicodeEncodeError, ValueError):
        pass  # a lone surrogate (or a non-finite number): sweep the text below
    for path, text in _strings(value, base):
        if _NOT_XML_TEXT.search(text):
            c.add(None, pointer(*path), "Contains characters that an XML document cannot carry.")


def check_shape(c: Checks, invoice: InvoiceInput, base: str, raw: bytes | None = None) -> None:
    """What the request must satisfy before any rule can judge it (no official id)."""
    check_text(c, invoice, _path(base), raw)
    if invoice.exchange_rate is not None and invoice.exchange_rate <= 0:
        c.add(None, f"{base}/exchange_rate", "The exchange rate must be greater than zero.")
    if invoice.contact is not None and invoice.buyer is not None:
        c.add(None, f"{base}/buyer", "Give either a contact id or an inline buyer, not both.")
    for i, li in enumerate(invoice.line_items):
        rate = li.tax_rate
        if rate is not None and (rate < 0 or rate >= 100):
            c.add(
                None,
                f"{base}/line_items/{i}/tax_rate",
                "The VAT rate must be a percentage between 0 and 100.",
            )
        for j, a in enumerate(li.allowances):
            _check_allowance_charge(
                c, a, (base, "line_items", i, "allowances", j), charge=False, line_level=True
            )
        for j, ch in enumerate(li.charges):
            _check_allowance_charge(
                c, ch, (base, "line_items", i, "charges", j), charge=True, line_level=True
            )
    for j, a in enumerate(invoice.allowances):
        _check_allowance_charge(c, a, (base, "allowances", j), charge=False, line_level=False)
    for j, ch in enumerate(invoice.charges):
        _check_allowance_charge(c, ch, (base, "charges", j), charge=True, line_level=False)


@functools.lru_cache(maxsize=64)
def _path(pointer: str) -> tuple[str, ...]:
    return tuple(p for p in pointer.split("/") if p)


def _without_files(invoice: InvoiceInput) -> InvoiceInput:
    """The request without the bytes of its supporting documents: a file is neither text nor a
    number, and megabytes of base64 would dominate every byte-level scan below."""
    if not invoice.attachments or not any(doc.content for doc in invoice.attachments):
        return invoice
    return msgspec.structs.replace(
        invoice,
        attachments=[msgspec.structs.replace(doc, content=None) for doc in invoice.attachments],
    )


def _encoded_or_none(value: Any) -> bytes | None:
    """The JSON of a party (empty when there is none), or None when it cannot be encoded."""
    try:
        return b"" if value is None else encode(value)
    except (UnicodeEncodeError, ValueError):
        return None


def check_invoice(
    invoice: InvoiceInput,
    *,
    seller: Party | None,
    buyer: Party | None,
    buyer_pointer: str = "/model/buyer",
    base: str = "/model",
    profile: str | None = None,
    rules: Profile | None = None,
) -> tuple[list[Finding], Totals | None]:
    """All findings of the invoice's profile (or of `rules`, a profile at chosen rule-set
    versions: `faktura.compliance.rulebook`), and the computed totals when the numbers allow."""
    examined = examine(invoice, seller=seller, buyer=buyer, buyer_pointer=buyer_pointer, base=base)
    return examined.run(rules or get_profile(profile or invoice.profile or "peppol-bis-3")), examined.totals


@dataclass(frozen=True)
class Examined:
    """A request as every rule set sees it: the findings on its shape and numbers (no rule
    set's own), its totals, its JSON. Examined once, it can be run under several profiles
    (today's rule-set versions and the upcoming ones of `rulebook.check_on`)."""

    invoice: InvoiceInput
    seller: Party | None
    buyer: Party | None
    buyer_pointer: str
    base: str
    findings: list[Finding]
    totals: Totals | None
    encoded: tuple[bytes | None, bytes | None, bytes | None]

    def run(self, rules: Profile) -> list[Finding]:
        """The shape findings and those of every rule of `rules` (in a context of its own:
        what rules derive from the request is kept per check)."""
        ctx = Context(
            self.invoice,
            seller=self.seller,
            buyer=self.buyer,
            totals=self.totals,
            profile=rules.name,
            base=self.base,
            buyer_pointer=self.buyer_pointer,
            encoded=self.encoded,
        )
        return self.findings + run_plan(_plan_of(rules), ctx)


def examine(
    invoice: InvoiceInput,
    *,
    seller: Party | None,
    buyer: Party | None,
    buyer_pointer: str = "/model/buyer",
    base: str = "/model",
) -> Examined:
    """The checks before any rule set: numbers, shape, text the XML cannot carry; the totals."""
    c = Checks()
    try:
        raw: bytes | None = encode(_without_files(invoice))
    except (UnicodeEncodeError, ValueError):
        raw = None  # a lone surrogate, reported by `check_text`
    numbers_ok = check_numbers(c, invoice, _path(base), raw)
    check_shape(c, invoice, base, raw)
    seller_raw = _encoded_or_none(seller)
    # an inline buyer is already in the request's encoding: its text is swept there
    buyer_raw = b"" if buyer is invoice.buyer else _encoded_or_none(buyer)
    if seller is not None:
        check_text(c, seller, ("tenant",), seller_raw)
    if buyer is not None and invoice.buyer is None:
        check_text(c, buyer, _path(buyer_pointer), buyer_raw)
    return Examined(
        invoice,
        seller=seller,
        buyer=buyer,
        buyer_pointer=buyer_pointer,
        base=base,
        findings=c.findings,
        totals=compute(invoice) if numbers_ok else None,
        encoded=(raw, seller_raw, buyer_raw),
    )


_PLANS: dict[int, tuple[Profile, Plan]] = {}


def _plan_of(prof: Profile) -> Plan:
    """The profile's plan, made once per profile object (versions of a profile share its name)."""
    cached = _PLANS.get(id(prof))
    if cached is None or cached[0] is not prof:
        cached = _PLANS[id(prof)] = (prof, plan(prof.rule_sets, tuple(sorted(prof.overrides.items()))))
    return cached[1]


# -- the request's shape, all at once -------------------------------------------------------
#
# msgspec stops at the first member that does not fit the wire struct. When it does, the
# request is walked against the struct's type tree instead, and every member that is missing,
# unknown, of the wrong type or malformed is reported together. Where an official rule covers
# the member, the finding carries its id: a required member missing (or blank) is the
# EN 16931 cardinality rule, a malformed code the code-list rule.


class ShapeRule(NamedTuple):
    id: str
    bt: str
    message: str


def _r(id: str, bt: str, message: str) -> ShapeRule:
    return ShapeRule(id, bt, message)


_BUYER = {
    "name": _r("BR-07", "BT-44", "An Invoice shall contain the Buyer name (BT-44)."),
    "address": _r("BR-10", "BG-8", "An Invoice shall contain the Buyer postal address (BG-8)."),
    "address/country": _r(
        "BR-11", "BT-55", "The Buyer postal address shall contain a Buyer country code (BT-55)."
    ),
}
_CREDIT_TRANSFER = _r(
    "BR-50",
    "BT-84",
    "A Payment account identifier (BT-84) shall be present if Credit transfer (BG-17) information is provided in the Invoice.",
)

#: (wire struct, member path without list indices) -> the rule that requires the member
REQUIRED: dict[type, dict[str, ShapeRule]] = {
    InvoiceInput: {
        **{f"buyer/{k}": v for k, v in _BUYER.items()},
        "payee/name": _r("BR-17", "BT-59", "The Payee name (BT-59) shall be provided if the Payee is different from the Seller."),
        "tax_representative/name": _r("BR-18", "BT-62", "The Seller tax representative name (BT-62) shall be provided in the Invoice, if the Seller (BG-4) has a Seller tax representative party (BG-11)."),
        "tax_representative/vat_id": _r("BR-56", "BT-63", "Each Seller tax representative party (BG-11) shall have a Seller tax representative VAT identifier (BT-63)."),
        "tax_representative/address": _r("BR-19", "BG-12", "The Seller tax representative postal address (BG-12) shall be provided in the Invoice, if the Seller (BG-4) has a Seller tax representative party (BG-11)."),
        "tax_representative/address/country": _r("BR-20", "BT-69", "The Seller tax representative postal address (BG-12) shall contain a Tax representative country code (BT-69), if the Seller (BG-4) has a Seller tax representative party (BG-11)."),
        "line_items/item": _r("BR-25", "BT-153", "Each Invoice line (BG-25) shall contain the Item name (BT-153)."),
        "line_items/item/name": _r("BR-25", "BT-153", "Each Invoice line (BG-25) shall contain the Item name (BT-153)."),
        "line_items/quantity": _r("BR-22", "BT-129", "Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129)."),
        "line_items/unit_code": _r("BR-23", "BT-130", "An Invoice line (BG-25) shall have an Invoiced quantity unit of measure code (BT-130)."),
        "line_items/unit_price": _r("BR-26", "BT-146", "Each Invoice line (BG-25) shall contain the Item net price (BT-146)."),
        "line_items/item/attributes/name": _r("BR-54", "BT-160", "Each Item attribute (BG-32) shall contain an Item attribute name (BT-160) and an Item attribute value (BT-161)."),
        "line_items/item/attributes/value": _r("BR-54", "BT-161", "Each Item attribute (BG-32) shall contain an Item attribute name (BT-160) and an Item attribute value (BT-161)."),
        "line_items/item/classifications/list_id": _r("BR-65", "BT-158-1", "The Item classification identifier (BT-158) shall have a Scheme identifier."),
        "payment_means/code": _r("BR-49", "BT-81", "A Payment instruction (BG-16) shall specify the Payment means type code (BT-81)."),
        "payment_means/account/iban": _CREDIT_TRANSFER,
        "preceding_invoices/number": _r("BR-55", "BT-25", "Each Preceding Invoice reference (BG-3) shall contain a Preceding Invoice reference (BT-25)."),
        "attachments/reference": _r("BR-52", "BT-122", "Each Additional supporting document (BG-24) shall contain a Supporting document reference (BT-122)."),
        "delivery/address/country": _r("BR-57", "BT-80", "Each Deliver to address (BG-15) shall contain a Deliver to country code (BT-80)."),
    },
    TenantInput: {
        "legal_name": _r("BR-06", "BT-27", "An Invoice shall contain the Seller name (BT-27)."),
        "address": _r("BR-08", "BG-5", "An Invoice shall contain the Seller postal address (BG-5)."),
        "address/country": _r("BR-09", "BT-40", "The Seller postal address (BG-5) shall contain a Seller country code (BT-40)."),
        "bank_account/iban": _CREDIT_TRANSFER,
    },
    ContactInput: _BUYER,
}  # fmt: skip

_COUNTRY = _r("BR-CL-14", "BT-40", "Country codes in an invoice MUST be coded using ISO code list 3166-1.")
_CURRENCY = _r("BR-CL-04", "BT-5", "Invoice currency code MUST be coded using ISO code list 4217 alpha-3.")

#: the end of a member path -> the code-list rule a malformed value of it breaks (any struct)
CODED: dict[str, ShapeRule] = {
    "currency": _CURRENCY,
    "default_currency": _CURRENCY,
    "tax_currency": _r("BR-CL-05", "BT-6", "Tax currency code MUST be coded using ISO code list 4217 alpha-3."),
    "type_code": _r("BR-CL-01", "BT-3", "The document type code MUST be coded by the invoice and credit note related code lists of UNTDID 1001."),
    "address/country": _COUNTRY,
    "origin_country": _r("BR-CL-15", "BT-159", "Country codes in an invoice MUST be coded using ISO code list 3166-1."),
    "unit_code": _r("BR-CL-23", "BT-130", "Unit code MUST be coded according to the UN/ECE Recommendation 20 with Rec 21 extension."),
    "line_items/tax_category": _r("BR-CL-18", "BT-151", "Invoice tax categories MUST be coded using UNCL5305 code list."),
    "allowances/tax_category": _r("BR-CL-17", "BT-95", "Invoice tax categories MUST be coded using UNCL5305 code list."),
    "charges/tax_category": _r("BR-CL-17", "BT-102", "Invoice tax categories MUST be coded using UNCL5305 code list."),
    "payment_means/code": _r("BR-CL-16", "BT-81", "Payment means in an invoice MUST be coded using UNCL4461 code list."),
    "identifiers/scheme": _r("BR-CL-10", "BT-29-1", "Any identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list."),
    "legal_id/scheme": _r("BR-CL-11", "BT-30-1", "Any registration identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list."),
    "standard_id/scheme": _r("BR-CL-21", "BT-157-1", "Item standard identifier scheme identifier MUST belong to the ISO 6523 ICD code list."),
    "endpoint/scheme": _r("BR-CL-25", "BT-34-1", "Endpoint identifier scheme identifier MUST belong to the CEF EAS code list."),
    "location_id/scheme": _r("BR-CL-26", "BT-71-1", "Delivery location identifier scheme identifier MUST belong to the ISO 6523 ICD code list."),
}  # fmt: skip


def shape_findings(raw: Any, model_type: type, base: str) -> list[Finding]:
    """Every member of `raw` that does not fit `model_type`, with the official rule where one
    covers it; empty when `raw` converts. For the error path only: it converts member by
    member."""
    walk = _ShapeWalk(REQUIRED.get(model_type, {}), base)
    walk.value(raw, model_type, ())
    return walk.findings


class _ShapeWalk:
    def __init__(self, required: dict[str, ShapeRule], base: str) -> None:
        self.required = required
        self.base = base
        self.findings: list[Finding] = []

    def add(
        self, path: tuple[str | int, ...], detail: str, title: str, problem_type: str, found: ShapeRule | None
    ) -> None:
        self.findings.append(
            Finding(
                rule_id=found.id if found else None,
                severity=Severity.FATAL,
                title=title,
                detail=f"{found.message} ({detail})" if found else detail,
                pointer=self.base + pointer(*path),
                problem_type=problem_type,
                business_term=found.bt if found else None,
            )
        )

    def missing(self, path: tuple[str | int, ...], detail: str) -> None:
        self.add(
            path,
            detail,
            "Missing Required Field",
            "MISSING_REQUIRED_FIELD",
            self.required.get(_members(path)),
        )

    def invalid(self, path: tuple[str | int, ...], value: Any, detail: str) -> None:
        members = _members(path)
        if (value is None or value == "") and members in self.required:
            self.missing(path, detail)
            return
        found = next((CODED[k] for k in _suffixes(members) if k in CODED), None)
        self.add(path, detail, "Invalid Field", "INVALID_FIELD", found)

    def value(self, value: Any, tp: Any, path: tuple[str | int, ...]) -> None:
        tp = _without_none(tp, value)
        if tp is None:
            return
        origin = typing.get_origin(tp)
        if origin is Annotated:
            inner, *meta = typing.get_args(tp)
            if _composite(inner):
                # the constraints on the container itself (a list's length), then its members
                if self.leaf(
                    value, Annotated[(list[Any] if typing.get_origin(inner) is list else inner, *meta)], path
                ):  # type: ignore[valid-type]
                    self.value(value, inner, path)
                return
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            self.struct(value, tp, path)
        elif origin is list and isinstance(value, list):
            (item,) = typing.get_args(tp)
            for i, v in enumerate(value):
                self.value(v, item, (*path, i))
        else:
            self.leaf(value, tp, path)

    def struct(self, value: Any, tp: type[msgspec.Struct], path: tuple[str | int, ...]) -> None:
        if not isinstance(value, dict):
            self.invalid(path, value, f"Expected `object`, got `{_json_type(value)}`.")
            return
        fields = msgspec.structs.fields(tp)
        for f in fields:
            if f.encode_name in value:
                self.value(value[f.encode_name], f.type, (*path, f.encode_name))
            elif f.required:
                self.missing((*path, f.encode_name), f"Object missing required field `{f.encode_name}`.")
        if tp.__struct_config__.forbid_unknown_fields:
            known = {f.encode_name for f in fields}
            for k in value:
                if k not in known:
                    self.add(
                        (*path, k),
                        f"Object contains unknown field `{k}`.",
                        "Unrecognized Field",
                        "UNRECOGNIZED_FIELD",
                        None,
                    )

    def leaf(self, value: Any, tp: Any, path: tuple[str | int, ...]) -> bool:
        try:
            converted = msgspec.convert(value, tp, strict=False)
        except msgspec.ValidationError as exc:
            self.invalid(path, value, str(exc).removesuffix(" - at `$`") + ".")
            return False
        if unreadable_decimal(converted, value) is not None:
            self.invalid(path, value, "Expected a finite decimal number written with the digits 0-9.")
            return False
        return True


def _without_none(tp: Any, value: Any) -> Any:
    """`X | None` as `X` (None when the value is the allowed null)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and len(args) < len(typing.get_args(tp)):
            return None
        if len(args) == 1:
            return args[0]
    return tp


def _composite(tp: Any) -> bool:
    return typing.get_origin(tp) is list or (isinstance(tp, type) and issubclass(tp, msgspec.Struct))


def _members(path: tuple[str | int, ...]) -> str:
    return "/".join(p for p in path if isinstance(p, str))


def _suffixes(members: str) -> Iterator[str]:
    parts = members.split("/")
    for i in range(len(parts)):
        yield "/".join(parts[i:])


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "str", bool: "bool", type(None): "null"}.get(
        type(value), "int" if isinstance(value, int) else "float"
    )


# -- pointers into what the client sent ---------------------------------------------------------


#: the EN 16931 terms a request member carries, for the members rules name when they are
#: absent: a finding about one of these terms may name the member that should carry it
MEMBER_TERMS: dict[str, frozenset[str]] = {
    name: frozenset(terms.split())
    for name, terms in {
        "tax_rate": "BT-96 BT-103 BT-119 BT-152",
        "tax_category": "BT-95 BT-102 BT-118 BT-151",
        "tax_exemption_reason": "BT-120",
        "tax_exemption_reason_code": "BT-121",
        "vat_id": "BT-31 BT-48 BT-63",
        "tax_registration_id": "BT-32",
        "legal_id": "BT-30 BT-47 BT-61",
        "endpoint": "BT-34 BT-49",
        "name": "BT-27 BT-44 BT-59 BT-62 BT-153",
        "address": "BG-5 BG-8 BG-12 BG-15",
        "country": "BT-40 BT-55 BT-69 BT-80",
        "buyer_reference": "BT-10",
        "order_reference": "BT-13",
        "due_date": "BT-9",
        "payment_terms": "BT-20",
        "issue_date": "BT-2 BT-26",
        "tax_point_date": "BT-7",
        "currency": "BT-5",
        "tax_currency": "BT-6",
        "exchange_rate": "BT-111",
        "tax_currency_total_tax_amount": "BT-111",
        "delivery": "BG-13 BG-15 BT-72 BT-80",
        "date": "BT-72",
        "invoicing_period": "BG-14 BT-73 BT-74",
        "start_date": "BT-73 BT-134",
        "end_date": "BT-74 BT-135",
        "payment_means": "BG-16 BT-81",
        "account": "BG-17 BT-84",
        "iban": "BT-84",
        "line_items": "BG-25",
        "standard_id": "BT-157",
        "preceding_invoices": "BG-3 BT-25",
    }.items()
}
_TERM = re.compile(r"\bB[TG]-\d+\b")


def anchored(findings: list[Finding], sent: Any, base: str = "/model") -> list[Finding]:
    """`findings` with every pointer into the request moved to a member the client sent.

    Rules point where the official XPath looks, which may be a member the request does not
    have (PEPPOL-EN16931-R054 at `tax_currency` on a draft without one). Such a pointer moves
    up to the nearest member that is there, unless it names what is missing, in an object
    that is there: a missing-member finding, or one about the member's own business term
    (BR-S-05 on the VAT rate a line lacks, BR-E-10 on an exemption reason)."""
    out = []
    for f in findings:
        if f.pointer != base and not f.pointer.startswith(base + "/"):
            out.append(f)
            continue
        parts = (
            [p.replace("~1", "/").replace("~0", "~") for p in f.pointer[len(base) + 1 :].split("/")]
            if f.pointer != base
            else []
        )
        depth, parent = _resolved_depth(sent, parts)
        if depth == len(parts) or (
            depth == len(parts) - 1 and isinstance(parent, dict) and _names_missing(f, parts[-1])
        ):
            out.append(f)
        else:
            out.append(msgspec.structs.replace(f, pointer=base + pointer(*parts[:depth])))
    return out


def _names_missing(f: Finding, member: str) -> bool:
    if f.problem_type.startswith("MISSING_"):
        return True
    terms = MEMBER_TERMS.get(member)
    if not terms:
        return False
    said = set(_TERM.findall(f.detail))
    if f.business_term:
        said.add(f.business_term)
    return bool(terms & said)


def _resolved_depth(node: Any, parts: list[str]) -> tuple[int, Any]:
    """How many leading parts of a path resolve in `node`, and the last node they reach."""
    for depth, p in enumerate(parts):
        if isinstance(node, dict) and p in node:
            child = node[p]
        elif isinstance(node, list) and p.isdigit() and int(p) < len(node):
            child = node[int(p)]
        else:
            return depth, node
        node = child
    return len(parts), node
