"""Grouping final answers by equivalence in about linear time: canonical keys, then
`answers_match` only between answers that share a key.

`answers_match` is not a hash (numbers agree within a relative 1e-6, percentages equal their
value and their value over 100, worded answers match by their words), so grouping n distinct
answers by comparing each with every earlier group is O(n^2) comparisons, each parsing
mathematics. Here every answer gets *keys* such that two equivalent answers always share one:

* each normalised form of the answer (`answers_match` calls two answers with an equal form
  equal);
* a single real value (parsed, or read directly for a plain decimal): its bin on a log scale
  of relative width 1e-5; an answer looks its value up in the bins of value * (1 -+ 2e-6), so
  two values within the 1e-6 tolerance always meet, and a percentage is also filed under its
  value over 100;
* anything else that parses as mathematics: its brackets, its number of items and its free
  symbols (coarse, but such answers are few);
* a worded answer: its words.

`AnswerGroups.key(answer)` then compares the answer only with the earlier representatives
filed under its lookup keys, earliest first, and takes the first that matches: the same
representative the pairwise scan over every representative picks, in O(1) comparisons per
answer when the answers are mostly distinct numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from verify._math import (
    _forms,
    _number,
    _sentence,
    _value_at,
    answers_match,
    parse_answer,
)

#: relative width of a value bin; must exceed 2 * LOOKUP so a lookup spans at most two bins
BIN = 1e-5
#: how far either side of a value its lookup reaches: twice the matching tolerance (1e-6)
LOOKUP = 2e-6
#: below this magnitude values share the "zero" bin: the matching tolerance, max(1e-6 x value,
#: 1e-9), is absolute below 1e-3
TINY = 2e-3
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _bins(v: float) -> set[Hashable]:
    """The value bins of [v (1 - LOOKUP), v (1 + LOOKUP)]: one or two of them."""
    if not math.isfinite(v):
        return {("inf", v > 0)}
    sign = v > 0
    out: set[Hashable] = set()
    step = math.log1p(BIN)
    for m in (abs(v) * (1 - LOOKUP), abs(v) * (1 + LOOKUP)):
        out.add(("zero",) if m < TINY else ("num", sign, math.floor(math.log(m) / step)))
    return out


def _own_bin(v: float) -> Hashable:
    if not math.isfinite(v):
        return ("inf", v > 0)
    if abs(v) < TINY:
        return ("zero",)
    return ("num", v > 0, math.floor(math.log(abs(v)) / math.log1p(BIN)))


_FAST_NUMBER = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?")
_FAST_FRACTION = re.compile(
    r"(-?)(?:\\[dt]?frac\{(-?\d{1,30})\}\{(\d{1,30})\}|(\d{1,30})/(\d{1,30}))"
)


def _plain_value(answer: str) -> float | None:
    """The value of an answer written as a plain integer, decimal or fraction of integers
    (most answers), without normalising or parsing it; None for anything else. Its keys are
    the answer itself and its value's bins: an equivalent answer in another spelling has the
    same value, so it still meets it in a bin."""
    if _FAST_NUMBER.fullmatch(answer):
        return float(answer)  # correctly rounded, as float(Fraction(answer)) is
    m = _FAST_FRACTION.fullmatch(answer)
    if m is None:
        return None
    sign, num, den = m.group(1), m.group(2) or m.group(4), m.group(3) or m.group(5)
    if int(den) == 0:
        return None
    v = float(Fraction(int(num), int(den)))
    return -v if sign else v


def _value(expr: Any) -> complex | None:
    c = _number(expr)
    return _value_at(expr, {}) if c is None else c


@dataclass(frozen=True)
class AnswerKeys:
    """Where an answer is filed (`own`) and where its equivalents may be filed (`lookup`)."""

    own: frozenset[Hashable]
    lookup: frozenset[Hashable]


def answer_keys_of(answer: str) -> AnswerKeys:
    """The keys of one final answer (see the module doc). Equivalent answers (by
    `answers_match`) always share a key: one's `lookup` meets the other's `own`."""
    fast = _plain_value(answer)
    if fast is not None:
        bins = _bins(fast)
        return AnswerKeys(
            frozenset({("str", answer), _own_bin(fast)}), frozenset({("str", answer), *bins})
        )
    own: set[Hashable] = set()
    lookup: set[Hashable] = set()
    for form in _forms(answer):
        if not form:
            continue
        own.add(("str", form))
        lookup.add(("str", form))
        if _PLAIN_NUMBER.fullmatch(form):  # most answers: no parser needed
            v = float(Fraction(form))
            own.add(_own_bin(v))
            lookup |= _bins(v)
            continue
        parsed = parse_answer(form)
        if parsed is None:
            continue
        items = parsed.items
        value = _value(items[0]) if len(items) == 1 and not parsed.open else None
        if (
            value is not None
            and abs(value.imag) <= 1e-12 * max(1.0, abs(value.real))
            and not items[0].free_symbols
        ):
            # a percentage p% equals p and p / 100: filed and looked up under both
            for v in [value.real] + ([value.real / 100] if parsed.percent else []):
                own.add(_own_bin(v))
                lookup |= _bins(v)
            continue
        symbols = frozenset(str(s) for item in items for s in getattr(item, "free_symbols", ()))
        coarse = ("math", parsed.open, parsed.close, len(items), symbols)
        own.add(coarse)
        lookup.add(coarse)
    sentence = _sentence(answer)
    if sentence is not None:
        words = ("words", tuple(sentence[0]))
        own.add(words)
        lookup.add(words)
    return AnswerKeys(frozenset(own), frozenset(lookup))


@dataclass
class AnswerGroups:
    """Maps each answer to the representative of its group: the first answer seen that
    `match`es it (by default `answers_match`), as a scan of every earlier representative
    would, comparing only with representatives that share a key."""

    match: Callable[[str, str], bool] = answers_match
    _seen: dict[str, str] = field(default_factory=dict)
    _order: dict[str, int] = field(default_factory=dict)  # representative -> first seen
    _filed: dict[Hashable, list[str]] = field(default_factory=dict)

    def key(self, answer: str) -> str:
        rep = self._seen.get(answer)
        if rep is not None:
            return rep
        keys = answer_keys_of(answer)
        candidates = {r for k in keys.lookup for r in self._filed.get(k, ())}
        rep = answer  # a new group unless an earlier representative matches
        if candidates:
            order = sorted(candidates, key=self._order.__getitem__)
            rep = next((r for r in order if self.match(answer, r)), answer)
        if rep == answer:
            self._order[answer] = len(self._order)
            for k in keys.own:
                self._filed.setdefault(k, []).append(answer)
        self._seen[answer] = rep
        return rep
