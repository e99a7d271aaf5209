"""Chat forms of problems: the messages an instruct or chat model is sent instead of the raw
prompt (`Problem.messages`).

One builder per kind of problem, each returning a tuple of `ChatMessage` (a user turn and, for
function problems, an assistant prefix the model continues):

- `function_chat(prompt)`: a function to complete (HumanEval, MBPP). The form EvalPlus's code
  generation uses for instruct models (``evalplus/provider/utility.py: make_raw_chat_prompt``,
  with the instruction and response prefixes of ``evalplus/codegen.py``): the user turn asks for
  a self-contained script in a markdown block and quotes the signature and docstring in a
  fenced block; the assistant turn begins the answer and opens a ```` ```python ```` fence.
- `math_chat(question)`: a question with a final answer (CHAMP, GSM8K, MATH): reason step by
  step and put the final answer in ``\\boxed{}``, the convention of today's math models.
- `stdin_chat(statement)`: a program reading standard input (CodeContests, LiveCodeBench): the
  statement, then a Python 3 program reading stdin and writing stdout, in a fenced block.
- `choice_chat(question)`: a multiple-choice question answered by a letter in ``\\boxed{}``.

Nothing here talks to a model; a backend renders these messages with the model's own template.
"""

from __future__ import annotations

from monkeys_suites._problem import ChatMessage

# EvalPlus's instruct prefixes (evalplus/codegen.py), the form it samples instruct models with.
FUNCTION_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a "
    "markdown code block:"
)
FUNCTION_RESPONSE = (
    "Below is a Python script with a self-contained function that solves the problem and "
    "passes corresponding tests:"
)

MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

STDIN_INSTRUCTION = (
    "Write a Python 3 program that solves the following problem. The program reads its input "
    "from standard input and writes its answer to standard output. Give the complete program "
    "in one fenced ```python code block."
)

CHOICE_INSTRUCTION = (
    "Please reason step by step, then give the letter of the correct choice within \\boxed{}."
)


def function_chat(prompt: str) -> tuple[ChatMessage, ...]:
    """A function to complete, in EvalPlus's instruct form: the user quotes `prompt` (signature
    and docstring) in a fenced block and asks for a self-contained script; the assistant turn
    opens the ```` ```python ```` block the model continues."""
    user = f"{FUNCTION_INSTRUCTION}\n```\n{prompt.strip()}\n```\n"
    assistant = f"{FUNCTION_RESPONSE}\n```python\n"
    return (ChatMessage("user", user), ChatMessage("assistant", assistant))


def math_chat(question: str) -> tuple[ChatMessage, ...]:
    """A math question: reason step by step, final answer in ``\\boxed{}``."""
    return (ChatMessage("user", f"{question.strip()}\n\n{MATH_INSTRUCTION}"),)


def stdin_chat(statement: str) -> tuple[ChatMessage, ...]:
    """A standard-input problem: the instruction, then the statement."""
    return (ChatMessage("user", f"{STDIN_INSTRUCTION}\n\n{statement.strip()}"),)


def choice_chat(question: str) -> tuple[ChatMessage, ...]:
    """A multiple-choice question (choices written in `question`): the letter in ``\\boxed{}``."""
    return (ChatMessage("user", f"{question.strip()}\n\n{CHOICE_INSTRUCTION}"),)


def messages_from_json(value: object, where: str) -> tuple[ChatMessage, ...]:
    """A JSON ``messages`` list (``[{"role": ..., "content": ...}, ...]``) as chat messages;
    ValueError naming `where` when it is malformed. Roles: system, user, assistant; the last
    message may be an assistant prefix the model continues."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: messages must be a non-empty list of {{role, content}}")
    out: list[ChatMessage] = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise ValueError(f"{where}: messages[{i}] must be an object with role and content")
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant"):
            raise ValueError(
                f"{where}: messages[{i}].role must be system, user or assistant, not {role!r}"
            )
        if not isinstance(content, str):
            raise ValueError(f"{where}: messages[{i}].content must be a string")
        out.append(ChatMessage(str(role), content))
    if not any(m.role == "user" for m in out):
        raise ValueError(f"{where}: messages has no user message")
    return tuple(out)


def assistant_prefix(messages: tuple[ChatMessage, ...]) -> str:
    """The assistant prefix the model continues (the content of a last assistant message), or
    "" when the messages end with a user turn. A sample's text is this prefix plus what the
    model wrote."""
    if messages and messages[-1].role == "assistant":
        return messages[-1].content
    return ""
