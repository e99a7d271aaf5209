"""Final answers of math solutions: extraction, normalisation, and equivalence.

Extraction takes the last ``\\boxed{...}`` (braces balanced), else the last ``#### x`` line,
else the last "the (final) answer is x" / "Answer: x", else the last number in the text.

Equivalence compares two answers as strings after normalisation (LaTeX spacing, ``\\text``,
``\\dfrac``, Unicode symbols such as the minus sign, ``±`` and ``≥``, degrees, dollars,
thousands separators - "1,234" but not the list "1, 234" -, "and" between values, a leading
``x =``), then as mathematics: each side is parsed by a small recursive-descent parser of its
own (numbers, letters, ``+ - * / ^``, ``\\frac``, ``\\sqrt``, ``\\pi``, ``\\infty``, ``\\cdot``,
``n!``, ``\\binom`` and CHAMP's ``C(n, k)``, ``\\lfloor \\rfloor``, sums ``\\sum_{k=a}^{b}`` /
``sum_(k=a)^b``, a few functions, implicit products) straight into sympy objects. Model text is
never evaluated: no ``eval``, no ``sympify``, no ``parse_expr``. Inputs are bounded (length,
digits, exponent sizes, nesting, factorial and binomial arguments, terms of a sum), so a
comparison takes milliseconds whatever the text. Two rational numbers are equal only exactly,
or when one is a decimal that rounds the other, which has no decimal (0.3333333 and 1/3; never
2001000.5 and 2001000). Other expressions are equal when they agree numerically (relative 1e-6),
at random points when they have free symbols - at integer points, evaluated in floating point
by a small evaluator of its own, when a sum, floor, factorial or binomial is in them.
Percentages match their value or the value over 100 ("%" binds tighter than "/": 1/2% is
1/(2%), so only a single signed value is read as a percentage); intervals and tuples match
element-wise with the same brackets; bare lists and sets (``\\{1, 2\\}``) match as multisets,
``±2`` being the two values 2 and -2, and a list with "..." as a sequence, in order. Worded
answers ("The limit exists and is equal to 2/3") match when their words are the same and the
mathematics between the words matches.
"""

from __future__ import annotations

import cmath
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
    close = text.find("}", start)
    if close >= 0 and "{" not in text[start:close] and "\\" not in text[start:close]:
        return text[start:close], close + 1  # no nesting, no escapes (most answers)
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


_UNICODE = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",
    "±": "\\pm ",
    "∓": "\\mp ",
    "≥": "\\geq ",
    "≤": "\\leq ",
    "≠": "\\neq ",
    "×": "\\times ",
    "·": "\\cdot ",
    "÷": "\\div ",
    "∞": "\\infty ",
    "π": "\\pi ",
    "√": "\\sqrt",
    "…": "...",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))


def _plain(s: str, keep_text: bool) -> str:
    """The first, space-keeping steps of normalisation: delimiters, \\boxed, \\text, spacing
    commands, Unicode symbols as LaTeX, one spelling per command."""
    s = s.strip()
    s = re.sub(r"^\$+|\$+$", "", s).strip()
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = _unwrap(s, r"\\(?:boxed|fbox)", True)
    s = _unwrap(s, _TEXT_CMDS, keep_text)
    s = _SPACING.sub(" ", s)
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s)
    s = re.sub(r"\\[dtc]frac(?![a-zA-Z])", r"\\frac", s)
    s = re.sub(r"\\[dt]binom(?![a-zA-Z])", r"\\binom", s)
    s = re.sub(r"\\(?:ldots|cdots|dots)(?![a-zA-Z])", "...", s)
    return s


def _without_full_stop(s: str) -> str:
    """ "7." -> "7"; an ellipsis stays: "1, 2, ...." -> "1, 2, ..." """
    stripped = s.rstrip(".")
    return stripped + "..." if s.endswith("...") else stripped


