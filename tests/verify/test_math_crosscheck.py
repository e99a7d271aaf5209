"""Final answers cross-checked: verify._math against Math-Verify on CHAMP's answers and forms.

The pairs are generated here, deterministically, from CHAMP's 270 reference answers (every
accepted form): the answer itself, LaTeX renderings, text wrappings, whole solutions, another
problem's answer, a perturbed answer; numeric answers also as fractions, decimals, percentages,
degrees, units, dollars, thousands separators; pairs of them as sets, lists, intervals, tuples.
Each pair carries the verdict its construction intends (``equivalent``); the checkers are
compared with each other, not with it (the bench prints it for information).

Math-Verify judges every pair in one subprocess (verify._mathverify). Where the two disagree,
the mathematically right verdict was decided by hand, pair by pair, and recorded with its
reason in math_crosscheck_adjudicated.json (ADJUDICATED); _math.py must give it. Everywhere
else _math.py must agree with Math-Verify. bench/math_crosscheck.py prints the same comparison
with figures.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from monkeys_suites import load_suite
from verify import answers_match, extract_answer
from verify._mathverify import (
    MathVerifyError,
    MathVerifyJudgement,
    MathVerifyPair,
    MathVerifyUnavailable,
    judge_pairs,
)

MIN_PAIRS = 1000


@dataclass(frozen=True)
class CrossPair:
    """One (answer, reference) question, as generated."""

    category: str
    answer: str
    reference: str
    equivalent: bool  # what the construction intends
    solution: bool = False  # `answer` is a whole solution text (extraction is judged too)

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.answer, self.reference, self.solution)


@dataclass(frozen=True)
class Adjudication:
    """The right verdict on a pair where _math.py and Math-Verify disagree, and why."""

    verdict: bool
    reason: str  # a short category: it groups the disagreements in reports


# ---------------------------------------------------------------- generation


def champ_answer_forms() -> list[tuple[str, ...]]:
    """Every problem's accepted answer forms, in CHAMP's order."""
    out = []
    for p in load_suite("champ").problems:
        assert p.answer is not None
        out.append((p.answer, *p.answers))
    return out


def _balanced_call(s: str, name: str, render: Callable[[str], str]) -> str:
    """Replace ``name(...)`` (parentheses balanced) by render(inside)."""
    out: list[str] = []
    i = 0
    for m in re.finditer(rf"(?<![A-Za-z]){name}\(", s):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            j += 1
        if depth:
            continue
        out += [s[i : m.start()], render(s[m.end() : j - 1])]
        i = j
    return "".join([*out, s[i:]])


_GROUP = r"\((?:[^()]|\([^()]*\))*\)"
_OPERAND = rf"(?:{_GROUP}|[0-9A-Za-z.]+)(?:\^\{{[^{{}}]*\}}|!)?"


def _unparen(s: str) -> str:
    if re.fullmatch(_GROUP, s):
        return s[1:-1]
    return s


def latexify(s: str) -> str:
    """CHAMP's plain notation ("sqrt(3)/3", "2^(n-1)", "C(10, 5)") as LaTeX."""
    s = s.replace("−", "-").replace("±", "\\pm ").replace("≥", "\\geq ").replace("≤", "\\leq ")
    s = _balanced_call(s, "sqrt", lambda x: "\\sqrt{" + x + "}")
    s = _balanced_call(s, "floor", lambda x: "{\\lfloor " + x + " \\rfloor}")
    s = _balanced_call(
        s, "C", lambda x: "\\binom{" + "}{".join(a.strip() for a in x.split(",")) + "}"
    )
    s = re.sub(r"\^\(((?:[^()]|\([^()]*\))*)\)", r"^{\1}", s)
    s = re.sub(r"\^(\d{2,})", r"^{\1}", s)
    s = re.sub(
        rf"(?<![\w!^]){_OPERAND}/{_OPERAND}",
        lambda m: _frac(m.group(0)),
        s,
    )
    s = s.replace("*", " \\cdot ")
    return s


def _frac(text: str) -> str:
    m = re.fullmatch(rf"({_OPERAND})/({_OPERAND})", text)
    assert m is not None
    return "\\frac{" + _unparen(m.group(1)) + "}{" + _unparen(m.group(2)) + "}"


