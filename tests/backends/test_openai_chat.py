"""The OpenAI backend's chat API: against a real llama-cpp-python server on loopback (it
serves /v1/chat/completions with the GGUF's template), and the chat stream's bookkeeping
(reasoning fields apart from the text) on chunks written as vLLM and gpt-oss servers send
them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence

import pytest

from backends import BackendError, GenerationRequest, SampleFinished, SamplingParams
from backends._openai import OpenAICompatBackend, _StreamState
from monkeys_suites import function_chat, math_chat

ALIAS = "smollm2"


def _chunk(j: int, **delta: str) -> dict[str, object]:
    return {"choices": [{"index": j, "delta": delta, "finish_reason": None}]}


def test_chat_stream_keeps_reasoning_apart() -> None:
    st = _StreamState("p", [0, 1])
    st.feed(_chunk(0, role="assistant"))
    st.feed(_chunk(0, reasoning_content="2+2 is "))  # vLLM / DeepSeek
    st.feed(_chunk(0, reasoning_content="4."))
    st.feed(_chunk(1, reasoning="Four."))  # vLLM's newer field, gpt-oss servers
    acts = st.feed(_chunk(0, content="\\boxed{4}"))
    assert acts == [("text", 0, "\\boxed{4}")]  # only the answer streams as text
    st.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    assert "".join(st.choices[0].text) == "\\boxed{4}"
    assert "".join(st.choices[0].reasoning) == "2+2 is 4."
    assert "".join(st.choices[1].reasoning) == "Four." and st.choices[1].text == []
    assert st.choices[0].chunks == 3 and st.choices[0].finish_reason == "length"


def test_chat_messages_drop_an_assistant_prefix_and_wrap_a_raw_prompt() -> None:
    b = OpenAICompatBackend("http://127.0.0.1:9", "m", api="chat")
    params = SamplingParams(max_tokens=8)
    req = GenerationRequest("p", "raw", (0,), params, 0, function_chat("def f(): pass"))
    (msg,) = b.chat_messages(req)
    assert msg["role"] == "user" and "self-contained Python script" in msg["content"]
    assert b.chat_messages(GenerationRequest("p", "raw", (0,), params)) == [
        {"role": "user", "content": "raw"}
    ]
    completions = OpenAICompatBackend("http://127.0.0.1:9", "m")
    with pytest.raises(BackendError, match="--api chat"):
        completions._body(req, [0])


@pytest.fixture(scope="module")
def llama_server(llama_server_factory: Callable[[str, Sequence[str]], str]) -> str:
    return llama_server_factory(ALIAS, ["--n_ctx", "2048", "--interrupt_requests", "False"])


@pytest.mark.model
def test_chat_api_against_a_real_server(llama_server: str) -> None:
    async def go() -> list[SampleFinished]:
        b = OpenAICompatBackend(llama_server, ALIAS, api="chat", max_n=4)
        try:
            req = GenerationRequest(
                "p",
                "unused",
                (0, 1, 2),
                SamplingParams(0.7, 0.95, 24),
                7,
                math_chat("What is 2 + 3?"),
            )
            return [e async for e in b.generate(req) if isinstance(e, SampleFinished)]
        finally:
            await b.close()

    done = asyncio.run(go())
    assert sorted(s.index for s in done) == [0, 1, 2]
    for s in done:
        assert s.text and s.finish_reason in ("stop", "length")
        assert s.completion_tokens > 0 and s.prompt_tokens > 10
        sent = json.loads(s.prompt_text)
        assert sent == [{"role": "user", "content": math_chat("What is 2 + 3?")[0].content}]
        assert "<|im_start|>" not in s.text  # the server applied the template, not us


@pytest.mark.model
def test_no_chat_endpoint_says_what_to_pass(llama_server: str) -> None:
    async def go() -> None:
        b = OpenAICompatBackend(llama_server, ALIAS, api="chat")
        b._root = llama_server + "/nowhere"  # the same server without the chat path
        b._client = __import__("httpx").AsyncClient()
        try:
            req = GenerationRequest("p", "x", (0,), SamplingParams(max_tokens=4))
            [e async for e in b.generate(req)]
        finally:
            await b.close()

    with pytest.raises(BackendError, match=r"serves no chat endpoint.*--api completions"):
        asyncio.run(go())
