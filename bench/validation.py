"""Native compliance engine vs the official Schematron, on the same invoices, in one run.

Generates `--count` invoices (half valid, half mutated; Peppol BIS 3 and XRechnung) with the
differential test's generator, renders each once, then times:

  1. native: `check_invoice` (input shape, totals, every EN 16931 + Peppol/XRechnung + FK-*
     rule) per invoice, best of `--repeat` passes. Identifier check digits (python-stdnum) are
     memoised per value, as a running service memoises its tenants' and customers' ids; the
     "cold" line clears those caches before every pass, so every id is checked afresh;
  2. the same without the FK-* rule set: exactly the rule sets the official validator runs;
  3. official: XSD + EN 16931 + Peppol (or XRechnung) Schematron via saxonche, each XSLT
     compiled once before timing and reused (the compile time is printed separately).

Prints µs per invoice (native), ms per invoice (official) and the ratios.

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
from faktura.compliance import identifiers  # noqa: E402
from faktura.compliance.basic import check_invoice  # noqa: E402
from faktura.compliance.profiles import PROFILES, Profile  # noqa: E402
from faktura.domain.document import PEPPOL_BIS_3, XRECHNUNG_3, build_document  # noqa: E402
from faktura.render.ubl import render_ubl  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=15, help="native passes over the set (best is reported)")
    ap.add_argument("--official-repeat", type=int, default=3, help="official passes (best is reported)")
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

    def native(*, cold: bool) -> float:
        """Best of `repeat` passes, µs per invoice."""
        best = float("inf")
        for _ in range(args.repeat):
            if cold:
                for cache in identifiers.CACHES:
                    cache.cache_clear()
            t0 = time.perf_counter()
            for case, _, _ in cases:
                check_invoice(case.invoice, seller=case.seller, buyer=case.buyer)
            best = min(best, (time.perf_counter() - t0) / len(cases))
        return best * 1e6

    native_us = native(cold=False)
    cold_us = native(cold=True)
    # the official rule sets only: the profiles without Faktura's own FK-* set
    full = dict(PROFILES)
    for name, prof in full.items():
        PROFILES[name] = Profile(
            name=prof.name,
            rule_sets=tuple(rs for rs in prof.rule_sets if rs.source != "faktura"),
            overrides=prof.overrides,
            oracle=prof.oracle,
        )
    official_only_us = native(cold=False)
    PROFILES.update(full)

    # official: compile every stylesheet first, then time the validations
    t0 = time.perf_counter()
    validator = _validator()
    for profile in (PEPPOL_BIS_3, XRECHNUNG_3):
        official_findings(cases[0][2], PROFILES[profile].oracle)
    compile_s = time.perf_counter() - t0
    # the same statistic as the native side: the best of `--official-repeat` passes, each the
    # mean over the invoices
    passes = []
    per: list[float] = []
    for _ in range(args.official_repeat):
        per = []
        for _, profile, xml in cases:
            t0 = time.perf_counter()
            official_findings(xml, PROFILES[profile].oracle)
            per.append(time.perf_counter() - t0)
        passes.append(statistics.mean(per))
    official_ms = min(passes) * 1e3
    _ = validator

    print(f"invoices                  {len(cases)} (seed {args.seed}; 1/4 XRechnung, 1/2 mutated)")
    print(f"native engine             {native_us:10.1f} µs/invoice (best of {args.repeat} passes)")
    print(f"  identifier caches cold  {cold_us:10.1f} µs/invoice")
    print(f"  official rule sets only {official_only_us:10.1f} µs/invoice (without FK-*)")
    print(
        f"official XSD+Schematron   {official_ms:10.2f} ms/invoice (best of {args.official_repeat} passes; "
        f"median of the last {statistics.median(per) * 1e3:.2f} ms)"
    )
    print(f"  one-time XSLT compile   {compile_s:10.2f} s (not included above)")
    print(f"ratio official/native     {official_ms * 1e3 / native_us:10.0f}x")
    print(f"  identifier caches cold  {official_ms * 1e3 / cold_us:10.0f}x")
    print(f"  same rule sets          {official_ms * 1e3 / official_only_us:10.0f}x")


if __name__ == "__main__":
    main()
