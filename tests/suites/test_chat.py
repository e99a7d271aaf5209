"""Chat forms of problems: the builders, the suites that carry them, JSONL `messages`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monkeys_suites import (
    ChatMessage,
    SuiteError,
    assistant_prefix,
    function_chat,
    load_jsonl_suite,
    load_suite,
    math_chat,
    stdin_chat,
)


def test_function_chat_is_evalplus_instruct_form() -> None:
    msgs = function_chat("def f(x):\n    '''Double x.'''\n")
    assert [m.role for m in msgs] == ["user", "assistant"]
    assert msgs[0].content == (
        "Please provide a self-contained Python script that solves the following problem in a "
        "markdown code block:\n```\ndef f(x):\n    '''Double x.'''\n```\n"
    )
    assert msgs[1].content.endswith("passes corresponding tests:\n```python\n")
    assert assistant_prefix(msgs) == msgs[1].content
    assert assistant_prefix(math_chat("1+1?")) == ""


def test_math_and_stdin_chat() -> None:
    (m,) = math_chat("What is 2+2?")
    assert m.role == "user" and m.content.startswith("What is 2+2?")
    assert "\\boxed{}" in m.content and "step by step" in m.content
    (s,) = stdin_chat("Print the sum of a and b.")
    assert "standard input" in s.content and "```python" in s.content
    assert s.content.endswith("Print the sum of a and b.")


def test_builtin_suites_carry_both_forms() -> None:
    he = load_suite("humaneval").problems[0]
    assert he.messages == function_chat(he.prompt)
    champ = load_suite("champ").problems[0]
    assert champ.messages and "\\boxed{}" in champ.messages[-1].content
    assert champ.prompt != champ.messages[-1].content


def _write(tmp_path: Path, lines: list[object]) -> Path:
    p = tmp_path / "s.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return p


def test_jsonl_messages_and_defaults(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        [
            {
                "_defaults": {
                    "kind": "final_answer",
                    "template": "Q: {question}\nA:",
                    "messages": [
                        {"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "{question} Answer in \\boxed{}."},
                    ],
                }
            },
            {"id": "a", "question": "1+1?", "answer": 2},
            {
                "id": "b",
                "prompt": "raw b",
                "answer": 3,
                "messages": [{"role": "user", "content": "chat b"}],
            },
            {"id": "c", "answer": 4, "messages": [{"role": "user", "content": "only chat"}]},
        ],
    )
    a, b, c = load_jsonl_suite(p).problems
    assert a.prompt == "Q: 1+1?\nA:"
    assert a.messages == (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "1+1? Answer in \\boxed{}."),
    )
    assert b.prompt == "raw b" and b.messages == (ChatMessage("user", "chat b"),)
    assert c.prompt == "only chat" and c.messages == (ChatMessage("user", "only chat"),)


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([{"role": "bot", "content": "x"}], "role must be system, user or assistant"),
        ([{"role": "user"}], "content must be a string"),
        ([], "non-empty list"),
        ([{"role": "system", "content": "x"}], "no user message"),
    ],
)
def test_jsonl_bad_messages_name_line_and_field(
    tmp_path: Path, messages: object, says: str
) -> None:
    p = _write(tmp_path, [{"id": "a", "kind": "final_answer", "answer": 1, "messages": messages}])
    with pytest.raises(SuiteError, match=says) as e:
        load_jsonl_suite(p)
    assert "s.jsonl:1: field 'messages'" in str(e.value)
