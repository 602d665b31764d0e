"""Identifier checks: the Peppol check-digit functions, exactly as the Schematron computes
them (so that our verdict equals the official one), and thin wrappers over python-stdnum
for the checks beyond the Schematron (`FK-*`).

Each function takes the identifier as written (it normalises whitespace as XPath's
`normalize-space()` does) and returns a bool.

>>> gln("4000001000005"), gln("4000001000006")
(True, False)
>>> no_orgnr("987654325"), be_enterprise("0403170701"), se_orgnr("5567321707")
(True, True, True)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from stdnum import ean as _ean
from stdnum import get_cc_module
from stdnum import iban as _iban
from stdnum.de import leitweg as _leitweg

from faktura.compliance.predicates import is_number, normalize_space

_DIGITS = re.compile(r"^[0-9]+$")


@functools.lru_cache(maxsize=4096)
def gln(value: str) -> bool:
    """PEPPOL-COMMON-R040 (`u:gln`): GS1 mod-10 over any number of digits."""
    v = normalize_space(value)
    if not (v.isascii() and v.isdigit()):
        return False
    body = v[-2::-1]  # right to left, without the check digit: weights 3, 1, 3, 1, …
    weighted = 3 * sum(map(int, body[0::2])) + sum(map(int, body[1::2]))
    return (10 - weighted % 10) % 10 == int(v[-1])


def mod11(value: str) -> bool:
    """`u:mod11` (Norwegian organisation number, PEPPOL-COMMON-R041, NO-R-001)."""
    if not value or not _DIGITS.match(value):
        return False
    body = [int(c) for c in reversed(value[:-1])]
    weighted = sum(d * ((i % 6) + 2) for i, d in enumerate(body))
    return int(value) > 0 and (11 - weighted % 11) % 11 == int(value[-1])


@functools.lru_cache(maxsize=4096)
def no_orgnr(value: str) -> bool:
    """PEPPOL-COMMON-R041."""
    v = normalize_space(value)
    return bool(re.match(r"^[0-9]{9}$", v)) and mod11(v)


def dk_cvr(value: str) -> bool:
    """PEPPOL-COMMON-R042 (3.0.18): 'DK' and 8 digits, on the raw text."""
    return len(value) == 10 and value[:2] == "DK" and value[2:].isascii() and value[2:].isdigit()


@functools.lru_cache(maxsize=4096)
def be_enterprise(value: str) -> bool:
    """PEPPOL-COMMON-R043 (`u:mod97-0208`)."""
    v = normalize_space(value)
    return bool(re.match(r"^[0-9]{10}$", v)) and int(v[8:10]) == 97 - int(v[:8]) % 97


def se_orgnr_check(value: str) -> bool:
    """`u:checkSEOrgnr`: Luhn over the first nine digits against the tenth."""
    if not _DIGITS.match(value) or len(value) < 10:
        return False
    main = value[:9]
    total = 0
    for pos in range(1, len(main) + 1):
        d = int(main[len(main) - pos])
        total += (d * 2) % 10 + (d * 2) // 10 if pos % 2 == 1 else d
    return (10 - total % 10) % 10 == int(value[9])


@functools.lru_cache(maxsize=4096)
def se_orgnr(value: str) -> bool:
    """PEPPOL-COMMON-R049."""
    v = normalize_space(value)
    return len(v) == 10 and is_number(v) and se_orgnr_check(v)


@functools.lru_cache(maxsize=4096)
def abn(value: str) -> bool:
    """PEPPOL-COMMON-R050 (`u:abn`)."""
    v = normalize_space(value)
    if not re.match(r"^[0-9]{11}$", v):
        return False
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    digits = [int(c) for c in v]
    digits[0] -= 1
    return sum(w * d for w, d in zip(weights, digits, strict=True)) % 89 == 0


def greek_tin(value: str) -> bool:
    """`u:TinVerification` (GR-R-*): nine digits, weighted mod 11 mod 10."""
    if len(value) < 9 or not value[:9].isdigit():
        return False
    d = [int(c) for c in value[:9]]
    checksum = sum(d[7 - k] * (2 ** (k + 1)) for k in range(8))
    return (checksum % 11) % 10 == d[8]


#: ISO 6523 / EAS scheme -> (rule id, check) for the fatal PEPPOL-COMMON rules.
PEPPOL_SCHEME_CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "0088": ("PEPPOL-COMMON-R040", gln),
    "0192": ("PEPPOL-COMMON-R041", no_orgnr),
    "0184": ("PEPPOL-COMMON-R042", dk_cvr),
    "0208": ("PEPPOL-COMMON-R043", be_enterprise),
    "0007": ("PEPPOL-COMMON-R049", se_orgnr),
    "0151": ("PEPPOL-COMMON-R050", abn),
}

# -- beyond the Schematron (FK-*), over python-stdnum -------------------------------------

_VAT_COUNTRY = {"EL": "gr", "XI": "gb"}


@functools.lru_cache(maxsize=4096)
def vat_id_valid(value: str) -> bool | None:
    """The check digits of a VAT id with its country prefix; None when no module knows it."""
    v = value.strip()
    if len(v) < 3:
        return False
    module = _vat_module(v[:2].upper())
    return None if module is None else bool(module.is_valid(v.upper()))


@functools.cache
def _vat_module(prefix: str) -> Any:
    """python-stdnum's VAT module for a prefix (EL is Greece, XI Northern Ireland), or None."""
    try:
        return get_cc_module(_VAT_COUNTRY.get(prefix, prefix.lower()), "vat")
    except Exception:
        return None