def normalize_answer(s: str, *, keep_text: bool = True) -> str:
    """A canonical string for an answer (lower-cased, no spaces, LaTeX noise removed)."""
    s = _plain(s, keep_text)
    # "1, 4 and 9", "x=1 and x=2": "and" between two values separates a list
    s = re.sub(r"(?<=[\d})\]])\s+and\s+(?=[-+\d\\({\[]|[a-zA-Z]\s*=)", ", ", s)
    list_comma = re.search(r",\s", s) is not None  # "120, 125" is a list, "120,125" a number
    s = re.sub(r"\^\s*\{?\\circ\}?|\\degree|°|\bdegrees?\b", "", s)
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\%", "%")
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", s)
    s = re.sub(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])", r"\1~", s)  # "\ln e": keep them apart
    s = _without_full_stop(re.sub(r"\s+", "", s))
    if not list_comma and re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    same = re.fullmatch(r"([a-zA-Z])=(?!=)[^=]*(?:,\1=(?!=)[^=]*)+", s)
    if same:  # "x=16,x=81" -> "16,81" (but "x=1,y=2" keeps its names)
        s = re.sub(rf"(^|,){same.group(1)}=", r"\1", s)
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
    r"|(?P<cmd>\\[a-zA-Z]+|\\\{|\\\})|(?P<word>[a-zA-Z]+)|(?P<op>[-+*/^(){}\[\],|!_=]))"
)
_WORDS = {"pi", "sqrt", "sin", "cos", "tan", "ln", "log", "exp", "inf", "infty", "infinity",
          "sum"}  # fmt: skip
_FUNCS = {"sin", "cos", "tan", "ln", "log", "exp", "sec", "csc", "cot", "arcsin", "arccos",
          "arctan", "floor", "ceil"}  # fmt: skip
MAX_FACTORIAL = 1000  # largest n of a numeric n! (2,568 digits)
MAX_BINOMIAL = 10_000  # largest n of a numeric binomial(n, k)
MAX_SUM_TERMS = 200  # terms of a sum evaluated at a point


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
            return t.text not in ("cdot", "times", "div", "pm", "rfloor", "rceil")
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
        while self.at("!"):
            self.take()
            base = self.factorial(base)
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

    def factorial(self, n: Any) -> Any:
        if n.is_number and not (n.is_Integer and 0 <= n <= MAX_FACTORIAL):
            raise MathParseError(f"factorial of {n} (only integers 0..{MAX_FACTORIAL})")
        return self.sp.factorial(n)

    def binomial(self, n: Any, k: Any) -> Any:
        for v in (n, k):
            if v.is_number and not (v.is_Integer and abs(v) <= MAX_BINOMIAL):
                raise MathParseError(f"binomial of {v} (only integers up to {MAX_BINOMIAL})")
        return self.sp.binomial(n, k)

    def summation(self) -> Any:
        """``\\sum_{k=a}^{b} term`` / ``sum_(k=a)^b term`` (the body is one term)."""
        self.enter()
        self.expect("_")
        opener = self.take().text
        closer = {"(": ")", "{": "}"}.get(opener)
        if closer is None:
            raise MathParseError("expected the bounds of a sum")
        var = self.take()
        if var.kind != "sym":
            raise MathParseError("expected the variable of a sum")
        self.expect("=")
        lower = self.expr()
        self.expect(closer)
        self.expect("^")
        upper = self.group_or_unary()
        body = self.term()
        sp = self.sp
        k = sp.Symbol(var.text)
        if any(
            isinstance(x, sp.Sum) for e in (lower, upper, body) for x in sp.preorder_traversal(e)
        ):
            raise MathParseError("nested sums")
        self.depth -= 1
        return sp.Sum(body, (k, lower, upper))

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
            if t.text == "c" and self.at("("):  # C(n, k): a binomial coefficient
                start = self.i
                self.take()
                n = self.expr()
                if self.at(","):
                    self.take()
                    k = self.expr()
                    self.expect(")")
                    return self.binomial(n, k)
                self.i = start
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
        if name == "binom":
            n = self.group_or_unary()
            return self.binomial(n, self.group_or_unary())
        if name in ("lfloor", "lceil"):
            value = self.expr()
            self.expect("rfloor" if name == "lfloor" else "rceil")
            return sp.floor(value) if name == "lfloor" else sp.ceiling(value)
        if name == "sum":
            return self.summation()
        if name == "pi":
            return sp.pi
        if name in ("infty", "inf", "infinity"):
            return sp.oo
        if name in _FUNCS:
            arg = self.group_or_unary() if not self.at("(") else self.atom()
            fn = {
                "ln": sp.log,
                "arcsin": sp.asin,
                "arccos": sp.acos,
                "arctan": sp.atan,
                "ceil": sp.ceiling,
            }.get(name, getattr(sp, name, None))
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
    sequence: bool = False  # a bare list with "...": its order matters


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
        # "%" binds tighter than "/": 1/2% is 1/(2%), so only a signed single value is a
        # percentage here ("12.5%", "-3%", "\\frac{1}{2}%"); anything else is no number
        if not _PERCENT_BODY.fullmatch(s):
            return None
    opener, closer = "", ""
    body = s
    if s.startswith("\\{") and s.endswith("\\}"):
        opener, closer, body = "{", "}", s[2:-2]
    elif len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and len(_split_top(s[1:-1])) > 1:
        opener, closer, body = s[0], s[-1], s[1:-1]
    parts = _split_top(body)
    sequence = not opener and len(parts) > 1 and "..." in parts
    if not opener:
        parts = _expand_pm(parts)
    try:
        items = tuple(_ellipsis() if part == "..." else _parse_expr(part) for part in parts)
    except (MathParseError, RecursionError, ArithmeticError, TypeError, ValueError):
        return None
    except Exception:  # sympy can raise its own errors on odd input
        return None
    return Parsed(items, opener, closer, percent, sequence)


