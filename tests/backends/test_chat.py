"""Chat templates, the thinking split, prompt formats and the KV-memory check.

The llama.cpp part runs the real smollm2-135m-instruct GGUF with its own template and compares
the rendered prompt with llama-cpp-python's own Jinja formatter (an independent rendering of
the same template string)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from backends import (
    BackendError,
    GenerationRequest,
    LlamaCppBackend,
    SampleFinished,
    SamplingParams,
    TextDelta,
)
from backends._chat import (
    ChatTemplateError,
    opens_thinking,
    render_chat,
    resolve_prompt_format,
    split_thinking,
)
from backends._llamacpp import check_kv_memory, kv_bytes_per_token
from monkeys_suites import ChatMessage, function_chat, math_chat

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _dicts(msgs: tuple[ChatMessage, ...]) -> Any:
    return [{"role": m.role, "content": m.content} for m in msgs]


# ---- rendering ------------------------------------------------------------------------------


def test_render_adds_generation_prompt_and_bos_as_the_template_says() -> None:
    tmpl = "{{ bos_token }}" + CHATML
    out = render_chat(tmpl, math_chat("1+1?"), bos_token="<s>")
    assert out.startswith("<s><|im_start|>user\n1+1?")
    assert out.endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_assistant_prefix_is_continued_without_end_of_turn() -> None:
    msgs = function_chat("def f(x):\n    pass\n")
    out = render_chat(CHATML, msgs)
    assert out.endswith("<|im_start|>assistant\n" + msgs[-1].content)
    assert out.count("<|im_end|>") == 1  # the user turn's only


def test_template_errors_are_clear() -> None:
    with pytest.raises(ChatTemplateError, match="does not compile"):
        render_chat("{% for %}", math_chat("x"))
    refusing = "{{ raise_exception('System role not supported') }}"
    with pytest.raises(ChatTemplateError, match="System role not supported"):
        render_chat(refusing, math_chat("x"))


def test_llama_cpp_python_formatter_agrees_on_a_handwritten_template() -> None:
    fmt = pytest.importorskip("llama_cpp.llama_chat_format")
    msgs = (ChatMessage("system", "Be terse."), *math_chat("What is 2+2?"))
    theirs = fmt.Jinja2ChatFormatter(CHATML, eos_token="</s>", bos_token="<s>")(
        messages=_dicts(msgs)
    ).prompt
    assert render_chat(CHATML, msgs, bos_token="<s>", eos_token="</s>") == theirs


# ---- prompt formats -------------------------------------------------------------------------


def test_auto_follows_the_catalog_and_the_name() -> None:
    assert resolve_prompt_format("auto", "llama.cpp", "smollm2-135m-instruct")[0] == "chat"
    fmt, why = resolve_prompt_format("auto", "llama.cpp", "gemma-3-270m")
    assert (fmt, "base model" in why) == ("raw", True)
    assert resolve_prompt_format("auto", "openai", "Qwen/Qwen3-8B")[0] == "chat"
    assert resolve_prompt_format("auto", "openai", "/m/llama-3-8b.gguf")[0] == "raw"
    assert resolve_prompt_format("auto", "replay", "x-instruct")[0] == "raw"
    assert resolve_prompt_format("raw", "llama.cpp", "smollm2-135m-instruct")[0] == "raw"
    with pytest.raises(ValueError, match="raw, chat, auto"):
        resolve_prompt_format("jinja", "llama.cpp", "x")


# ---- the thinking split (fixtures in each model family's documented output format) ----------

# Qwen3 (thinking mode): the model opens and closes <think> itself, then answers.
QWEN3 = "<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is \\boxed{4}."
# DeepSeek-R1 distills: the chat template ends the generation prompt with "<think>\n", so the
# output starts inside the thinking and only closes it.
R1 = "Okay, 2+2: add them, 4.\n</think>\n\n**Final answer** \\boxed{4}"
# gpt-oss (harmony format): analysis channel, then the final channel.
GPT_OSS = (
    "<|channel|>analysis<|message|>Need 2+2. It's 4.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>\\boxed{4}<|return|>"
)


@pytest.mark.parametrize("text", [QWEN3, R1, GPT_OSS])
def test_thinking_split_in_each_format(text: str) -> None:
    t = split_thinking(text)
    assert t.closed
    assert "\\boxed{4}" in t.answer and "\\boxed" not in t.thinking
    assert "4" in t.thinking and "<think>" not in t.answer and "<|" not in t.answer


def test_unclosed_thinking_cut_by_max_tokens_is_all_thinking() -> None:
    cut = "<think>\nLet me add 2 and 2. First, 2 plus"
    t = split_thinking(cut)
    assert (t.answer, t.closed) == ("", False)
    assert t.thinking.startswith("Let me add")
    r1_cut = "Okay so 2 plus 2 is"  # an R1 prompt opened the thinking; no close came
    assert split_thinking(r1_cut, opened=True).answer == ""
    assert split_thinking(r1_cut).answer == r1_cut  # a plain answer stays an answer
    harmony_cut = "<|channel|>analysis<|message|>Need 2+2. It's"
    assert split_thinking(harmony_cut).answer == ""
    assert opens_thinking("<|Assistant|><think>\n") and not opens_thinking("assistant\n")


def test_server_reasoning_field_is_the_thinking() -> None:
    t = split_thinking("\\boxed{4}", "2+2 is 4")
    assert (t.thinking, t.answer) == ("2+2 is 4", "\\boxed{4}")


# ---- KV memory for long budgets -------------------------------------------------------------


def test_kv_check_fits_or_refuses_with_the_numbers() -> None:
    # Qwen2.5-0.5B: 24 layers, 14 heads, 2 KV heads, width 896 -> 12,288 bytes a token
    per_token = kv_bytes_per_token(n_layer=24, n_head=14, n_head_kv=2, n_embd=896)
    assert per_token == 2 * 24 * 2 * 64 * 2
    gib = 1024**3
    assert check_kv_memory(per_token, 2048, 32, 8 * gib) == per_token * 2048 * 32
    with pytest.raises(BackendError) as e:
        check_kv_memory(per_token, 32768 + 1024, 32, 8 * gib)
    fits = (8 * gib * 3 // 4) // (per_token * (32768 + 1024))
    assert f"the largest --parallel that fits is {fits}" in str(e.value)
    assert "GiB of KV cache" in str(e.value)
    with pytest.raises(BackendError, match="not even one"):
        check_kv_memory(per_token, 10**7, 1, 8 * gib)


# ---- llama.cpp with the GGUF's own template -------------------------------------------------


@pytest.mark.model
def test_llamacpp_chat_prompt_equals_llama_cpp_pythons_rendering(small_model_path: Path) -> None:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = llama_cpp.Llama(str(small_model_path), vocab_only=True, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    eos = llm._model.token_get_text(llm.token_eos())
    bos = llm._model.token_get_text(llm.token_bos())
    msgs = math_chat("What is 3 + 4?")
    theirs = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(
        messages=_dicts(msgs)
    ).prompt
    theirs_tokens = llm.tokenize(theirs.encode(), add_bos=False, special=True)

    async def go() -> tuple[list[SampleFinished], str]:
        backend = LlamaCppBackend(
            small_model_path, model_name="smollm2", n_parallel=4, n_ctx_per_seq=512, threads=2
        )
        try:
            req = GenerationRequest(
                "p", "unused raw prompt", (0, 1, 2, 3), SamplingParams(0.7, 0.95, 200), 5, msgs
            )
            events = [ev async for ev in backend.generate(req)]
        finally:
            await backend.close()
        deltas = "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == 0)
        return [e for e in events if isinstance(e, SampleFinished)], deltas

    done, deltas0 = asyncio.run(go())
    assert len(done) == 4
    for s in done:
        assert s.prompt_text == theirs  # the same text as llama-cpp-python renders
        assert s.prompt_tokens == len(theirs_tokens)  # and tokenized the same way (no 2nd BOS)
    assert theirs.endswith("<|im_start|>assistant\n")
    # samples end at the end-of-turn token, not at max_tokens, and do not contain it
    stopped = [s for s in done if s.finish_reason == "stop"]
    assert stopped, [s.text for s in done]
    assert all("<|im_end|>" not in s.text for s in done)
    assert deltas0 == next(s.text for s in done if s.index == 0)


@pytest.mark.model
def test_llamacpp_continues_an_assistant_prefix(small_model_path: Path) -> None:
    msgs = function_chat('def add(a, b):\n    """Return a + b."""\n')

    async def go() -> list[SampleFinished]:
        backend = LlamaCppBackend(
            small_model_path, model_name="smollm2", n_parallel=2, n_ctx_per_seq=512, threads=2
        )
        try:
            req = GenerationRequest("p", "", (0, 1), SamplingParams(0.2, 0.95, 48), 1, msgs)
            return [e async for e in backend.generate(req) if isinstance(e, SampleFinished)]
        finally:
            await backend.close()

    for s in asyncio.run(go()):
        assert s.text.startswith(msgs[-1].content)  # the whole assistant message
        assert s.prompt_text.endswith(msgs[-1].content)
