"""EPC QR code ("GiroCode"): a SEPA credit transfer a banking app can scan.

Payload per EPC069-12 "Quick Response Code: Guidelines to Enable Data Capture for the
Initiation of a SEPA Credit Transfer", version 002, character set 1 (UTF-8), one field a
line: service tag BCD, version, charset, identification SCT, BIC (optional in 002),
beneficiary name (≤ 70), IBAN, amount `EUR#.##` (0.01 ... 999999999.99), purpose,
structured reference, unstructured remittance (≤ 140), information. The whole payload
must not exceed 331 bytes; error correction level M.
"""

from __future__ import annotations

from decimal import Decimal

import segno

MAX_AMOUNT = Decimal("999999999.99")
MAX_BYTES = 331


def epc_payload(
    *, name: str, iban: str, amount: Decimal, bic: str | None = None, remittance: str | None = None
) -> str | None:
    """The EPC payload, or None when the transfer cannot be expressed (amount out of range)."""
    if amount < Decimal("0.01") or amount > MAX_AMOUNT:
        return None
    fields = [
        "BCD",
        "002",
        "1",
        "SCT",
        (bic or "").replace(" ", ""),
        name.strip()[:70],
        iban.replace(" ", "").upper(),
        f"EUR{amount:.2f}",
        "",
        "",
        (remittance or "").strip()[:140],
    ]
    payload = "\n".join(fields).rstrip("\n")
    while len(payload.encode()) > MAX_BYTES and fields[10]:  # shorten the remittance text
        fields[10] = fields[10][:-10]
        payload = "\n".join(fields).rstrip("\n")
    return payload


def qr_png_data_uri(payload: str) -> str:
    """The symbol as a 1-bit PNG, one pixel a module, for the template to draw scaled up with
    `image-rendering: pixelated`. An SVG of the same symbol cost WeasyPrint ~20 ms a PDF to
    parse and draw (a path of some 600 segments); the PNG is one image XObject."""
    qr = segno.make_qr(payload, error="m", encoding="utf-8", boost_error=False)
    return qr.png_data_uri(scale=1, border=0)  # type: ignore[no-any-return]
