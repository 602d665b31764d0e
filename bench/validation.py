"""Native compliance engine vs the official Schematron, on the same invoices, in one run.

Generates `--count` invoices (half valid, half mutated; Peppol BIS 3 and XRechnung) with the
differential test's generator, renders each once, then measures in `--rounds` rounds, each
timing both sides on the whole set, so that the machine's drifting speed affects both alike:

  1. native: `check_invoice` (input shape, totals, every EN 16931 + Peppol/XRechnung + FK-*
     rule) per invoice, the best of `--native-passes` passes in the round. Identifier check
     digits (python-stdnum) are memoised per value, as a running service memoises its
     tenants' and customers' ids;
  2. official: XSD + EN 16931 + Peppol (or XRechnung) Schematron via saxonche, each XSLT
     compiled once before timing and reused (the compile time is printed separately), one
     pass in the round.

The headline ratio is the median of the rounds' ratios. After the rounds: the "cold" line
clears the identifier caches before every pass, so every id is checked afresh, and the "same
rule sets" line runs without the FK-* set, exactly the rule sets the official validator runs.

    .venv/bin/python bench/validation.py [--count 400] [--seed 1] [--rounds 5]
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
    ap.add_argument("--rounds", type=int, default=5, help="rounds, each measuring both sides")
    ap.add_argument("--native-passes", type=int, default=3, help="native passes per round (best is taken)")
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

    def native_pass(*, cold: bool = False) -> float:
        """One pass over the set, µs per invoice."""
        if cold:
            for cache in identifiers.CACHES:
                cache.cache_clear()
        t0 = time.perf_counter()
        for case, _, _ in cases:
            check_invoice(case.invoice, seller=case.seller, buyer=case.buyer)
        return (time.perf_counter() - t0) / len(cases) * 1e6

    def official_pass() -> float:
        """One pass over the set, ms per invoice."""
        t0 = time.perf_counter()
        for _, profile, xml in cases:
            official_findings(xml, PROFILES[profile].oracle)
        return (time.perf_counter() - t0) / len(cases) * 1e3

    # compile every stylesheet first (timed apart), warm the native side's caches
    t0 = time.perf_counter()
    validator = _validator()
    for profile in (PEPPOL_BIS_3, XRECHNUNG_3):
        official_findings(cases[0][2], PROFILES[profile].oracle)
    compile_s = time.perf_counter() - t0
    native_pass()

    # Rounds pair the two sides in time: on a shared machine the speed drifts over seconds, so
    # each round measures both, and the ratio of each round compares like with like. Within a
    # round the native side takes the best of `--native-passes` short passes; the official side
    # makes one pass (it takes seconds).
    rounds: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        native_us = min(native_pass() for _ in range(args.native_passes))
        rounds.append((native_us, official_pass()))
    ratios = sorted(o * 1e3 / n for n, o in rounds)
    median_ratio = statistics.median(ratios)
    best_native = min(n for n, _ in rounds)
    best_official = min(o for _, o in rounds)

    cold_us = min(native_pass(cold=True) for _ in range(args.native_passes))
    # the official rule sets only: the profiles without Faktura's own FK-* set
    full = dict(PROFILES)
    for name, prof in full.items():
        PROFILES[name] = Profile(
            name=prof.name,
            rule_sets=tuple(rs for rs in prof.rule_sets if rs.source != "faktura"),
            overrides=prof.overrides,
            oracle=prof.oracle,
        )
    official_only_us = min(native_pass() for _ in range(args.native_passes))
    PROFILES.update(full)
    _ = validator

    print(f"invoices                  {len(cases)} (seed {args.seed}; 1/4 XRechnung, 1/2 mutated)")
    print(
        f"rounds                    {args.rounds} (each: best of {args.native_passes} native passes, 1 official pass)"
    )
    for i, (n, o) in enumerate(rounds, 1):
        print(f"  round {i}  native {n:7.1f} µs  official {o:6.2f} ms  ratio {o * 1e3 / n:5.0f}x")
    print(f"native engine             {best_native:10.1f} µs/invoice (best round)")
    print(f"  identifier caches cold  {cold_us:10.1f} µs/invoice")
    print(f"  official rule sets only {official_only_us:10.1f} µs/invoice (without FK-*)")
    print(f"official XSD+Schematron   {best_official:10.2f} ms/invoice (best round)")
    print(f"  one-time XSLT compile   {compile_s:10.2f} s (not included above)")
    print(f"ratio official/native     {median_ratio:10.0f}x (median of the rounds; lowest {ratios[0]:.0f}x)")
    print(f"  best round vs best round{best_official * 1e3 / best_native:9.0f}x")
    print(f"  identifier caches cold  {best_official * 1e3 / cold_us:10.0f}x (best official round)")
    print(f"  same rule sets          {best_official * 1e3 / official_only_us:10.0f}x (best official round)")


if __name__ == "__main__":
    main()
