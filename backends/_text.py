"""Pure text helpers for token streams: incremental UTF-8 decoding and stop-string matching.

Tokens are byte pieces; one character may be split across tokens, so bytes go through an
incremental decoder. Stop strings are found by looking only at the tail that the new piece
could complete (the piece plus ``max(len(stop)) - 1`` previous characters), never by
re-scanning the whole text. Text that might be the start of a stop string is held back from
the streamed deltas, so the deltas always add up to the final text, which excludes the stop
string (as OpenAI's API does).
"""

from __future__ import annotations

import codecs


class Utf8Stream:
    """Bytes in, str out; a character split across pieces comes out once it is complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._decoder.decode(data, final=False)

    def flush(self) -> str:
        """What is left at the end; an incomplete character becomes U+FFFD."""
        return self._decoder.decode(b"", final=True)


def longest_stop_prefix_suffix(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of one of `stops`."""
    best = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:k]):
                best = k
                break
    return best


class StopMatcher:
    """Accumulates a sample's text and finds the first stop string by checking only the tail.

    `feed(piece)` returns ``(delta, stopped)``: `delta` is new text that is safe to stream (it
    cannot belong to a stop string); once `stopped`, `text` is the final text without the
    stop string and nothing more may be fed. `finish()` releases any held-back text (at EOS
    or max_tokens).
    """

    def __init__(self, stops: tuple[str, ...] = ()) -> None:
        self.stops = tuple(s for s in stops if s)
        self._max = max((len(s) for s in self.stops), default=0)
        self._parts: list[str] = []
        self._len = 0
        self._tail = ""  # the last (_max - 1) characters of the text, for matching
        self._held = ""  # text not yet streamed (a possible start of a stop string)
        self.stopped = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, piece: str) -> tuple[str, bool]:
        if self.stopped:
            raise RuntimeError("StopMatcher.feed after a stop string was found")
        if not piece:
            return "", False
        if not self.stops:
            self._append(piece)
            return piece, False
        window = self._tail + piece
        cut = -1
        for stop in self.stops:
            i = window.find(stop)
            if i != -1 and (cut == -1 or i < cut):
                cut = i
        if cut != -1:
            keep = cut - len(self._tail)  # characters of `piece` before the stop (may be < 0)
            if keep < 0:
                self._truncate(-keep)
                self._held = self._held[: max(0, len(self._held) + keep)]
                keep = 0
            self._append(piece[:keep])
            delta = self._held + piece[:keep]
            self._held = ""
            self.stopped = True
            return delta, True
        self._append(piece)
        self._tail = window[-(self._max - 1) :] if self._max > 1 else ""
        pending = self._held + piece
        hold = longest_stop_prefix_suffix(pending, self.stops)
        self._held = pending[len(pending) - hold :] if hold else ""
        return pending[: len(pending) - hold], False

    def finish(self) -> str:
        """The held-back text (the sample ended without a stop string)."""
        delta, self._held = self._held, ""
        return delta

    def _append(self, s: str) -> None:
        if s:
            self._parts.append(s)
            self._len += len(s)

    def _truncate(self, n: int) -> None:
        """Drop the last `n` characters of the text."""
        text = self.text[: self._len - n]
        self._parts = [text] if text else []
        self._len = len(text)
