"""Chat prompts and reasoning models, for every backend.

- `PromptFormat`, `resolve_prompt_format`: which form of a problem a run sends (``raw``: the
  paper's completion prompt; ``chat``: its chat messages through the model's template;
  ``auto``: chat for a model the catalog marks as an instruct/chat model, raw for a base model).
- `render_chat`: a chat template (Jinja, a GGUF's ``tokenizer.chat_template`` or a Hugging
  Face tokenizer's) rendered the way llama-cpp-python's ``Jinja2ChatFormatter`` and
  transformers' ``apply_chat_template`` render it: a sandboxed Jinja environment with
  ``trim_blocks`` and ``lstrip_blocks``, the ``bos_token`` / ``eos_token`` strings, and the
  generation prompt added. A last assistant message is a prefix the model continues: the
  template renders it as a whole turn and the text is cut where its content ends (EvalPlus's
  ``make_raw_chat_prompt`` does the same), so no end-of-turn follows it.
- `split_thinking`: a reasoning model's thinking apart from its answer (``<think>...</think>``
  as DeepSeek-R1 and Qwen3 write it, gpt-oss's harmony channels, or a server's separate
  ``reasoning_content`` / ``reasoning`` field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backends._protocol import BackendError
from monkeys_suites._problem import ChatMessage


class PromptFormat(StrEnum):
    RAW = "raw"
    CHAT = "chat"
    AUTO = "auto"


_CHAT_NAME = re.compile(r"(instruct|chat|[-_.]it\b|-it-|r1|qwen3|gpt-oss|distill)", re.I)


def resolve_prompt_format(requested: str, backend: str, model: str) -> tuple[str, str]:
    """``(format, why)`` with format ``"raw"`` or ``"chat"`` for a run's requested format.

    ``auto`` is chat for a model that the catalog marks as an instruct/chat model, raw for a
    catalog base model; for a model outside the catalog (a GGUF path, a served model name), chat
    when its name says instruct/chat/-it (or a reasoning family), else raw. A replayed run is
    raw (its texts are already written)."""
    try:
        fmt = PromptFormat(requested)
    except ValueError:
        raise ValueError(f"prompt format {requested!r}: expected one of raw, chat, auto") from None
    if fmt is not PromptFormat.AUTO:
        return fmt.value, "asked for"
    if backend == "replay":
        return "raw", "replayed samples are raw texts"
    from backends._models import CATALOG

    entry = CATALOG.get(model)
    if entry is not None:
        if entry.chat:
            return "chat", f"the catalog marks {model} as an instruct/chat model"
        return "raw", f"the catalog marks {model} as a base model"
    name = model.rsplit("/", 1)[-1]
    if _CHAT_NAME.search(name):
        return "chat", f"the model name {name!r} says instruct/chat"
    return "raw", f"{name!r} is not in the catalog and its name does not say instruct/chat"


# ---- rendering a chat template ----------------------------------------------------------

_SPLITTER = "-[[]]-monkeys-assistant-prefix-ends-here-[[]]-"


class ChatTemplateError(BackendError):
    """A model has no chat template, or its template cannot render the messages."""


def _tojson(
    x: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise(message: str) -> None:
    raise ChatTemplateError(f"the chat template refused the messages: {message}")


def _strftime_now(f: str) -> str:
    return datetime.now().strftime(f)


@dataclass(frozen=True)
class ChatTemplate:
    """A compiled chat template with the model's BOS and EOS token strings."""

    source: str
    bos_token: str = ""
    eos_token: str = ""

    def __post_init__(self) -> None:
        import jinja2
        import jinja2.ext
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class _Generation(jinja2.ext.Extension):
            """Hugging Face's ``{% generation %}`` tag: its content, as is."""

            tags = {"generation"}  # noqa: RUF012 (jinja2 declares it on the instance)

            def parse(self, parser: Any) -> Any:
                parser.stream.skip(1)
                return parser.parse_statements(("name:endgeneration",), drop_needle=True)

        env = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_Generation, jinja2.ext.loopcontrols],
        )
        env.filters["tojson"] = _tojson
        try:
            compiled = env.from_string(self.source)
        except jinja2.TemplateError as e:
            raise ChatTemplateError(f"the model's chat template does not compile: {e}") from e
        object.__setattr__(self, "_compiled", compiled)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text for `messages`: the generation prompt added after a last user turn,
        or the text cut at the end of a last assistant message's content (a prefix)."""
        if not messages:
            raise ChatTemplateError("no messages to render")
        prefix = messages[-1].role == "assistant"
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        if prefix:
            msgs[-1] = {"role": "assistant", "content": messages[-1].content + _SPLITTER}
        try:
            text: str = self._compiled.render(  # type: ignore[attr-defined]
                messages=msgs,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                add_generation_prompt=not prefix,
                raise_exception=_raise,
                strftime_now=_strftime_now,
            )
        except ChatTemplateError:
            raise
        except Exception as e:
            raise ChatTemplateError(f"the chat template failed to render: {e}") from e
        if prefix:
            if _SPLITTER not in text:
                raise ChatTemplateError(
                    "the chat template does not render an assistant message's content, so it "
                    "cannot continue an assistant prefix; use --prompt-format raw"
                )
            text = text.split(_SPLITTER, 1)[0]
        return text