_MATH_WORDS = {"sqrt", "floor", "sum"}


def is_text(s: str) -> bool:
    """A worded answer ("No integer solutions", "3 is the only possible value")."""
    return any(w.lower() not in _MATH_WORDS for w in re.findall(r"[A-Za-z]{3,}", s))


def perturbed(s: str) -> str | None:
    """A different answer of the same shape: the last integer plus one, yes for no, or the
    statement without its "not"; None when there is no such change."""
    nums = list(re.finditer(r"\d+", s))
    if nums:
        m = nums[-1]
        return s[: m.start()] + str(int(m.group()) + 1) + s[m.end() :]
    swap = {"yes": "No", "no": "Yes"}.get(s.strip().lower())
    if swap:
        return swap
    if re.search(r"\bnot\b", s):
        return re.sub(r"\s*\bnot\b", "", s, count=1)
    return None


def _content_key(s: str) -> tuple[str, ...]:
    nums = re.findall(r"\d+", s)
    return tuple(nums) if nums else (s.strip().lower(),)


def rational(s: str) -> Fraction | None:
    m = re.fullmatch(r"(-?\d+)(?:/(\d+))?", s.strip())
    return Fraction(int(m.group(1)), int(m.group(2) or 1)) if m else None


def _decimal(v: Fraction) -> str | None:
    """The exact decimal of v ("-0.25", "144"), when it terminates."""
    digits = 0
    while (v * 10**digits).denominator != 1:
        digits += 1
        if digits > 60:
            return None
    scaled = abs(v.numerator * 10**digits // v.denominator)
    whole, frac = divmod(scaled, 10**digits)
    sign = "-" if v < 0 else ""
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def _rounded(v: Fraction, places: int) -> str:
    """v rounded to `places` decimals, exactly."""
    return _decimal(Fraction(round(v * 10**places), 10**places)) or ""


def _frac_latex(v: Fraction, cmd: str = "frac") -> str:
    sign = "-" if v < 0 else ""
    return f"{sign}\\{cmd}{{{abs(v.numerator)}}}{{{v.denominator}}}"


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def champ_pairs(forms: list[tuple[str, ...]]) -> Iterator[CrossPair]:
    """Pairs built from each answer form as written."""
    firsts = [f[0] for f in forms]
    for i, answers in enumerate(forms):
        for form in answers:
            yield CrossPair("champ/as-written", form, form, True)
            tex = latexify(form)
            if tex != form:
                yield CrossPair("champ/latex", tex, form, True)
            if is_text(form):
                yield CrossPair("text/\\text", f"\\text{{{form}}}", form, True)
                if form.lower() != form:
                    yield CrossPair("text/case", form.lower(), form, True)
                yield CrossPair("text/full-stop", form + ".", form, True)
            other = next(
                (
                    firsts[j % len(firsts)]
                    for j in range(i + 1, i + len(firsts))
                    if _content_key(firsts[j % len(firsts)]) != _content_key(form)
                ),
                None,
            )
            if other is not None:
                yield CrossPair("champ/other-answer", other, form, False)
            wrong = perturbed(form)
            if wrong is not None:
                yield CrossPair("champ/perturbed", wrong, form, False)
            yield CrossPair(
                "solution/boxed",
                f"We simplify step by step. Therefore the final answer is $\\boxed{{{tex}}}$.",
                form,
                True,
                solution=True,
            )
            if wrong is not None:
                yield CrossPair(
                    "solution/boxed",
                    f"Putting it together, the answer is $\\boxed{{{latexify(wrong)}}}$.",
                    form,
                    False,
                    solution=True,
                )
        for alt in answers[1:]:
            # CHAMP's "5/14, or approximately 35.7%": an accepted answer, but not equal
            approximate = "." in alt or "%" in alt
            yield CrossPair("champ/alternative-form", alt, answers[0], not approximate)


def numeric_pairs(forms: list[tuple[str, ...]]) -> Iterator[CrossPair]:
    """Pairs from the answers that are rationals, in other notations."""
    values = [v for answers in forms for f in answers if (v := rational(f)) is not None]
    seen: set[Fraction] = set()
    for v in values:
        if v in seen:
            continue
        seen.add(v)
        ref = _num(v)
        near = v + Fraction(1, 2 * v.denominator)  # never equal, same shape
        if v.denominator != 1:
            for cmd in ("frac", "dfrac", "tfrac"):
                yield CrossPair("fraction", _frac_latex(v, cmd), ref, True)
            yield CrossPair("fraction", f"\\frac{{{v.numerator}}}{{{v.denominator}}}", ref, True)
            yield CrossPair("fraction", _frac_latex(near), ref, False)
            yield CrossPair(
                "fraction", f"\\frac{{{v.denominator}}}{{{v.numerator}}}", ref, v * v == 1
            )
        else:
            yield CrossPair("fraction", f"\\frac{{{2 * v.numerator}}}{{2}}", ref, True)
            yield CrossPair("fraction", f"\\frac{{{2 * v.numerator + 1}}}{{2}}", ref, False)
        exact = _decimal(v)
        if exact is not None:
            point = exact if "." in exact else exact + "."
            yield CrossPair("decimal", point + "0", ref, True)
            yield CrossPair("decimal", point + "000", ref, True)
        else:
            yield CrossPair("decimal", _rounded(v, 10), ref, True)
            yield CrossPair("decimal", _rounded(v, 3), ref, False)
        yield CrossPair("decimal", _decimal(near) or _rounded(near, 4), ref, False)
        pct = _decimal(v * 100) or _rounded(v * 100, 8)
        yield CrossPair("percent", f"{pct}\\%", ref, True)
        yield CrossPair("percent", f"{pct if '.' in pct else pct + '.0'}\\%", ref, True)
        # "%" binds tighter than "/": 5/14% is 5/(14%), not (5/14)%
        yield CrossPair("percent", f"{ref}\\%", ref, v.denominator == 1)
        yield CrossPair("percent", f"{_frac_latex(v)}\\%", ref, True)
        yield CrossPair("percent", f"{_num(near)}\\%", ref, False)
        if v.denominator == 1:
            n = v.numerator
            yield CrossPair("degrees", f"{n}^\\circ", ref, True)
            yield CrossPair("degrees", f"{n}^{{\\circ}}", ref, True)
            yield CrossPair("degrees", f"{n}°", ref, True)
            yield CrossPair("degrees", f"{n} degrees", ref, True)
            yield CrossPair("degrees", f"{n + 1}^\\circ", ref, False)
            yield CrossPair("units", f"{n} \\text{{ cm}}", ref, True)
            yield CrossPair("units", f"{n}\\text{{ apples}}", ref, True)
            yield CrossPair("units", f"{n} meters", ref, True)
            yield CrossPair("units", f"{n + 1} \\text{{ cm}}", ref, False)
            yield CrossPair("dollars", f"\\${n}", ref, True)
            yield CrossPair("dollars", f"\\${n}.00", ref, True)
            yield CrossPair("dollars", f"\\${n + 1}", ref, False)
            yield CrossPair("assignment", f"x = {n}", ref, True)
            yield CrossPair("assignment", f"x = {n + 1}", ref, False)
            if abs(n) >= 1000:
                yield CrossPair("thousands", f"{n:,}", ref, True)
                yield CrossPair("thousands", f"{n + 1:,}", ref, False)
                yield CrossPair("thousands", f"{n:,}", f"{n:,}".replace(",", "."), False)


def collection_pairs(forms: list[tuple[str, ...]]) -> Iterator[CrossPair]:
    """Sets, bare lists, intervals and tuples of consecutive distinct integer answers."""
    values = {rational(f) for answers in forms for f in answers}
    ints = sorted(int(v) for v in values if v is not None and v.denominator == 1)
    for a, b in itertools.pairwise(ints):
        yield CrossPair("set", f"\\{{{a}, {b}\\}}", f"\\{{{b},{a}\\}}", True)
        yield CrossPair("set", f"\\{{{a}, {b}\\}}", f"\\{{{a}, {b + 1}\\}}", False)
        yield CrossPair("set", f"\\{{{a}, {b}, {b + 1}\\}}", f"\\{{{a}, {b}\\}}", False)
        yield CrossPair("list", f"{a}, {b}", f"{b}, {a}", True)
        yield CrossPair("list", f"{a} and {b}", f"{a}, {b}", True)
        yield CrossPair("list", f"{a}, {b}", f"{a}, {b + 1}", False)
        yield CrossPair("interval", f"({a},{b}]", f"({a}, {b}]", True)
        yield CrossPair("interval", f"\\left({a}, {b}\\right]", f"({a}, {b}]", True)
        yield CrossPair("interval", f"[{a}, {b}]", f"({a}, {b}]", False)
        yield CrossPair("interval", f"[{a}, {b})", f"[{a}, {b}]", False)
        yield CrossPair("interval", f"[{a}, \\infty)", f"[{a},\\infty)", True)
        yield CrossPair("interval", f"(-\\infty, {b})", f"(-\\infty, {b}]", False)
        yield CrossPair("tuple", f"({a}, {b})", f"\\left( {a}, {b} \\right)", True)
        yield CrossPair("tuple", f"({b}, {a})", f"({a}, {b})", False)


def generate_pairs() -> list[CrossPair]:
    """Every pair, deduplicated (first category wins), in a fixed order."""
    forms = champ_answer_forms()
    out: dict[tuple[str, str, bool], CrossPair] = {}
    for gen in (champ_pairs, numeric_pairs, collection_pairs):
        for pair in gen(forms):
            out.setdefault(pair.key, pair)
    return list(out.values())


# ---------------------------------------------------------------- the two checkers


def math_verdict(pair: CrossPair) -> bool:
    """_math.py's verdict, as the final-answer verifier reaches it."""
    answer = extract_answer(pair.answer) if pair.solution else pair.answer
    return answer is not None and answers_match(answer, pair.reference)


@dataclass(frozen=True)
class CrossCheck:
    """Both checkers' verdicts on every generated pair."""

    pairs: list[CrossPair]
    ours: list[bool]
    theirs: list[MathVerifyJudgement]
    seconds: float

    @property
    def disagreements(self) -> list[tuple[CrossPair, bool, MathVerifyJudgement]]:
        return [
            (p, o, t)
            for p, o, t in zip(self.pairs, self.ours, self.theirs, strict=True)
            if o != t.match
        ]


def run_crosscheck(pairs: list[CrossPair] | None = None) -> CrossCheck:
    """Both checkers on every pair; Math-Verify's child process runs while _math.py works."""
    t = time.monotonic()
    pairs = generate_pairs() if pairs is None else pairs
    theirs: list[MathVerifyJudgement] = []
    failure: list[BaseException] = []

    def ask_math_verify() -> None:
        try:
            theirs.extend(
                judge_pairs([MathVerifyPair(p.answer, p.reference, p.solution) for p in pairs])
            )
        except BaseException as e:  # re-raised on the calling thread
            failure.append(e)

    worker = threading.Thread(target=ask_math_verify)
    worker.start()
    ours = [math_verdict(p) for p in pairs]
    worker.join()
    if failure:
        raise failure[0]
    return CrossCheck(pairs, ours, theirs, time.monotonic() - t)


# ---------------------------------------------------------------- adjudicated disagreements

ADJUDICATED_FILE = Path(__file__).with_name("math_crosscheck_adjudicated.json")


def load_adjudicated(path: Path = ADJUDICATED_FILE) -> dict[tuple[str, str, bool], Adjudication]:
    """The hand-decided verdicts of the disagreements: {(answer, reference, solution): ...}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[tuple[str, str, bool], Adjudication] = {}
    for group in data["groups"]:
        adjudication = Adjudication(bool(group["verdict"]), str(group["reason"]))
        for answer, reference, solution in group["pairs"]:
            key = (str(answer), str(reference), bool(solution))
            if key in out:
                raise ValueError(f"{path.name}: adjudicated twice: {key}")
            out[key] = adjudication
    return out


ADJUDICATED = load_adjudicated()


# ---------------------------------------------------------------- the cross-check


@pytest.fixture(scope="module")
def crosscheck() -> CrossCheck:
    return run_crosscheck()


def test_enough_pairs_of_every_kind() -> None:
    pairs = generate_pairs()
    assert len(pairs) >= MIN_PAIRS
    assert len({p.key for p in pairs}) == len(pairs)
    assert pairs == generate_pairs()  # deterministic
    kinds = {p.category.split("/")[0] for p in pairs}
    assert kinds == {
        "champ", "text", "solution", "fraction", "decimal", "percent", "degrees", "units",
        "dollars", "assignment", "thousands", "set", "list", "interval", "tuple",
    }  # fmt: skip
    assert sum(p.equivalent for p in pairs) > len(pairs) // 4
    assert sum(not p.equivalent for p in pairs) > len(pairs) // 4
    assert sum(p.solution for p in pairs) > 200


def test_math_agrees_with_math_verify_outside_the_adjudicated(crosscheck: CrossCheck) -> None:
    unexpected = [
        (p.category, p.answer, p.reference, f"ours={ours}", f"math-verify={theirs.match}")
        for p, ours, theirs in crosscheck.disagreements
        if p.key not in ADJUDICATED
    ]
    assert unexpected == []


def test_adjudicated_pairs_are_still_disagreements(crosscheck: CrossCheck) -> None:
    """Each adjudicated pair is generated, and Math-Verify still gives the other verdict (a
    stale entry fails here, so the table stays the list of disagreements)."""
    theirs = {p.key: t.match for p, t in zip(crosscheck.pairs, crosscheck.theirs, strict=True)}
    assert set(ADJUDICATED) <= set(theirs)
    assert [k for k, adj in ADJUDICATED.items() if theirs[k] == adj.verdict] == []
    intended = {p.key: p.equivalent for p in crosscheck.pairs}
    assert [k for k, adj in ADJUDICATED.items() if intended[k] != adj.verdict] == []


def test_crosscheck_time(crosscheck: CrossCheck) -> None:
    assert crosscheck.seconds < 60


@pytest.mark.parametrize(
    ("key", "verdict"),
    [(key, adj.verdict) for key, adj in ADJUDICATED.items()],
    ids=[f"{i}-{adj.reason[:30]}" for i, adj in enumerate(ADJUDICATED.values())],
)
def test_adjudicated_verdicts(key: tuple[str, str, bool], verdict: bool) -> None:
    answer, reference, solution = key
    assert math_verdict(CrossPair("adjudicated", answer, reference, verdict, solution)) is verdict


# Where Math-Verify was right and _math.py wrong, before _math.py was fixed (now agreements;
# kept here with the right verdict): (candidate, reference, verdict), checked both ways.
FIXED_BY_THE_CROSSCHECK = [
    ("120, 125", "125, 120", True),  # a comma and a space separate a list, not thousands
    ("376 and 625", "376, 625", True),
    ("x=16 and x=81", "16, 81", True),
    ("2001000.5000", "2001000", False),  # no relative tolerance between exact rationals
    (r"\frac{4002001}{2}", "2001000", False),
    ("1176470588235294.08", "1176470588235294", False),
    ("0.5000001", "1/2", False),
    ("0.3333333", "1/3", True),  # a decimal still rounds a fraction that has none
    ("4002001/2\\%", "2001000", False),  # 4002001/2% is 4002001/(2%)
    ("1/2\\%", "1/2", False),
    ("(x+1)(x-1)(x^2+1)(x^3-x^2+1)", "(x+1)(x-1)(x^2+1)(x^3−x^2+1)", True),  # U+2212 minus
    (r"\frac{n!}{2n}", "n!/(2n)", True),
    (r"\frac{(2n)!}{2^n \cdot n!}", "(2n)!/(2^n*n!)", True),
    (r"n(n-1)(n-2)\frac{n-3}{4!}", "n(n-1)(n-2)(n-3)/4!", True),
    (r"\frac{n!}{2n}", "n!/(3n)", False),
    (r"\sum_{k=1}^{n} \frac{1}{k}", "sum_(k=1)^n 1/k", True),
    (r"\sum_{k=1}^{n} k", "n(n+1)/2", True),
    (r"\sum_{k=1}^{n} k", "n(n-1)/2", False),
    (r"\binom{10}{5}", "252", True),
    (r"\dbinom{n}{2}", "n(n-1)/2", True),
    (r"2^{\lfloor n/2 \rfloor}", "2^floor(n/2)", True),
    (r"2^{\lfloor n/3 \rfloor}", "2^floor(n/2)", False),
    (r"The limit exists and is equal to \frac{2}{3}", "The limit exists and is equal to 2/3", True),
    (
        r"The limit exists and is equal to \frac{3}{2}",
        "The limit exists and is equal to 2/3",
        False,
    ),
    (r"The limit is \frac{2}{3}", "The limit exists and is equal to 2/3", False),
    ("x(n)<y(n-1) for all n\\geq 3", "x(n)<y(n-1) for all n≥3", True),
    (
        r"\frac{(-1)^{n+1}+n+1}{n+2} (i.e., 1 if for odd n, and \frac{n}{n+2} for even n)",
        "((-1)^(n+1)+n+1)/(n+2) (i.e., 1 if for odd n, and n/(n+2) for even n)",
        True,
    ),
    (r"x=\pm 1", "x=±1", True),
    (r"x=\pm 1, \pm 2, \pm \frac{1}{2}", "x=±1, ±2, ±1/2", True),
    (r"\pm 2", "2", False),
    (r"\frac{1}{2}^3, \frac{1}{2}^6, ...", "1/2^3, 1/2^6, ...", True),
    (r"\frac{1}{2}^6, \frac{1}{2}^3, ...", "1/2^3, 1/2^6, ...", False),  # a sequence: ordered
]


@pytest.mark.parametrize(("candidate", "reference", "verdict"), FIXED_BY_THE_CROSSCHECK)
def test_fixed_by_the_crosscheck(candidate: str, reference: str, verdict: bool) -> None:
    assert answers_match(candidate, reference) is verdict
    assert answers_match(reference, candidate) is verdict


HOSTILE = [
    "((((n!)!)!)!)!",
    r"\lfloor 10^{9} n \rfloor!",
    "(n^{n^{n}})!",
    r"\binom{n^{n^n}}{n^{n^n}/2}",
    r"\sum_{k=1}^{n} (10^{9}k)!",
    "sum_(k=1)^(10^9 n) k",
    r"\sum_{k=1}^{10^{100}} k",
    r"\sum_{k=1}^{n}\sum_{j=1}^{k} j",
    r"\lfloor \sqrt{2} \cdot 10^{5000} \rfloor",
    "1000001!",
    r"\binom{10^{9}}{5}",
    "The answer is " + "x and " * 100 + "y",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_new_forms_stay_bounded(text: str) -> None:
    answers_match("1", "1")  # sympy imported
    t = time.monotonic()
    for reference in ("1", "n", r"\sum_{k=1}^{n} k", "n!"):
        assert not answers_match(text, reference)
    assert time.monotonic() - t < 2.0


# ---------------------------------------------------------------- the wrapper


def test_wrapper_judges_off_the_main_thread() -> None:
    """Math-Verify's SIGALRM timeouts fail off the main thread; the child has its own."""
    pairs = [MathVerifyPair("\\frac{1}{2}", "0.5"), MathVerifyPair("3", "4")]
    got: list[MathVerifyJudgement] = []
    t = threading.Thread(target=lambda: got.extend(judge_pairs(pairs)))
    t.start()
    t.join()
    assert [j.match for j in got] == [True, False]
    assert got[0].reference_parsed == "1/2"
    assert got[1].answer_parsed == "3"


def test_wrapper_reads_whole_solutions() -> None:
    text = "First 3, then $\\boxed{\\frac{3}{4}}$."
    got = judge_pairs([MathVerifyPair(text, "0.75", solution=True)])
    assert [j.match for j in got] == [True]


def test_wrapper_hard_timeout_kills_the_child() -> None:
    with pytest.raises(MathVerifyError, match="hard timeout"):
        judge_pairs([MathVerifyPair("1", "1")], timeout_s=0.01)


def test_wrapper_says_when_math_verify_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import verify._mathverify as mv

    monkeypatch.setattr(mv, "math_verify_available", lambda python=None: False)
    with pytest.raises(MathVerifyUnavailable, match="pip install"):
        judge_pairs([MathVerifyPair("1", "1")])


def test_wrapper_empty_batch_starts_nothing() -> None:
    assert judge_pairs([]) == []
