"""Native compliance engine vs the official Schematron, on the same invoices, in one run.

Generates `--count` invoices (half valid, half mutated; Peppol BIS 3 and XRechnung) with the
differential test's generator, renders each once, then times:

  1. native: `check_invoice` (every EN 16931 + Peppol/XRechnung + FK rule) per invoice;
  2. official: XSD + EN 16931 + Peppol (or XRechnung) Schematron via saxonche, each XSLT
     compiled once before timing and reused (the compile time is printed separately).

Prints µs per invoice (native), ms per invoice (official) and the ratio.

    .venv/bin/python bench/validation.py [--count 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from compliance_cases import make_case  # noqa: E402
from conformance import _validator, official_findings  # noqa: E402
from faktura.compliance.basic import check_invoice  # noqa: E402
from faktura.compliance.profiles import PROFILES  # noqa: E402
from faktura.domain.document import PEPPOL_BIS_3, XRECHNUNG_3, build_document  # noqa: E402
from faktura.render.ubl import render_ubl  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5, help="native passes over the set (best is reported)")
    args = ap.parse_args()

    cases = []
    for i in range(args.count):
        rnd = random.Random(args.seed * 1_000_003 + i)
        profile = XRECHNUNG_3 if i % 4 == 0 else PEPPOL_BIS_3
        case = make_case(rnd, profile=profile, mutated=i % 2 == 1)
        inv = case.invoice
        assert inv.issue_date is not None and inv.currency is not None
        doc = build_document(
            inv,
            number=case.number,
            issue_date=inv.issue_date,
            seller=case.seller,
            buyer=case.buyer,
            currency=inv.currency,
            profile=profile,
        )
        cases.append((case, profile, render_ubl(doc)))

    # native: best of `repeat` passes, per invoice
    native = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for case, _, _ in cases:
            check_invoice(case.invoice, seller=case.seller, buyer=case.buyer)
        native.append((time.perf_counter() - t0) / len(cases))
    native_us = min(native) * 1e6

    # official: compile every stylesheet first, then time the validations
    t0 = time.perf_counter()
    validator = _validator()
    for profile in (PEPPOL_BIS_3, XRECHNUNG_3):
        official_findings(cases[0][2], PROFILES[profile].oracle)
    compile_s = time.perf_counter() - t0
    per = []
    for _, profile, xml in cases:
        t0 = time.perf_counter()
        official_findings(xml, PROFILES[profile].oracle)
        per.append(time.perf_counter() - t0)
    official_ms = statistics.mean(per) * 1e3
    _ = validator

    print(f"invoices                  {len(cases)} (seed {args.seed}; 1/4 XRechnung, 1/2 mutated)")
    print(f"native engine             {native_us:10.1f} µs/invoice (best of {args.repeat} passes)")
    print(
        f"official XSD+Schematron   {official_ms:10.2f} ms/invoice (mean; median {statistics.median(per) * 1e3:.2f} ms)"
    )
    print(f"  one-time XSLT compile   {compile_s:10.2f} s (not included above)")
    print(f"ratio official/native     {official_ms * 1e3 / native_us:10.0f}x")


if __name__ == "__main__":
    main()