_PERCENT_BODY = re.compile(
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+|\\frac\{[^{}]*\}\{[^{}]*\}|\{[^{}]*\}|\([^()]*\))"
)


def _ellipsis() -> Any:
    """The "..." of a sequence: a symbol no answer can spell, so equal only to itself."""
    import sympy

    return sympy.Symbol("...")


def _expand_pm(parts: list[str]) -> list[str]:
    """ "\\pm 2" is two values: 2 and -2 (one \\pm per value at most)."""
    out: list[str] = []
    for part in parts:
        if part.count("\\pm") == 1:
            out += [part.replace("\\pm", "+", 1), part.replace("\\pm", "-", 1)]
        else:
            out.append(part)  # several: left to the parser, which refuses \\pm
    return out


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


def _int_points(symbols: list[Any], n: int = 4) -> list[dict[Any, int]]:
    rng = random.Random(7654321)
    return [{x: rng.randint(2, 12) for x in symbols} for _ in range(n)]


class _NoValue(Exception):
    """An expression has no (finite, bounded) value at a point."""


_CMATH = {"sin": cmath.sin, "cos": cmath.cos, "tan": cmath.tan, "exp": cmath.exp,
          "log": cmath.log, "asin": cmath.asin, "acos": cmath.acos, "atan": cmath.atan}  # fmt: skip


def _real_int(v: complex, limit: float) -> int:
    if v.imag or abs(v.real) > limit or abs(v.real - round(v.real)) > 1e-9:
        raise _NoValue
    return round(v.real)


def _gamma(x: complex) -> float:
    if x.imag or x.real > 171 or (x.real <= 0 and x.real == round(x.real)):
        raise _NoValue  # complex, overflowing, or at a pole
    return math.gamma(x.real)


