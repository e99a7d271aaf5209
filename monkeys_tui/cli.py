"""The `monkeys` command: a parser built from the command registry (`monkeys_tui.commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from backends import BackendError
from backends.models import ModelUnavailable
from monkeys_suites import SuiteError
from monkeys_tui._safe import literal_text
from monkeys_tui.commands import COMMANDS
from store import StoreError
from verify import SandboxUnavailable

EXIT_USAGE = 2
DEFAULT_COMMAND = "app"
# Errors that are the user's to fix: printed as one line, exit status 2.
USER_ERRORS = (
    StoreError,
    SuiteError,
    ModelUnavailable,
    SandboxUnavailable,
    BackendError,
    ValueError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monkeys",
        description="Repeated sampling workbench: draw many samples per problem from a local "
        "LLM, verify each one, and watch coverage grow. Without a command, opens the app.",
    )
    sub = parser.add_subparsers(dest="command")
    first = ("app", "run", "runs", "show")
    for name in sorted(
        COMMANDS, key=lambda n: (n not in first, first.index(n) if n in first else 0, n)
    ):
        cmd = COMMANDS[name]
        cmd.configure(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help")):
        args = [DEFAULT_COMMAND, *args]
    ns = build_parser().parse_args(args)
    console = Console()
    err = Console(stderr=True)
    try:
        return COMMANDS[ns.command].run(ns, console)
    except USER_ERRORS as e:
        err.print(Text.assemble(("error: ", "bold red"), literal_text(str(e))))
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("interrupted; stored samples are kept")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