def vat_country(value: str) -> str:
    """The ISO country of a VAT id prefix (EL is Greece, XI Northern Ireland / GB)."""
    prefix = value.strip()[:2].upper()
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)


#: ISO 6523 ICD of the GS1 Global Trade Item Number
GTIN_SCHEME = "0160"


def gtin_valid(value: str) -> bool:
    """A GTIN-8/12/13/14 with its GS1 check digit (python-stdnum's `ean`)."""
    return bool(_ean.is_valid(value))


@functools.lru_cache(maxsize=4096)
def iban_valid(value: str) -> bool:
    return bool(_iban.is_valid(value))


def looks_like_iban(value: str) -> bool:
    return bool(re.match(r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,}$", value.strip().upper()))


LEITWEG = re.compile(r"^[0-9]{2,12}(-[A-Za-z0-9]{1,30})?-[0-9]{2}$")


@functools.lru_cache(maxsize=4096)
def leitweg_valid(value: str) -> bool:
    return bool(_leitweg.is_valid(value))


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: EAS codes whose value is a national VAT id (with or without its prefix).
EAS_VAT = {
    "9914": "AT", "9915": "AT", "9925": "BE", "9930": "DE", "9920": "ES", "9957": "FR", "9944": "NL",
    "0211": "IT", "9906": "IT", "9937": "PT", "9939": "SE", "9932": "GB",
}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def endpoint_valid(scheme: str, value: str) -> bool | None:
    """Does an electronic address fit its EAS scheme? None when we have no check for it."""
    v = value.strip()
    if scheme == "EM":
        return bool(EMAIL.match(v))
    if scheme == "0204":
        return leitweg_valid(v)
    if scheme in EAS_VAT:
        cc = EAS_VAT[scheme]
        candidate = v if v[:2].upper() == cc or (cc == "GR" and v[:2].upper() == "EL") else cc + v
        return vat_id_valid(candidate)
    return None


_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{0,30}$")


@functools.lru_cache(maxsize=4096)
def xr_iban(value: str) -> bool:
    """BR-DE-19/20 exactly as the Schematron computes it: whitespace removed, the shape, then
    mod 97 over the rearranged text with every code point above 64 as `cp - 55` (so a
    lower-case letter counts differently from python-stdnum's IBAN check)."""
    v = "".join(value.split())
    if not _IBAN_SHAPE.match(v):
        return False
    rearranged = v[4:] + v[:2].upper() + v[2:4]
    digits = "".join(str(ord(c) - 55) if ord(c) > 64 else str(ord(c) - 48) for c in rearranged)
    return int(digits) % 97 == 1


#: the memoised verdicts: a service checks its tenants' and customers' identifiers again and
#: again (`bench/validation.py` clears them for its "cold" figure)
CACHES = (
    vat_id_valid,
    iban_valid,
    endpoint_valid,
    leitweg_valid,
    xr_iban,
    gln,
    no_orgnr,
    be_enterprise,
    se_orgnr,
    abn,
)