def _fvalue(e: Any, env: dict[Any, complex], sp: Any) -> complex:
    """The value of e in floating point with its symbols from env - a small evaluator of the
    parser's own node types, so that no factorial, binomial, floor or sum is ever computed
    exactly or beyond its bound (sympy would compute (10^9 n)! in full)."""
    if e.is_Symbol:
        if e not in env:
            raise _NoValue
        return env[e]
    if e.is_number and not e.has(sp.Sum):
        return complex(e.evalf(20))
    args = e.args
    if e.is_Add:
        return sum((_fvalue(a, env, sp) for a in args), 0j)
    if e.is_Mul:
        out = 1 + 0j
        for a in args:
            out *= _fvalue(a, env, sp)
        return out
    if e.is_Pow:
        base, exp = _fvalue(args[0], env, sp), _fvalue(args[1], env, sp)
        if not exp.imag and exp.real == round(exp.real) and not base.imag:
            return complex(base.real ** round(exp.real))
        return base**exp
    if isinstance(e, sp.Sum):
        k, lower, upper = e.limits[0]
        lo = _real_int(_fvalue(lower, env, sp), MAX_FACTORIAL)
        hi = _real_int(_fvalue(upper, env, sp), MAX_FACTORIAL)
        if hi - lo + 1 > MAX_SUM_TERMS:
            raise _NoValue
        return sum((_fvalue(e.function, {**env, k: complex(i)}, sp) for i in range(lo, hi + 1)), 0j)
    if isinstance(e, sp.factorial):
        return complex(_gamma(_fvalue(args[0], env, sp) + 1))
    if isinstance(e, sp.binomial):
        n, k = (_fvalue(a, env, sp) for a in args)
        try:
            ni, ki = _real_int(n, MAX_BINOMIAL), _real_int(k, MAX_BINOMIAL)
        except _NoValue:
            return complex(_gamma(n + 1) / (_gamma(k + 1) * _gamma(n - k + 1)))
        return complex(math.comb(ni, ki) if 0 <= ki <= ni else 0)
    if isinstance(e, (sp.floor, sp.ceiling)):
        v = _fvalue(args[0], env, sp)
        if v.imag or abs(v.real) > 1e15:
            raise _NoValue
        return complex(math.floor(v.real) if isinstance(e, sp.floor) else math.ceil(v.real))
    if isinstance(e, sp.Abs):
        return complex(abs(_fvalue(args[0], env, sp)))
    name = type(e).__name__
    if name in _CMATH and len(args) == 1:
        return complex(_CMATH[name](_fvalue(args[0], env, sp)))
    raise _NoValue


def _value_at(expr: Any, point: dict[Any, int]) -> complex | None:
    """The value of an expression with sums, floors, factorials or binomials at an integer
    point, in floating point (sums of at most MAX_SUM_TERMS terms)."""
    import sympy

    try:
        v = _fvalue(expr, {x: complex(val) for x, val in point.items()}, sympy)
    except (_NoValue, ArithmeticError, ValueError, TypeError, OverflowError):
        return None
    if any(math.isnan(c) or math.isinf(c) for c in (v.real, v.imag)):
        return None
    return v


def _decimal_places(q: int) -> int | None:
    """The digits after the point of a number with denominator q, if it is a decimal."""
    twos = fives = 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    return max(twos, fives) if q == 1 else None


def _rounds_to(dec: Any, exact: Any) -> bool:
    """Whether rational `dec`, a decimal of d >= 1 places, is `exact` - a rational with no
    decimal (1/3, 5/14) - rounded or truncated to d places, within REL_TOL: 0.3333333 for 1/3;
    never 2001000.5 for 2001000, nor 0.5 for 0.5000001."""
    d = _decimal_places(int(dec.q))
    if not d or _decimal_places(int(exact.q)) is not None:
        return False
    diff = abs(dec - exact)
    return bool(diff * 10**d <= 1 and diff <= REL_TOL * max(abs(dec), abs(exact)))


