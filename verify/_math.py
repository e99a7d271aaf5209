"""Final answers of math solutions: extraction, normalisation, and equivalence.

Extraction takes the last ``\\boxed{...}`` (braces balanced), else the last ``#### x`` line,
else the last "the (final) answer is x" / "Answer: x", else the last number in the text.

Equivalence compares two answers as strings after normalisation (LaTeX spacing, ``\\text``,
``\\dfrac``, degrees, dollars, thousands separators, a leading ``x =``), then as mathematics:
each side is parsed by a small recursive-descent parser of its own (numbers, letters,
``+ - * / ^``, ``\\frac``, ``\\sqrt``, ``\\pi``, ``\\infty``, ``\\cdot``, a few functions,
implicit products) straight into sympy objects. Model text is never evaluated: no ``eval``,
no ``sympify``, no ``parse_expr``. Inputs are bounded (length, digits, exponent sizes, nesting),
so a comparison takes milliseconds whatever the text. Two expressions are equal when they agree
numerically (relative 1e-6) - at random points when they have free symbols. Percentages match
their value or the value over 100; intervals and tuples match element-wise with the same
brackets; bare lists and sets (``\\{1, 2\\}``) match as multisets.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_LEN = 400  # characters of a normalised answer the parser accepts
MAX_TOKENS = 200
MAX_DIGITS = 60  # of one number literal
MAX_MAGNITUDE = 10_000  # decimal digits of any intermediate power
MAX_DEPTH = 40
REL_TOL = 1e-6
ABS_TOL = 1e-9

# ---------------------------------------------------------------- extraction

_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*(\{)?")
_ANSWER_IS_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)\s*(?:\.\s|\.?$|\n)",
    re.I | re.M,
)


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The content of the brace group opening at text[start - 1] == "{", and its end."""
    depth, i = 1, start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
        i += 1
    return None


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (or ``\\boxed 5``)."""
    last: str | None = None
    for m in _BOXED_RE.finditer(text):
        if m.group(1):
            got = _braced(text, m.end())
            if got is not None:
                last = got[0]
        else:
            word = re.match(r"\s*([^\s$.,;]+)", text[m.end() :])
            if word:
                last = word.group(1)
    return last


def extract_answer(text: str) -> str | None:
    """The final answer of a solution (see the module doc for the order), or None."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    hashes = re.findall(r"^\s*####\s*(.+?)\s*$", text, re.M)
    if hashes:
        return str(hashes[-1])
    said = _ANSWER_IS_RE.findall(text)
    if said:
        phrase = str(said[-1]).strip().strip("$").strip()
        if phrase:
            return phrase
    numbers = _NUMBER_RE.findall(text)
    return str(numbers[-1]) if numbers else None


# ---------------------------------------------------------------- normalisation

_TEXT_CMDS = r"\\(?:text|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname)"
_SPACING = re.compile(r"\\(?:left|right|displaystyle|,|!|;|:|quad|qquad|\s)|\\big[lr]?|\\Big[lr]?")


def _unwrap(s: str, cmd_re: str, keep: bool) -> str:
    """Replace ``\\cmd{x}`` by x (keep) or by nothing, braces balanced."""
    out = []
    i = 0
    for m in re.finditer(cmd_re + r"\s*\{", s):
        if m.start() < i:
            continue
        got = _braced(s, m.end())
        if got is None:
            continue
        out.append(s[i : m.start()])
        if keep:
            out.append(got[0])
        i = got[1]
    out.append(s[i:])
    return "".join(out)


def normalize_answer(s: str, *, keep_text: bool = True) -> str:
    """A canonical string for an answer (lower-cased, no spaces, LaTeX noise removed)."""
    s = s.strip()
    s = re.sub(r"^\$+|\$+$", "", s).strip()
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = _unwrap(s, r"\\(?:boxed|fbox)", True)
    s = _unwrap(s, _TEXT_CMDS, keep_text)
    s = _SPACING.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = re.sub(r"\^\s*\{?\\circ\}?|\\degree|°|\bdegrees?\b", "", s)
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\%", "%")
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", s)
    s = re.sub(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])", r"\1~", s)  # "\ln e": keep them apart
    s = re.sub(r"\s+", "", s).rstrip(".")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    s = re.sub(r"^[a-zA-Z](?:_\{?\w+\}?)?=(?!=)", "", s)  # "x=5" -> "5"
    m = re.fullmatch(r"\(([a-zA-Z])\)", s)  # "(B)" -> "b"
    if m:
        s = m.group(1)
    return s.lower()


