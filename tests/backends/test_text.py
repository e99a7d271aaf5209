"""Pure text helpers of the llama.cpp backend: incremental UTF-8, the stop-string matcher."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends._text import StopMatcher, Utf8Stream, longest_stop_prefix_suffix


def test_utf8_split_across_pieces_comes_out_whole() -> None:
    text = "héllo 🐒 世界 ok"
    data = text.encode("utf-8")
    stream = Utf8Stream()
    out = [stream.feed(data[i : i + 1]) for i in range(len(data))]
    out.append(stream.flush())
    assert "".join(out) == text
    # nothing half-decoded ever comes out: each emitted piece is whole characters
    assert all("\ufffd" not in o for o in out)
    assert out[data.index("🐒".encode()) : data.index("🐒".encode()) + 3] == ["", "", ""]


def test_utf8_incomplete_character_at_the_end_is_replaced() -> None:
    stream = Utf8Stream()
    assert stream.feed(b"ab" + "🐒".encode()[:2]) == "ab"
    assert stream.flush() == "\ufffd"


@given(st.text(max_size=40), st.lists(st.integers(min_value=1, max_value=5), max_size=40))
@settings(max_examples=200, deadline=None)
def test_utf8_any_split_roundtrips(text: str, cuts: list[int]) -> None:
    data = text.encode("utf-8")
    stream = Utf8Stream()
    out, i = [], 0
    for c in cuts:
        out.append(stream.feed(data[i : i + c]))
        i += c
    out.append(stream.feed(data[i:]))
    out.append(stream.flush())
    assert "".join(out) == text


def test_longest_stop_prefix_suffix() -> None:
    assert longest_stop_prefix_suffix("abc\nde", ("\ndef ",)) == 3
    assert longest_stop_prefix_suffix("abc", ("\ndef ",)) == 0
    assert longest_stop_prefix_suffix("x\n", ("\ndef ", "\n#")) == 1
    # a whole stop string is not a *proper* prefix
    assert longest_stop_prefix_suffix("ab", ("ab",)) == 0
    assert longest_stop_prefix_suffix("aa", ("aab",)) == 2
    assert longest_stop_prefix_suffix("xa", ("ab",)) == 1


def _run(pieces: list[str], stops: tuple[str, ...]) -> tuple[str, str, bool]:
    m = StopMatcher(stops)
    deltas = []
    stopped = False
    for p in pieces:
        d, stopped = m.feed(p)
        deltas.append(d)
        if stopped:
            break
    if not stopped:
        deltas.append(m.finish())
    return m.text, "".join(deltas), stopped


def test_stop_split_across_pieces_is_excluded() -> None:
    text, streamed, stopped = _run(["    return a", " + b\n", "de", "f sub(a, b):"], ("\ndef ",))
    assert stopped
    assert text == "    return a + b"
    assert streamed == text


def test_earliest_of_several_stops_wins() -> None:
    text, _, stopped = _run(["x = 1\n#c\nprint(x)"], ("\nprint(", "\n#"))
    assert stopped and text == "x = 1"


def test_stop_at_the_very_start_gives_empty_text() -> None:
    text, streamed, stopped = _run(["\n", "#", " more"], ("\n#",))
    assert stopped and text == "" and streamed == ""


def test_possible_stop_prefix_is_held_back_then_released() -> None:
    m = StopMatcher(("\ndef ",))
    assert m.feed("a\nde") == ("a", False)  # "\nde" might start a stop string
    assert m.feed("lta") == ("\ndelta", False)  # it did not
    assert m.feed("\n") == ("", False)
    assert m.finish() == "\n"
    assert m.text == "a\ndelta\n"


def test_no_stops_streams_everything() -> None:
    text, streamed, stopped = _run(["a", "b\n", "c"], ())
    assert (text, streamed, stopped) == ("ab\nc", "ab\nc", False)


def test_feed_after_stop_is_an_error() -> None:
    m = StopMatcher(("x",))
    assert m.feed("ax") == ("a", True)
    with pytest.raises(RuntimeError):
        m.feed("more")


def _brute(pieces: list[str], stops: tuple[str, ...]) -> tuple[str, bool]:
    acc = ""
    for p in pieces:
        acc += p
        hits = [acc.find(s) for s in stops if s in acc]
        if hits:
            return acc[: min(hits)], True
    return acc, False


def test_matches_brute_force_on_random_streams() -> None:
    rng = random.Random(1234)
    alphabet = "ab\n#d"
    for _ in range(3000):
        stops = tuple(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(0, 3))
        )
        pieces = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
            for _ in range(rng.randint(0, 12))
        ]
        text, streamed, stopped = _run(pieces, stops)
        want_text, want_stopped = _brute(pieces, stops)
        assert (text, stopped) == (want_text, want_stopped), (pieces, stops)
        assert streamed == text, (pieces, stops)
