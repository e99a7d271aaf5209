"""ReplayBackend: the JSONL form and the paper's per-problem YAML files, written by the tests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from backends._protocol import (
    Backend,
    BackendError,
    BackendEvent,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
)
from backends._replay import ReplayBackend


def _req(pid: str, indices: tuple[int, ...], base_seed: int = 0) -> GenerationRequest:
    return GenerationRequest(pid, "prompt text", indices, SamplingParams(), base_seed)


async def _collect(backend: ReplayBackend, req: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in backend.generate(req)]


async def _collect_until_error(
    backend: ReplayBackend, req: GenerationRequest
) -> tuple[list[BackendEvent], BackendError]:
    """The events yielded before the replay said it lacks some requested samples."""
    events: list[BackendEvent] = []
    with pytest.raises(BackendError) as info:
        async for ev in backend.generate(req):
            events.append(ev)
    return events, info.value


def _finished(events: list[BackendEvent]) -> list[SampleFinished]:
    return [e for e in events if isinstance(e, SampleFinished)]


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _paper_yaml(path: Path, samples: list[str], corrects: list[bool] | None) -> Path:
    # The shape llmonk writes: save_yaml(path, {prompt, question, samples, gt_answer, is_corrects})
    doc: dict[str, object] = {
        "prompt": "Question: 2+2?\nAnswer:",
        "question": "2+2?",
        "samples": samples,
        "gt_answer": "#### 4",
    }
    if corrects is not None:
        doc["is_corrects"] = corrects
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(doc, f, sort_keys=True)
    return path


async def test_jsonl_replays_requested_indices_with_recorded_fields(tmp_path: Path) -> None:
    f = _write_jsonl(
        tmp_path / "s.jsonl",
        [
            {
                "problem_id": "p1",
                "index": 0,
                "text": "a",
                "seed": 99,
                "correct": True,
                "prompt_tokens": 7,
                "completion_tokens": 1,
                "finish_reason": "length",
            },
            {"problem_id": "p1", "index": 1, "text": "bb", "correct": False},
            {"problem_id": "p1", "index": 3, "text": ""},
            {"problem_id": "p2", "index": 0, "text": "other"},
        ],
    )
    rb = ReplayBackend(f)
    assert isinstance(rb, Backend)
    await rb.start()
    events, error = await _collect_until_error(rb, _req("p1", (0, 1, 2, 3), base_seed=10))
    fin = _finished(events)
    # index 2 is not in the file: the others are yielded, then the replay says what it lacks
    assert [e.index for e in fin] == [0, 1, 3]
    assert "holds 3 samples of 'p1' (indices 0-1, 3), not sample(s) 2" in str(error)
    assert str(f) in str(error)
    assert [e.index for e in events if isinstance(e, SampleStarted)] == [0, 1, 3]
    by = {e.index: e for e in fin}
    assert by[0].seed == 99 and by[0].text == "a" and by[0].finish_reason == "length"
    assert (by[0].prompt_tokens, by[0].completion_tokens) == (7, 1)
    assert "tokens_estimated" not in by[0].meta
    assert by[1].seed == 11 and by[1].finish_reason == "stop"
    assert by[1].meta["tokens_estimated"] == 1.0 and by[1].completion_tokens == 1
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [(d.index, d.text) for d in deltas] == [(0, "a"), (1, "bb")]  # no delta for ""
    assert rb.known_correct("p1", 0) is True
    assert rb.known_correct("p1", 1) is False
    assert rb.known_correct("p1", 3) is None
    assert rb.known_correct("p1", 2) is None
    assert rb.problem_ids() == ["p1", "p2"]
    assert rb.indices("p1") == [0, 1, 3]
    assert rb.recorded_prefix("p1") == 2  # 0, 1 without a gap: the largest replayable budget
    assert rb.recorded_prefix("p2") == 1 and rb.recorded_prefix("nope") == 0
    events, error = await _collect_until_error(rb, _req("nope", (0, 1)))
    assert events == [] and "has no problem 'nope'" in str(error)
    await rb.close()


async def test_paper_yaml_directory(tmp_path: Path) -> None:
    _paper_yaml(tmp_path / "12.yaml", ["x #### 4", "y #### 5", "z"], [True, False, False])
    _paper_yaml(tmp_path / "7.yaml", ["only"], None)
    rb = ReplayBackend(tmp_path)
    await rb.start()
    assert rb.problem_ids() == ["12", "7"]
    events, error = await _collect_until_error(rb, _req("12", (2, 0, 5), base_seed=3))
    fin = _finished(events)
    assert [(e.index, e.text, e.seed) for e in fin] == [(2, "z", 5), (0, "x #### 4", 3)]
    assert "not sample(s) 5" in str(error)
    assert fin[1].meta["recorded_correct"] == 1.0
    assert rb.known_correct("12", 0) is True
    assert rb.known_correct("12", 1) is False
    assert rb.known_correct("7", 0) is None  # generated but never evaluated
    assert rb.prompt("12") == "Question: 2+2?\nAnswer:"
    assert rb.info.detail.startswith("2 problems, 4 samples")


async def test_speed_paces_the_replay(tmp_path: Path) -> None:
    f = _write_jsonl(
        tmp_path / "s.jsonl", [{"problem_id": "p", "index": i, "text": "t"} for i in range(4)]
    )
    rb = ReplayBackend(f, speed=40.0)
    t0 = time.monotonic()
    fin = _finished(await _collect(rb, _req("p", (0, 1, 2, 3))))
    assert len(fin) == 4
    assert time.monotonic() - t0 >= 4 / 40.0 * 0.9


async def test_close_early_stops(tmp_path: Path) -> None:
    f = _write_jsonl(
        tmp_path / "s.jsonl", [{"problem_id": "p", "index": i, "text": "t"} for i in range(50)]
    )
    rb = ReplayBackend(f, speed=1000.0)
    gen = rb.generate(_req("p", tuple(range(50))))
    seen = 0
    async for ev in gen:
        seen += isinstance(ev, SampleFinished)
        if seen == 3:
            break
    await gen.aclose()  # type: ignore[attr-defined]
    assert seen == 3


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"index": 0, "text": "t"}', "field 'problem_id'"),
        ('{"problem_id": "p", "index": -1, "text": "t"}', "field 'index'"),
        ('{"problem_id": "p", "index": true, "text": "t"}', "field 'index'"),
        ('{"problem_id": "p", "index": 1, "text": 3}', "field 'text'"),
        ('{"problem_id": "p", "index": 1, "text": "t", "seed": "x"}', "field 'seed'"),
        ('{"problem_id": "p", "index": 1, "text": "t", "correct": "yes"}', "field 'correct'"),
        (
            '{"problem_id": "p", "index": 1, "text": "t", "finish_reason": "eos"}',
            "field 'finish_reason'",
        ),
        (
            '{"problem_id": "p", "index": 1, "text": "t", "completion_tokens": 1.5}',
            "field 'completion_tokens'",
        ),
        ('{"problem_id": "p", "index": 1, "text": "t", "seed": true}', "field 'seed'"),
        (
            '{"problem_id": "p", "index": 1, "text": "t", "prompt_tokens": -1}',
            "field 'prompt_tokens'",
        ),
        (
            '{"problem_id": "p", "index": 1, "text": "t", "completion_tokens": false}',
            "field 'completion_tokens'",
        ),
        ('{"problem_id": "p", "index": 0, "text": "dup"}', "already on line 1"),
        ('{"problem_id": "p", "index": 1, "text": "t", "prompt": 7}', "field 'prompt'"),
    ],
)
def test_malformed_jsonl_names_file_line_and_field(tmp_path: Path, line: str, needle: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(
        '{"problem_id": "p", "index": 0, "text": "ok"}\n\n' + line + "\n", encoding="utf-8"
    )
    rb = ReplayBackend(f)
    with pytest.raises(BackendError) as ei:
        rb.known_correct("p", 0)
    msg = str(ei.value)
    assert f"{f}:3" in msg
    assert needle in msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("samples: [a, b\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("prompt: p\n", "field 'samples'"),
        ("samples: [a, 3]\n", "field 'samples[1]'"),
        ("samples: [a, b]\nis_corrects: [true]\n", "field 'is_corrects'"),
        ("samples: [a, b]\nis_corrects: [true, maybe]\n", "field 'is_corrects[1]'"),
        ("samples: [a]\nprompt: [1]\n", "field 'prompt'"),
    ],
)
async def test_malformed_yaml_names_file_and_field(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "3.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(BackendError) as ei:
        await ReplayBackend(f).start()
    assert str(f) in str(ei.value)
    assert needle in str(ei.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "3.yaml"
    f.write_text("prompt: p\nsamples:\n  - a\n  - [b\n", encoding="utf-8")
    with pytest.raises(BackendError, match=r"3\.yaml:\d+: not valid YAML"):
        ReplayBackend(f).problem_ids()


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no such file or directory"):
        ReplayBackend(tmp_path / "missing.jsonl").problem_ids()
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BackendError, match=r"cannot replay a \.txt file"):
        ReplayBackend(tmp_path / "notes.txt").problem_ids()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackendError, match=r"no \.jsonl, \.yaml or \.yml files"):
        ReplayBackend(empty).problem_ids()
    with pytest.raises(ValueError, match="speed"):
        ReplayBackend(tmp_path, speed=0)


def test_one_problem_in_two_files_is_refused(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "a.jsonl", [{"problem_id": "5", "index": 0, "text": "t"}])
    _paper_yaml(tmp_path / "5.yaml", ["u"], None)
    with pytest.raises(BackendError, match="problem '5' is also in"):
        ReplayBackend(tmp_path).problem_ids()


def test_jsonl_prompt_is_read_and_must_agree(tmp_path: Path) -> None:
    f = _write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"problem_id": "q", "index": 0, "text": "a", "prompt": "Q: 1+1?"},
            {"problem_id": "q", "index": 1, "text": "b"},
            {"problem_id": "q", "index": 2, "text": "c", "prompt": "Q: 1+1?"},
        ],
    )
    rb = ReplayBackend(f)
    assert rb.prompt("q") == "Q: 1+1?"
    assert rb.prompt("missing") is None
    _write_jsonl(
        f,
        [
            {"problem_id": "q", "index": 0, "text": "a", "prompt": "Q: 1+1?"},
            {"problem_id": "q", "index": 1, "text": "b", "prompt": "Q: 2+2?"},
        ],
    )
    with pytest.raises(BackendError, match=r"s\.jsonl:2: field 'prompt' differs .* on line 1"):
        ReplayBackend(f).load()


def test_jsonl_blank_lines_are_skipped_and_errors_keep_their_line(tmp_path: Path) -> None:
    row = {"problem_id": "p", "index": 0, "text": "a"}
    f = tmp_path / "b.jsonl"
    f.write_text(f"\n{json.dumps(row)}\n   \n\t\r\n{json.dumps(row | {'index': 1})}\n\n")
    backend = ReplayBackend(f)
    assert backend.indices("p") == [0, 1]
    second = backend.recorded("p", 1)
    assert second is not None and second.source == f"{f}:5"
    f.write_text(f"\n\n{json.dumps(row)}\n  \n{{not json\n")
    with pytest.raises(BackendError, match=r"b\.jsonl:5: not valid JSON"):
        ReplayBackend(f).load()


async def test_recorded_samples_are_left_alone_by_the_cyclic_collector(tmp_path: Path) -> None:
    """Millions of records: out of the garbage collector's sight while the backend is open
    (frozen), plain tuples, which it stops tracking once it has seen them, and released at
    close (freed at once, not by a collection); the records asked for are the same."""
    import gc

    rows: list[dict[str, object]] = [
        {"problem_id": "p", "index": i, "text": f"t{i}", "correct": i % 3 != 0} for i in range(30)
    ]
    rows[7].pop("correct")
    f = _write_jsonl(tmp_path / "g.jsonl", rows)
    backend = ReplayBackend(f)
    backend.load()
    assert backend._data is not None
    held = list(backend._data["p"].values())
    assert gc.get_freeze_count() >= len(held)
    await backend.close()
    assert gc.get_freeze_count() == 0
    assert backend._data is None  # released at close; read again when asked
    gc.collect()
    assert len(held) == 30 and not any(gc.is_tracked(r) for r in held)
    rec = backend.recorded("p", 3)
    assert rec is not None and (rec.text, rec.correct, rec.source) == ("t3", False, f"{f}:4")
    assert backend.samples("p")[7].correct is None and backend.known_correct("p", 8) is True
    assert backend.verdicts("p")[:3] == [(0, "t0", False), (1, "t1", True), (2, "t2", True)]
