"""`check_invoice`: every rule of the invoice's profile, run before anything is numbered or stored.

Two layers. First the input's shape, which no official rule covers because the XML could not
even be written (non-finite or absurd numbers, an allowance without amount or percentage,
both a contact id and an inline buyer): these findings have no rule id. Then the rule engine
(`faktura.compliance.engine`) with the profile's rule sets (`faktura.compliance.profiles`):
EN 16931, Peppol BIS 3 or XRechnung, and Faktura's own `FK-*` checks. All findings come back
together, each with its official rule id and a JSON Pointer into the request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec

from faktura.compliance.engine import Context, Plan, plan, run_plan
from faktura.compliance.findings import Finding, Severity, pointer
from faktura.compliance.profiles import Profile
from faktura.compliance.profiles import profile as get_profile
from faktura.domain.invoice import AllowanceCharge, InvoiceInput, Party
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
#: decimal point folded to `:`, and minus signs dropped, four substring tests rule out
#: `_SUSPECT` on almost every request: 11 digits in a row after such a byte, a digit before an
#: exponent, NaN or Infinity. Text that looks like one merely takes the regular expression.
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
_EXPONENT = re.compile(b"0E")
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
        elif abs(v) > MAX_ABS:
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
    totals = compute(invoice) if numbers_ok else None
    prof = rules or get_profile(profile or invoice.profile or "peppol-bis-3")
    ctx = Context(
        invoice,
        seller=seller,
        buyer=buyer,
        totals=totals,
        profile=prof.name,
        base=base,
        buyer_pointer=buyer_pointer,
        encoded=(raw, seller_raw, buyer_raw),
    )
    return c.findings + run_plan(_plan_of(prof), ctx), totals


_PLANS: dict[int, tuple[Profile, Plan]] = {}


def _plan_of(prof: Profile) -> Plan:
    """The profile's plan, made once per profile object (versions of a profile share its name)."""
    cached = _PLANS.get(id(prof))
    if cached is None or cached[0] is not prof:
        cached = _PLANS[id(prof)] = (prof, plan(prof.rule_sets, tuple(sorted(prof.overrides.items()))))
    return cached[1]
