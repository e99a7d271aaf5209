"""Cross-check: verify/_math.py against Math-Verify (HuggingFace's checker, used by lighteval,
lm-evaluation-harness, TRL and verl) on the (answer, reference) pairs generated from CHAMP's
answers by tests/verify/test_math_crosscheck.py (the same pairs the test asserts on).

Prints the pair count, the agreement rate, how often each checker gives the verdict the pair
was built to have (for information), and the disagreements by category and by adjudicated
reason (tests/verify/math_crosscheck_adjudicated.json: the right verdict, decided by hand).

Goal: every disagreement adjudicated - PASS when each pair the two checkers disagree on has an
adjudicated verdict, _math.py gives it, and no adjudicated pair has become an agreement.
Needs Math-Verify (in the dev extra: math-verify[antlr4_13_2]).

    .venv/bin/python bench/math_crosscheck.py [--show 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_crosscheck_module() -> ModuleType:
    """tests/verify/test_math_crosscheck.py, imported by path (tests are no package)."""
    path = ROOT / "tests" / "verify" / "test_math_crosscheck.py"
    spec = importlib.util.spec_from_file_location("math_crosscheck_pairs", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", type=int, default=5, help="examples per category")
    args = parser.parse_args()

    xc = load_crosscheck_module()
    adjudicated = xc.ADJUDICATED
    cc = xc.run_crosscheck()
    n = len(cc.pairs)
    disagreements = cc.disagreements
    agree = 1 - len(disagreements) / n
    print(f"pairs: {n} from CHAMP's answers ({sum(p.solution for p in cc.pairs)} whole solutions)")
    print(f"time: {cc.seconds:.1f} s (both checkers, Math-Verify in its own process)")
    print(f"agreement of _math.py and Math-Verify: {n - len(disagreements)}/{n} = {agree:.1%}")
    ours_ok = sum(o == p.equivalent for p, o in zip(cc.pairs, cc.ours, strict=True))
    theirs_ok = sum(t.match == p.equivalent for p, t in zip(cc.pairs, cc.theirs, strict=True))
    print(
        f"verdict the pair was built to have: _math.py {ours_ok / n:.1%}, "
        f"Math-Verify {theirs_ok / n:.1%} (information only: _math.py was fixed on these pairs, "
        "so this is no accuracy estimate)"
    )

    print("\ndisagreements by category (right verdict: _math.py / Math-Verify / unadjudicated):")
    by_category: dict[str, Counter[str]] = {}
    for p, ours, _ in disagreements:
        adj = adjudicated.get(p.key)
        who = "none" if adj is None else ("ours" if adj.verdict == ours else "theirs")
        by_category.setdefault(p.category, Counter())[who] += 1
    for cat, counts in sorted(by_category.items(), key=lambda kv: -sum(kv[1].values())):
        print(
            f"  {cat:24} {sum(counts.values()):4}   "
            f"{counts['ours']} / {counts['theirs']} / {counts['none']}"
        )

    print("\ndisagreements by adjudicated reason:")
    reasons = Counter(
        (adjudicated[p.key].reason, adjudicated[p.key].verdict)
        for p, _, _ in disagreements
        if p.key in adjudicated
    )
    for (reason, verdict), count in reasons.most_common():
        print(f"  {count:4}  {'equivalent' if verdict else 'different ':10}  {reason}")
        examples = [
            p
            for p, _, _ in disagreements
            if p.key in adjudicated and adjudicated[p.key].reason == reason
        ]
        for p in examples[: args.show]:
            print(f"          {p.answer[:70]!r} vs {p.reference[:50]!r}")

    unadjudicated = [(p, o, t) for p, o, t in disagreements if p.key not in adjudicated]
    wrong = [
        p for p, o, _ in disagreements if p.key in adjudicated and adjudicated[p.key].verdict != o
    ]
    matches = {p.key: t.match for p, t in zip(cc.pairs, cc.theirs, strict=True)}
    stale = [k for k, adj in adjudicated.items() if k not in matches or matches[k] == adj.verdict]
    print(f"\nunadjudicated disagreements: {len(unadjudicated)}")
    for p, ours, t in unadjudicated[:20]:
        print(
            f"  {p.category}: {p.answer!r} vs {p.reference!r}: ours {ours}, math-verify {t.match}"
        )
    print(f"adjudicated where _math.py gives the wrong verdict: {len(wrong)}")
    print(f"adjudicated pairs no longer disagreements (stale): {len(stale)}")
    ok = not unadjudicated and not wrong and not stale
    verdict = "PASS" if ok else "FAIL"
    print(f"math_crosscheck: {agree:.1%} (goal: every disagreement adjudicated) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
