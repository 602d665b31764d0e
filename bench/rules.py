"""Where the native engine's time goes: µs per invoice per precondition/screen, rule family and rule.

Runs every rule of each invoice's profile (after its precondition and screen, each screen
asked once per invoice as in `run_plan`; a first uncounted pass warms the identifier caches) on the validation bench's invoices, timing each rule
inside the real loop (contexts are hot, as in `check_invoice`), and subtracts the cost of the
timer itself. A rule that is the first to build a shared view (the document's allowances, the
scheme identifiers) carries that view's cost. Use it to pick what to speed up next; the
end-to-end figure stays `bench/validation.py`.

    .venv/bin/python bench/rules.py [--count 400] [--top 30]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from compliance_cases import make_case  # noqa: E402
from faktura.compliance import basic  # noqa: E402
from faktura.compliance.engine import Context, plan  # noqa: E402
from faktura.compliance.profiles import profile as get_profile  # noqa: E402
from faktura.domain.document import PEPPOL_BIS_3, XRECHNUNG_3  # noqa: E402
from faktura.domain.totals import compute  # noqa: E402


def family(rule_id: str) -> str:
    return rule_id.rsplit("-", 1)[0] if rule_id[-1].isdigit() else rule_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    cases = []
    for i in range(args.count):
        rnd = random.Random(args.seed * 1_000_003 + i)
        cases.append(make_case(rnd, profile=XRECHNUNG_3 if i % 4 == 0 else PEPPOL_BIS_3, mutated=i % 2 == 1))

    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(100_000):
        clock()
    timer = (clock() - t0) / 100_000  # one clock() call; a measurement takes two

    spent: Counter[str] = Counter()
    by_guard: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    guards = 0.0
    for rep in range(args.repeat + 1):  # the first pass warms the identifier caches, uncounted
        if rep == 1:
            spent.clear()
            runs.clear()
            guards = 0.0
            by_guard.clear()
        for case in cases:
            prof = get_profile(case.invoice.profile or PEPPOL_BIS_3)
            raw = basic.encode(case.invoice)
            ctx = Context(
                case.invoice,
                seller=case.seller,
                buyer=case.buyer,
                totals=compute(case.invoice),
                profile=prof.name,
                encoded=(raw, basic.encode(case.seller), basic.encode(case.buyer)),
            )
            steps = plan(tuple(prof.rule_sets), tuple(sorted(prof.overrides.items())))
            verdicts: dict[object, bool] = {}
            for guard, screen, rules in ((w, s, r) for s, _, whens in steps for w, r in whens):
                if guard is not None or screen is not None:
                    t = clock()
                    ok = guard is None or guard(ctx)
                    if ok and screen is not None:  # a screen runs once per request, as in `run_plan`
                        if screen not in verdicts:
                            verdicts[screen] = screen(ctx)
                        ok = verdicts[screen]
                    spent_guard = clock() - t - timer
                    guards += spent_guard
                    by_guard[" & ".join(g.__name__ for g in (guard, screen) if g is not None)] += spent_guard
                    if not ok:
                        continue
                for r, *_ in rules:
                    t = clock()
                    for _ in r.check(ctx):
                        pass
                    spent[r.id] += clock() - t - timer
                    runs[r.id] += 1
    n = args.repeat * len(cases)
    per_inv = {rid: ns / n / 1000 for rid, ns in spent.items()}
    families: Counter[str] = Counter()
    for rid, us in per_inv.items():
        families[family(rid)] += us
    print(f"{len(cases)} invoices × {args.repeat}; rules run per invoice: {sum(runs.values()) / n:.0f}")
    print(f"rules {sum(per_inv.values()):8.1f} µs/invoice, shared preconditions {guards / n / 1000:.1f} µs")
    print("\nby precondition and screen (µs/invoice)")
    for name, ns in by_guard.most_common(args.top):
        print(f"  {name[:50]:50s}{ns / n / 1000:7.2f}")
    print("\nby family (µs/invoice)")
    for name, us in families.most_common(args.top):
        print(f"  {name:28s}{us:7.2f}")
    print("\nby rule (µs/invoice, runs per invoice)")
    for rid, us in sorted(per_inv.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {rid:28s}{us:7.2f}  {runs[rid] / n:4.2f}")


if __name__ == "__main__":
    main()
