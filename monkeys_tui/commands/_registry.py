"""The `monkeys` subcommands, registered by decorator (one module per command group).

A command module defines ``configure(parser)`` and a runner, and registers them::

    @command("report", "tables and figures of one or more runs", configure=_args)
    def report(ns: argparse.Namespace, console: Console) -> int: ...

`monkeys_tui.cli` builds the parser from the registry; a runner returns the exit status.
Errors that are the user's (bad input, a missing engine) are raised as the exceptions listed in
`USER_ERRORS` and printed by the CLI as one clear line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

Runner = Callable[[argparse.Namespace, Console], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Configure
    run: Runner


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *, configure: Configure) -> Callable[[Runner], Runner]:
    """Register `fn` as `monkeys NAME`; `configure` adds the command's arguments."""

    def deco(fn: Runner) -> Runner:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, configure, fn)
        return fn

    return deco
