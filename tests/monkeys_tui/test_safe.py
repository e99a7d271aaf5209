from __future__ import annotations

from rich.console import Console

from monkeys_tui._safe import literal, literal_text

HOSTILE = "\x1b[31mred\x1b[0m [bold]not bold[/bold] [link=http://x]x[/link]\x07\r\x00 ok\tTAB\n2"


def test_control_characters_become_visible() -> None:
    out = literal(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out and "\r" not in out
    assert "\\x1b[31mred" in out
    assert "\\x07" in out and "\\r" in out and "\\x00" in out
    assert "\t" in out and "\n" in out  # layout characters are kept


def test_markup_is_not_parsed() -> None:
    text = literal_text(HOSTILE)
    assert "[bold]not bold[/bold]" in text.plain
    assert "[link=http://x]x[/link]" in text.plain
    assert not text.spans  # no style was derived from the content


def test_rendered_output_contains_no_escape_from_the_text() -> None:
    console = Console(width=200, color_system=None, file=None, force_terminal=False)
    with console.capture() as cap:
        console.print(literal_text(HOSTILE))
    rendered = cap.get()
    assert "\x1b" not in rendered
    assert "[bold]not bold[/bold]" in rendered
