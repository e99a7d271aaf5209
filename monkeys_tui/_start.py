"""The `monkeys` console script: refuse to start when another distribution shadows one of this
project's packages (`_shadow`), then run the command line."""

from __future__ import annotations

import sys

from monkeys_tui._shadow import shadowing, shadowing_message


def main() -> int:
    found = shadowing()
    if found:
        print(f"error: {shadowing_message(found)}", file=sys.stderr)
        return 2
    from monkeys_tui.cli import main as cli_main

    return cli_main()
