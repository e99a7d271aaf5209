"""Extraction from chat output: code from the last fenced python block (else the whole text), a
function problem answered with the whole function and its imports, final answers from
``\\boxed{}`` / ``#### n`` / "the answer is", multiple-choice letters. Verified for real in the
local sandbox."""

from __future__ import annotations

import asyncio

import pytest

from monkeys_suites import Problem, ProblemKind, function_chat, load_suite
from verify import LocalSandbox, Status, Verifier, extract_choice, extract_code
from verify._verifiers import definitions, function_code, is_chat_answer


def test_extract_code_takes_the_last_python_block_else_the_text() -> None:
    two = "Here:\n```python\nx = 1\n```\nthen\n```python\nx = 2\n```\nDone."
    assert extract_code(two) == "x = 2\n"
    assert extract_code("print(3)\n") == "print(3)\n"
    # a fence opened (the assistant prefix) and never closed: what follows it
    assert extract_code("Below:\n```python\ndef f():\n    return 1\n") == (
        "def f():\n    return 1\n"
    )


def test_letters_where_the_suite_asks_for_one() -> None:
    assert extract_choice("Thinking... so \\boxed{C}") == "C"
    assert extract_choice("Therefore the answer is (B).") == "B"
    assert extract_choice("Answer: D") == "D"
    assert extract_choice("the answer is a prime") is None


HE = load_suite("humaneval")


def _verify(problem: Problem, text: str) -> Status:
    async def go() -> Status:
        sandbox = LocalSandbox()
        await sandbox.start()
        try:
            return (await Verifier(sandbox).verify(problem, text)).status
        finally:
            await sandbox.close()

    return asyncio.run(go())


def test_whole_function_with_imports_passes_the_function_check() -> None:
    p = HE.by_id("HumanEval/0")  # has_close_elements, `from typing import List` in the prompt
    prefix = function_chat(p.prompt)[-1].content  # the assistant prefix opening ```python
    answer = (
        prefix + "from typing import List\n\n\n"
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)\n"
        "               for b in numbers[i + 1:])\n```\n\n"
        "Example:\n```python\nprint(has_close_elements([1.0, 2.0], 0.5))\n```\n"
    )
    assert is_chat_answer(p, answer)
    code = function_code(p, answer)
    assert "return any(" in code and "print(" not in code  # the block defining the function
    assert _verify(p, answer) is Status.PASS
    wrong = answer.replace("< threshold", "> threshold")
    assert _verify(p, wrong) is Status.FAIL


def test_helpers_from_the_prompt_stay_available() -> None:
    p = HE.by_id("HumanEval/10")  # make_palindrome uses the prompt's is_palindrome
    answer = (
        "```python\ndef make_palindrome(string: str) -> str:\n"
        "    if not string:\n        return ''\n"
        "    for i in range(len(string)):\n"
        "        if is_palindrome(string[i:]):\n"
        "            return string + string[:i][::-1]\n"
        "    return string\n```"
    )
    assert _verify(p, answer) is Status.PASS


def test_a_raw_continuation_is_still_prompt_plus_completion() -> None:
    p = HE.by_id("HumanEval/0")
    body = "    return True\n"
    assert not is_chat_answer(p, body)
    assert function_code(p, body) == p.prompt + body


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Step 1 ... so \\boxed{42}.", True),
        ("She has 42 left.\n#### 42", True),
        ("Adding up, the answer is 42.", True),
        ("\\boxed{41}", False),
    ],
)
def test_final_answers_from_chat_output(text: str, ok: bool) -> None:
    p = Problem("q", "", ProblemKind.FINAL_ANSWER, answer="42")
    assert (_verify(p, text) is Status.PASS) == ok


def test_multiple_choice_problem() -> None:
    p = Problem("mc", "", ProblemKind.FINAL_ANSWER, answer="B")
    assert _verify(p, "The answer is (B) because ...") is Status.PASS
    assert _verify(p, "\\boxed{C}") is Status.FAIL


def test_the_answers_own_examples_and_asserts_are_not_run() -> None:
    p = HE.by_id("HumanEval/2")  # truncate_number
    answer = (
        "```python\nimport math\nEPS = 1e-9\n\n\n"
        "def truncate_number(number: float) -> float:\n    return number - math.floor(number)\n\n"
        "# Test cases\nassert truncate_number(2.99999) == 0.99999  # false in floating point\n"
        "x = truncate_number(3.5)\nprint(x)\n"
        "if __name__ == '__main__':\n    raise SystemExit(truncate_number(1.5))\n```"
    )
    kept = definitions(function_code(p, answer).split(p.prompt)[-1])
    assert "import math" in kept and "EPS = 1e-9" in kept
    assert "assert" not in kept and "print" not in kept and "__main__" not in kept
    assert _verify(p, answer) is Status.PASS
