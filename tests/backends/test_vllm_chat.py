"""vLLM's chat path: the messages go through the tokenizer's chat template (continuing an
assistant prefix), the engine gets the rendered prompt's token ids with no special tokens added,
and each sample's text is the whole assistant message. vLLM needs a GPU, so its engine and
tokenizer are stand-ins here (named so); the real ones are tested by the vLLM lane."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from backends import (
    BackendError,
    GenerationRequest,
    SampleFinished,
    SamplingParams,
    VLLMBackend,
    render_chat,
)
from monkeys_suites import ChatMessage, function_chat, math_chat

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass
class FakeTokenizerForTestsNoGPU:
    """Stand-in for a Hugging Face tokenizer: its ChatML template rendered by monkeys' own
    Jinja renderer (the same rules as transformers'), one id per character."""

    chat_template: str | None = CHATML

    def apply_chat_template(
        self,
        messages: list[dict[str, str]],
        *,
        tokenize: bool,
        add_generation_prompt: bool,
        continue_final_message: bool,
    ) -> str:
        assert not tokenize and add_generation_prompt != continue_final_message
        msgs = tuple(ChatMessage(m["role"], m["content"]) for m in messages)
        assert self.chat_template is not None
        return render_chat(self.chat_template, msgs)

    def encode(self, text: str, *, add_special_tokens: bool) -> list[int]:
        assert not add_special_tokens  # the template wrote what it wanted
        return [ord(c) for c in text]


@dataclass
class FakeOut:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None


@dataclass
class FakeRequestOut:
    prompt_token_ids: list[int]
    outputs: list[FakeOut]
    finished: bool


@dataclass
class FakeChatEngineForTestsNoGPU:
    """Stand-in for vLLM's AsyncLLM: records the prompt, answers "x = 1```" per child."""

    tokenizer: FakeTokenizerForTestsNoGPU = field(default_factory=FakeTokenizerForTestsNoGPU)
    prompts: list[Any] = field(default_factory=list)

    async def get_tokenizer(self) -> FakeTokenizerForTestsNoGPU:
        return self.tokenizer

    async def generate(
        self, prompt: Any, sp: Any, request_id: str
    ) -> AsyncIterator[FakeRequestOut]:
        self.prompts.append(prompt)
        ids = prompt["prompt_token_ids"]
        await asyncio.sleep(0)
        outs = [FakeOut(j, "x = 1\n```", [1, 2, 3], "stop") for j in range(sp.n)]
        yield FakeRequestOut(ids, outs, True)

    async def abort(self, request_id: str) -> None:
        pass

    def shutdown(self) -> None:
        pass


def _sp(**kw: Any) -> Any:
    return type("FakeSamplingParamsForTestsNoGPU", (), kw)()


def _run(engine: FakeChatEngineForTestsNoGPU, messages: tuple[ChatMessage, ...]) -> list[Any]:
    async def go() -> list[SampleFinished]:
        b = VLLMBackend(
            "m", engine_factory=lambda m, a: engine, sampling_params_factory=_sp, max_n=8
        )
        try:
            req = GenerationRequest("p", "raw", (0, 1), SamplingParams(max_tokens=8), 3, messages)
            return [e async for e in b.generate(req) if isinstance(e, SampleFinished)]
        finally:
            await b.close()

    return asyncio.run(go())


def test_vllm_renders_the_tokenizers_template_and_continues_a_prefix() -> None:
    engine = FakeChatEngineForTestsNoGPU()
    msgs = function_chat("def f():\n    pass\n")
    done = _run(engine, msgs)
    want = render_chat(CHATML, msgs)
    assert engine.prompts[0] == {"prompt_token_ids": [ord(c) for c in want]}
    for s in done:
        assert s.prompt_text == want and s.prompt_text.endswith("```python\n")
        assert s.text == msgs[-1].content + "x = 1\n```"  # the whole assistant message
    (plain,) = {s.prompt_text for s in _run(engine, math_chat("2+2?"))}
    assert plain.endswith("<|im_start|>assistant\n")


def test_vllm_model_without_template_says_what_to_pass() -> None:
    engine = FakeChatEngineForTestsNoGPU(FakeTokenizerForTestsNoGPU(chat_template=None))
    with pytest.raises(BackendError, match=r"no chat template.*--prompt-format raw"):
        _run(engine, math_chat("2+2?"))
