"""Prompts as Large Language Monkeys (Brown et al. 2024) built them, for raw completion.

The paper's code (github.com/ScalingIntelligence/large_language_monkeys, `llmonk/generate/`):

- GSM8K: ``num_few_shot = 2`` exemplars drawn from the *train* split for each test problem with
  ``random.seed(seed)`` then ``random.sample(train, 2)`` per test item in order, each formatted
  ``"Question: {question}\\nAnswer: {answer}\\n\\n"`` (the lm-evaluation-harness gsm8k format),
  followed by ``"Question: {question}\\nAnswer:"``. `gsm8k_prompts` does exactly that, so the
  same train file (in the same order) and seed give the paper's exemplars.
- MATH: the fixed Minerva 4-shot prompt (Lewkowycz et al. 2022, as shipped by
  lm-evaluation-harness `minerva_math`), then ``"\\n\\nProblem:\\n{problem}\\n\\nSolution:"``.
- CodeContests: 2 exemplars drawn from train problems that have an ASCII Python 3 solution and
  no image in the statement, each ``"Q: <instruction>\\n{description}\\nA: ```{code}```"``,
  joined by newlines, then the test problem without a solution. The paper closed the exemplar
  fence on the same line as the code; here the exemplar code sits in a ```` ```python ````
  block on its own lines, the form `verify.extract_code` reads back.

When the user has no train file, small built-in exemplar sets (written for monkeys, in the
style of each dataset, not copied from it) stand in for the train split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# ---- GSM8K ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QA:
    """A question and its worked answer (GSM8K style: the answer ends in ``#### n``)."""

    question: str
    answer: str


GSM8K_STOP = ("\nQuestion:", "\n\n\n")
GSM8K_SHOTS = 2  # the paper's num_few_shot

GSM8K_EXEMPLARS: tuple[QA, ...] = (
    QA(
        "A baker makes 24 muffins in the morning and 18 muffins in the afternoon. She sells 30 "
        "of them. How many muffins does she have left?",
        "She makes 24 + 18 = <<24+18=42>>42 muffins in total.\n"
        "After selling 30 she has 42 - 30 = <<42-30=12>>12 muffins left.\n#### 12",
    ),
    QA(
        "Tom reads 15 pages of a book every day. The book has 240 pages. After 10 days, how "
        "many pages does he still have to read?",
        "In 10 days Tom reads 15 * 10 = <<15*10=150>>150 pages.\n"
        "He still has 240 - 150 = <<240-150=90>>90 pages to read.\n#### 90",
    ),
    QA(
        "A shirt costs $20 and a pair of trousers costs three times as much. Maria buys two "
        "shirts and one pair of trousers. How much does she pay?",
        "The trousers cost 20 * 3 = $<<20*3=60>>60.\nTwo shirts cost 2 * 20 = $<<2*20=40>>40.\n"
        "She pays 60 + 40 = $<<60+40=100>>100.\n#### 100",
    ),
    QA(
        "A school has 4 classes of 28 students. Each bus holds 40 students. How many buses "
        "does the school need to take every student on a trip?",
        "There are 4 * 28 = <<4*28=112>>112 students.\n"
        "Two buses hold 2 * 40 = <<2*40=80>>80 students, fewer than 112, and three hold "
        "3 * 40 = <<3*40=120>>120, enough.\nThe school needs 3 buses.\n#### 3",
    ),
)


def gsm8k_shot(qa: QA) -> str:
    return f"Question: {qa.question}\nAnswer: {qa.answer}\n\n"


def gsm8k_prompt(question: str, shots: Sequence[QA]) -> str:
    return "".join(gsm8k_shot(s) for s in shots) + f"Question: {question}\nAnswer:"


def draw_shots(pool: Sequence[T], n_problems: int, shots: int, seed: int) -> list[list[T]]:
    """Exemplars for each of `n_problems` test problems, in order, as the paper drew them:
    ``random.seed(seed)`` then ``random.sample(pool, shots)`` per problem."""
    if shots < 0:
        raise ValueError("shots must be >= 0")
    if shots > len(pool):
        raise ValueError(f"{shots} shots asked for, but only {len(pool)} exemplars to draw from")
    rng = random.Random(seed)
    return [rng.sample(list(pool), shots) if shots else [] for _ in range(n_problems)]


# ---- MATH (Minerva 4-shot) -----------------------------------------------------------------

# The Minerva 4-shot prompt (Lewkowycz et al. 2022, appendix), as in lm-evaluation-harness
# `lm_eval/tasks/minerva_math/utils.py` and used by the paper's `llmonk/generate/MATH.py`.
MINERVA_MATH_PROMPT = r"""Problem:
Find the domain of the expression  $\frac{\sqrt{x-2}}{\sqrt{5-x}}$.}

Solution:
The expressions inside each square root must be non-negative. Therefore, $x-2 \ge 0$, so $x\ge2$, and $5 - x \ge 0$, so $x \le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\boxed{[2,5)}$.
Final Answer: The final answer is $[2,5)$. I hope it is correct.

Problem:
If $\det \mathbf{A} = 2$ and $\det \mathbf{B} = 12,$ then find $\det (\mathbf{A} \mathbf{B}).$

Solution:
We have that $\det (\mathbf{A} \mathbf{B}) = (\det \mathbf{A})(\det \mathbf{B}) = (2)(12) = \boxed{24}.$
Final Answer: The final answer is $24$. I hope it is correct.

Problem:
Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?

Solution:
If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\cdot 12\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\cdot15\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:
\begin{align*}
30n&=480\\
\Rightarrow\qquad n&=480/30=\boxed{16}
\end{align*}
Final Answer: The final answer is $16$. I hope it is correct.

Problem:
If the system of equations

\begin{align*}
6x-4y&=a,\\
6y-9x &=b.
\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero,
find $\frac{a}{b},$ assuming $b$ is nonzero.

Solution:
If we multiply the first equation by $-\frac{3}{2}$, we obtain

$$6y-9x=-\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have

$$-\frac{3}{2}a=b\Rightarrow\frac{a}{b}=\boxed{-\frac{2}{3}}.$$
Final Answer: The final answer is $-\frac{2}{3}$. I hope it is correct."""  # noqa: E501

MATH_STOP = ("\n\nProblem:", "I hope it is correct.")


def math_prompt(problem: str) -> str:
    return MINERVA_MATH_PROMPT + "\n\nProblem:\n" + problem + "\n\nSolution:"


# ---- CodeContests --------------------------------------------------------------------------

CODECONTESTS_INSTRUCTION = (
    "Q: Write python code to solve the following coding problem that obeys the constraints and "
    "passes the example test cases. The output code needs to read from and write to standard "
    "IO. Please wrap your code answer using ```:"
)
CODECONTESTS_STOP = ("\nQ: Write python code",)
CODECONTESTS_SHOTS = 2  # the paper's num_few_shot
IMAGE_TAGS = ("<image>", "[Image]")  # the paper skipped problems whose statement has an image


@dataclass(frozen=True)
class CodeShot:
    """A solved problem: its statement and a Python 3 solution reading stdin."""

    description: str
    solution: str


CODECONTESTS_EXEMPLARS: tuple[CodeShot, ...] = (
    CodeShot(
        "You are given two integers a and b. Print their sum.\n\nInput\n\nThe only line "
        "contains two integers a and b (-10^9 ≤ a, b ≤ 10^9).\n\nOutput\n\nPrint one integer: "
        "the sum a + b.\n\nExamples\n\nInput\n\n3 5\n\nOutput\n\n8\n\nInput\n\n-4 4\n\n"
        "Output\n\n0",
        "a, b = map(int, input().split())\nprint(a + b)",
    ),
    CodeShot(
        "You are given t arrays. For each array print the difference between its largest and "
        "its smallest element.\n\nInput\n\nThe first line contains t (1 ≤ t ≤ 100). Each test "
        "case consists of two lines: the first contains n (1 ≤ n ≤ 100), the second n integers "
        "a_1, ..., a_n (1 ≤ a_i ≤ 1000).\n\nOutput\n\nFor each test case print one integer: "
        "max(a) - min(a).\n\nExample\n\nInput\n\n2\n3\n1 5 2\n1\n7\n\nOutput\n\n4\n0",
        "import sys\n\n\ndef main():\n    data = sys.stdin.read().split()\n    t = int(data[0])\n"
        "    pos = 1\n    out = []\n    for _ in range(t):\n        n = int(data[pos])\n"
        "        a = list(map(int, data[pos + 1 : pos + 1 + n]))\n        pos += 1 + n\n"
        '        out.append(str(max(a) - min(a)))\n    print("\\n".join(out))\n\n\nmain()',
    ),
    CodeShot(
        "A word is a palindrome if it reads the same from left to right and from right to "
        "left. Given a word, print YES if it is a palindrome and NO otherwise.\n\nInput\n\nOne "
        "line with a word of 1 to 100 lowercase Latin letters.\n\nOutput\n\nPrint YES or NO."
        "\n\nExamples\n\nInput\n\nlevel\n\nOutput\n\nYES\n\nInput\n\nmonkey\n\nOutput\n\nNO",
        's = input().strip()\nprint("YES" if s == s[::-1] else "NO")',
    ),
)


def codecontests_shot(shot: CodeShot) -> str:
    return (
        f"{CODECONTESTS_INSTRUCTION}\n{shot.description}\nA: ```python\n"
        f"{shot.solution.strip()}\n```"
    )


def codecontests_prompt(description: str, shots: Sequence[CodeShot]) -> str:
    pieces = [codecontests_shot(s) for s in shots]
    pieces.append(f"{CODECONTESTS_INSTRUCTION}\n{description}\nA:")
    return "\n".join(pieces)


def has_image(description: str) -> bool:
    return any(tag in description for tag in IMAGE_TAGS)