def exprs_equal(a: Any, b: Any) -> bool:
    """Equality of two sympy expressions: exact for two rationals (or a decimal rounding the
    other), else numeric, at random points when symbolic (integer points when a sum, floor,
    ceiling, factorial or binomial is in)."""
    import sympy

    if a == b:
        return True
    if a in (sympy.oo, -sympy.oo) or b in (sympy.oo, -sympy.oo):
        return False
    if a.free_symbols != b.free_symbols:
        return False
    syms = sorted(a.free_symbols, key=str)
    if not syms and a.is_Rational and b.is_Rational:
        return _rounds_to(a, b) or _rounds_to(b, a)
    discrete = (sympy.Sum, sympy.floor, sympy.ceiling, sympy.factorial, sympy.binomial)
    if a.has(*discrete) or b.has(*discrete):
        points: list[dict[Any, Any]] = list(_int_points(syms)) if syms else [{}]
        values = [(_value_at(a, p), _value_at(b, p)) for p in points]
    elif not syms:
        values = [(_number(a), _number(b))]
    else:
        values = [(_number(a.subs(p)), _number(b.subs(p))) for p in _rng_points(syms)]
    agreed = 0
    for x, y in values:
        if x is None or y is None:
            continue
        if not _close(x, y):
            return False
        agreed += 1
    return agreed >= min(2, len(values))


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
    """Same brackets, and equal items (in order for tuples, intervals and sequences with
    "..."); a percentage also equals its value over 100."""
    if (a.open, a.close) != (b.open, b.close):
        return False
    ordered = a.open in ("(", "[") or a.sequence or b.sequence
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


def _math_match(candidate: str, reference: str) -> bool:
    """Equal as normalised strings, or as parsed mathematics."""
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


# a word of a worded answer: 3+ letters (not a command), "i.e.", or a short English word
_SENTENCE_WORD = re.compile(
    r"(?<![\\A-Za-z])(?:[A-Za-z]{3,}|i\.e\.|e\.g\.|is|it|to|if|of|at|in|on|or|an|as|be|by|no|so)"
    r"(?![A-Za-z])"
)
_MATH_WORDS = _WORDS | _FUNCS
MAX_SENTENCE_WORDS = 40


def _trim(piece: str) -> str:
    """A piece of mathematics between words, without the punctuation and the unbalanced
    parentheses of the sentence around it."""
    while True:
        p = _without_full_stop(piece.strip(" \t\n~,;:"))
        if p.endswith("(") or (p.startswith("(") and p.count("(") > p.count(")")):
            p = p[:-1] if p.endswith("(") else p[1:]
        if p.startswith(")") or (p.endswith(")") and p.count(")") > p.count("(")):
            p = p[1:] if p.startswith(")") else p[:-1]
        if p == piece:
            return p
        piece = p


def _sentence(s: str) -> tuple[list[str], list[str]] | None:
    """The words of a worded answer and the mathematics between them (one more piece than
    words), or None when it has no word of 3+ letters."""
    s = _plain(s, keep_text=True)
    if len(s) > 2 * MAX_LEN:
        return None
    words: list[str] = []
    pieces: list[str] = []
    i = 0
    for m in _SENTENCE_WORD.finditer(s):
        word = m.group(0).lower()
        if word in _MATH_WORDS:
            continue
        pieces.append(_trim(s[i : m.start()]))
        words.append(word)
        i = m.end()
    pieces.append(_trim(s[i:]))
    if not any(len(w) >= 3 for w in words) or len(words) > MAX_SENTENCE_WORDS:
        return None
    return words, pieces


def _sentences_match(candidate: str, reference: str) -> bool:
    """ "The limit is \\frac{2}{3}" vs "the limit is 2/3": the same words, in order, with equal
    mathematics between them."""
    a, b = _sentence(candidate), _sentence(reference)
    if a is None or b is None or a[0] != b[0]:
        return False
    return all(
        x == y or (bool(x) and bool(y) and _math_match(x, y))
        for x, y in zip(a[1], b[1], strict=True)
    )


def answers_match(candidate: str, reference: str) -> bool:
    """True when the two final answers are equivalent (see the module doc)."""
    return _math_match(candidate, reference) or _sentences_match(candidate, reference)
