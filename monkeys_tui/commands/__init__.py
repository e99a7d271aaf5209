"""The `monkeys` subcommands; importing this package registers every one of them."""

from monkeys_tui.commands import audit as audit
from monkeys_tui.commands import export as export
from monkeys_tui.commands import models as models
from monkeys_tui.commands import report as report
from monkeys_tui.commands import reverify as reverify
from monkeys_tui.commands import run as run
from monkeys_tui.commands import runs as runs
from monkeys_tui.commands import sandbox as sandbox
from monkeys_tui.commands import suites as suites
from monkeys_tui.commands._registry import COMMANDS, Command, command

__all__ = ["COMMANDS", "Command", "command"]