def render_chat(
    template: str, messages: Sequence[ChatMessage], *, bos_token: str = "", eos_token: str = ""
) -> str:
    """`messages` rendered with the Jinja chat `template` (see the module doc)."""
    return ChatTemplate(template, bos_token, eos_token).render(messages)


# ---- reasoning: thinking apart from the answer ------------------------------------------


@dataclass(frozen=True)
class Thought:
    """A sample split into the model's thinking and its answer; `closed` is False when the
    thinking never ended (the sample was cut inside it)."""

    thinking: str
    answer: str
    closed: bool = True


_HARMONY_MSG = re.compile(
    r"<\|channel\|>(?P<channel>[a-z]+)[^<]*<\|message\|>(?P<body>.*?)"
    r"(?:<\|end\|>|<\|return\|>|<\|call\|>|(?=<\|start\|>)|\Z)",
    re.S,
)


def split_thinking(text: str, reasoning: str = "", *, opened: bool = False) -> Thought:
    """`text`'s thinking and answer. `opened`: the prompt itself ended in ``<think>`` (an R1
    distill's generation prompt), so the text starts inside the thinking.

    - `reasoning` (a server's ``reasoning_content`` / ``reasoning`` field) is the thinking
      and `text` the answer;
    - gpt-oss (harmony): the ``analysis`` channel's messages are the thinking, the ``final``
      channel's the answer (none yet: the sample was cut while thinking);
    - ``<think>...</think>`` (Qwen3, DeepSeek-R1) or only ``...</think>`` (R1 distills whose
      template opens ``<think>`` in the generation prompt): the thinking is before the close,
      the answer after it; an opened, never closed ``<think>`` is all thinking, no answer;
    - anything else is all answer.
    """
    if reasoning:
        return Thought(reasoning.strip(), text.lstrip())
    if "<|channel|>" in text:
        thinking: list[str] = []
        final: list[str] = []
        for m in _HARMONY_MSG.finditer(text):
            (final if m.group("channel") == "final" else thinking).append(m.group("body"))
        if thinking or final:
            return Thought("\n".join(t.strip() for t in thinking), "".join(final), bool(final))
    close = text.find("</think>")
    if close != -1:
        head = text[:close]
        open_ = head.find("<think>")
        thought = head[open_ + len("<think>") :] if open_ != -1 else head
        before = head[:open_] if open_ != -1 else ""
        return Thought(thought.strip(), (before + text[close + len("</think>") :]).lstrip())
    open_ = text.find("<think>")
    if open_ != -1:
        return Thought(text[open_ + len("<think>") :].strip(), text[:open_], closed=False)
    if opened:
        return Thought(text.strip(), "", closed=False)
    return Thought("", text)


def opens_thinking(prompt: str) -> bool:
    """Whether a rendered prompt ends inside an opened ``<think>`` (the model writes its
    thinking first and closes it with ``</think>``)."""
    return prompt.rstrip().endswith("<think>")