# ---------------------------------------------------------------- the safe parser


class MathParseError(ValueError):
    """The text is not an expression this parser accepts (or exceeds its bounds)."""


_TOKEN_RE = re.compile(
    r"[\s~]*(?:(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4}(?![\d.]))?)"
    r"|(?P<cmd>\\[a-zA-Z]+|\\\{|\\\})|(?P<word>[a-zA-Z]+)|(?P<op>[-+*/^(){}\[\],|]))"
)
_WORDS = {"pi", "sqrt", "sin", "cos", "tan", "ln", "log", "exp", "inf", "infty", "infinity"}
_FUNCS = {"sin", "cos", "tan", "ln", "log", "exp", "sec", "csc", "cot", "arcsin", "arccos",
          "arctan"}  # fmt: skip


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "cmd", "sym", "op"
    text: str


def _tokenize(s: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(s):
        m = _TOKEN_RE.match(s, i)
        if m is None or m.end() == i:
            if s[i:].strip(" \t\n~") == "":
                break
            raise MathParseError(f"unexpected character {s[i]!r}")
        i = m.end()
        if m.group("num") is not None:
            text = m.group("num")
            mantissa, _, exponent = text.lower().partition("e")
            if len(mantissa.replace(".", "")) > MAX_DIGITS:
                raise MathParseError("number too long")
            if exponent and abs(int(exponent)) > MAX_MAGNITUDE:
                raise MathParseError("number too large")
            toks.append(_Tok("num", text))
        elif m.group("cmd") is not None:
            toks.append(_Tok("cmd", m.group("cmd")[1:]))
        elif m.group("word") is not None:
            word = m.group("word")
            if word.lower() in _WORDS or word.lower() in _FUNCS:
                toks.append(_Tok("cmd", word.lower()))
            elif len(word) >= 3:
                raise MathParseError(f"a word, not mathematics: {word!r}")
            else:
                toks.extend(_Tok("sym", ch) for ch in word)
        else:
            toks.append(_Tok("op", m.group("op")))
        if len(toks) > MAX_TOKENS:
            raise MathParseError("too many tokens")
    return toks


class _Parser:
    """Recursive descent: expr := term (+|- term)*; term := unary ((*|/|implicit) unary)*;
    unary := (+|-) unary | power; power := atom (^ unary)?."""

    def __init__(self, toks: list[_Tok], sp: Any) -> None:
        self.toks = toks
        self.i = 0
        self.sp = sp
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise MathParseError("unexpected end")
        self.i += 1
        return t

    def expect(self, text: str) -> None:
        t = self.take()
        if t.text != text:
            raise MathParseError(f"expected {text!r}, got {t.text!r}")

    def at(self, *texts: str) -> bool:
        t = self.peek()
        return t is not None and t.kind in ("op", "cmd") and t.text in texts

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathParseError("nested too deeply")

    def expr(self) -> Any:
        self.enter()
        value = self.term()
        while self.at("+", "-", "pm"):
            op = self.take().text
            if op == "pm":
                raise MathParseError("\\pm has two values")
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        self.depth -= 1
        return value

    def starts_atom(self) -> bool:
        t = self.peek()
        if t is None:
            return False
        if t.kind in ("num", "sym"):
            return True
        if t.kind == "cmd":
            return t.text not in ("cdot", "times", "div", "pm")
        return t.text in ("(", "{")

    def term(self) -> Any:
        value = self.unary()
        while True:
            if self.at("*", "cdot", "times"):
                self.take()
                value = value * self.unary()
            elif self.at("/", "div"):
                self.take()
                den = self.unary()
                if den == 0:
                    raise MathParseError("division by zero")
                value = value / den
            elif self.starts_atom():
                value = value * self.power()
            else:
                return value

    def unary(self) -> Any:
        if self.at("-"):
            self.take()
            return -self.unary()
        if self.at("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if self.at("^"):
            self.take()
            exp = self.group_or_unary()
            return self.pow(base, exp)
        return base

    def pow(self, base: Any, exp: Any) -> Any:
        sp = self.sp
        if exp.is_number and base.is_number:
            try:
                e = abs(float(exp.evalf(15)))
                b = abs(complex(base.evalf(15)))
            except (TypeError, ValueError, OverflowError) as err:
                raise MathParseError("power out of range") from err
            if e > MAX_MAGNITUDE:
                if b not in (0.0, 1.0):
                    raise MathParseError("power too large")
            elif b > 0 and e * abs(math.log10(b)) > MAX_MAGNITUDE:
                raise MathParseError("power too large")
        elif exp.is_number:
            try:
                if abs(float(exp.evalf(15))) > 1000:
                    raise MathParseError("power too large")
            except (TypeError, ValueError) as err:
                raise MathParseError("power out of range") from err
        return sp.Pow(base, exp)

    def group_or_unary(self) -> Any:
        if self.at("{"):
            return self.group()
        if self.at("-"):
            self.take()
            return -self.group_or_unary()
        return self.atom()

    def group(self) -> Any:
        self.expect("{")
        value = self.expr()
        self.expect("}")
        return value

    def atom(self) -> Any:
        sp = self.sp
        t = self.take()
        if t.kind == "num":
            return sp.Integer(t.text) if t.text.isdigit() else sp.Rational(t.text.lower())
        if t.kind == "sym":
            return sp.Symbol(t.text)
        if t.kind == "op":
            if t.text == "(":
                value = self.expr()
                self.expect(")")
                return value
            if t.text == "{":
                value = self.expr()
                self.expect("}")
                return value
            if t.text == "|":
                value = self.expr()
                self.expect("|")
                return sp.Abs(value)
            raise MathParseError(f"unexpected {t.text!r}")
        name = t.text
        if name == "frac":
            num = self.group_or_unary()
            den = self.group_or_unary()
            if den == 0:
                raise MathParseError("division by zero")
            return num / den
        if name == "sqrt":
            if self.at("["):
                self.take()
                n = self.expr()
                self.expect("]")
                return sp.root(self.group_or_unary(), n)
            return sp.sqrt(self.group_or_unary())
        if name == "pi":
            return sp.pi
        if name in ("infty", "inf", "infinity"):
            return sp.oo
        if name in _FUNCS:
            arg = self.group_or_unary() if not self.at("(") else self.atom()
            fn = {"ln": sp.log, "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan}.get(
                name, getattr(sp, name, None)
            )
            if fn is None:
                raise MathParseError(f"unknown function {name}")
            return fn(arg)
        raise MathParseError(f"unsupported command \\{name}")


@dataclass(frozen=True)
class Parsed:
    """An answer as mathematics: one expression, or a bracketed/bare sequence of them."""

    items: tuple[Any, ...]
    open: str = ""  # "(", "[", "{" (a set) or "" (one value or a bare list)
    close: str = ""
    percent: bool = False


def _split_top(s: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _parse_expr(s: str) -> Any:
    import sympy

    p = _Parser(_tokenize(s), sympy)
    value = p.expr()
    rest = p.peek()
    if rest is not None:
        raise MathParseError(f"unexpected {rest.text!r}")
    return value


@lru_cache(maxsize=4096)
def parse_answer(s: str) -> Parsed | None:
    """A normalised answer as mathematics, or None when it is not (safe, bounded)."""
    if not s or len(s) > MAX_LEN:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    opener, closer = "", ""
    body = s
    if s.startswith("\\{") and s.endswith("\\}"):
        opener, closer, body = "{", "}", s[2:-2]
    elif len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and len(_split_top(s[1:-1])) > 1:
        opener, closer, body = s[0], s[-1], s[1:-1]
    try:
        items = tuple(_parse_expr(part) for part in _split_top(body))
    except (MathParseError, RecursionError, ArithmeticError, TypeError, ValueError):
        return None
    except Exception:  # sympy can raise its own errors on odd input
        return None
    return Parsed(items, opener, closer, percent)


def _rng_points(symbols: list[Any], n: int = 3) -> list[dict[Any, float]]:
    rng = random.Random(1234567)
    return [{x: rng.uniform(0.5, 2.5) for x in symbols} for _ in range(n)]


def _number(v: Any) -> complex | None:
    try:
        c = complex(v.evalf(30))
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    if math.isnan(c.real) or math.isnan(c.imag):
        return None
    return c


def _close(x: complex, y: complex) -> bool:
    if x == y:
        return True
    if any(math.isinf(v) for v in (x.real, x.imag, y.real, y.imag)):
        return False
    return abs(x - y) <= max(REL_TOL * max(abs(x), abs(y)), ABS_TOL)


def exprs_equal(a: Any, b: Any) -> bool:
    """Numeric equality of two sympy expressions (at random points when symbolic)."""
    import sympy

    if a == b:
        return True
    if a in (sympy.oo, -sympy.oo) or b in (sympy.oo, -sympy.oo):
        return False
    syms = sorted(a.free_symbols | b.free_symbols, key=str)
    if a.free_symbols != b.free_symbols:
        return False
    if not syms:
        if a.is_Integer and b.is_Integer:
            return False  # different integers (a == b was checked): no tolerance
        x, y = _number(a), _number(b)
        return x is not None and y is not None and _close(x, y)
    agreed = 0
    for point in _rng_points(syms):
        x, y = _number(a.subs(point)), _number(b.subs(point))
        if x is None or y is None:
            continue
        if not _close(x, y):
            return False
        agreed += 1
    return agreed >= 2


def _items_equal(a: tuple[Any, ...], b: tuple[Any, ...], ordered: bool) -> bool:
    if len(a) != len(b):
        return False
    if ordered:
        return all(exprs_equal(x, y) for x, y in zip(a, b, strict=True))
    left = list(b)
    for x in a:
        for j, y in enumerate(left):
            if exprs_equal(x, y):
                del left[j]
                break
        else:
            return False
    return True


def parsed_equal(a: Parsed, b: Parsed) -> bool:
    """Same brackets, and equal items (in order for tuples and intervals); a percentage also
    equals its value over 100."""
    if (a.open, a.close) != (b.open, b.close):
        return False
    ordered = a.open in ("(", "[")
    if _items_equal(a.items, b.items, ordered):
        return True
    if a.percent == b.percent:
        return False
    scaled_a = tuple(x / 100 for x in a.items) if a.percent else a.items
    scaled_b = tuple(x / 100 for x in b.items) if b.percent else b.items
    return _items_equal(scaled_a, scaled_b, ordered)


def _unit_stripped(s: str) -> str | None:
    """ "12cm" / "1,000dollars" / "3.5apples" -> the number, when the rest is only letters."""
    m = re.fullmatch(r"(-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)~?[a-z][a-z~]+", s)
    return normalize_answer(m.group(1)) if m else None


def _forms(s: str) -> list[str]:
    forms = [normalize_answer(s)]
    no_text = normalize_answer(s, keep_text=False)
    if no_text and no_text not in forms:
        forms.append(no_text)
    for f in list(forms):
        stripped = _unit_stripped(f)
        if stripped is not None and stripped not in forms:
            forms.append(stripped)
    return forms


def answers_match(candidate: str, reference: str) -> bool:
    """True when the two final answers are equivalent (see the module doc)."""
    a_forms, b_forms = _forms(candidate), _forms(reference)
    if any(a == b and a for a in a_forms for b in b_forms):
        return True
    for a in a_forms:
        pa = parse_answer(a)
        if pa is None:
            continue
        for b in b_forms:
            pb = parse_answer(b)
            if pb is not None and parsed_equal(pa, pb):
                return True
    return False
