"""Display model text literally: no markup, no escapes reaching the terminal."""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls except \t and \n, DEL, and C1 controls. ESC is among them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == "\r":
        return "\\r"
    return f"\\x{ord(ch):02x}"


def literal(s: str) -> str:
    """`s` with control characters made visible (ESC becomes the four characters ``\\x1b``)."""
    return _CONTROL.sub(_visible, s)


def literal_text(s: str, style: str = "") -> Text:
    """A Rich Text that shows `s` exactly: markup is not parsed, control characters are visible."""
    return Text(literal(s), style=style, no_wrap=False)
