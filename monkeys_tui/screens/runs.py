"""Runs: every run in the database, and the form that starts (or resumes) one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from monkeys_tui._safe import literal, literal_text
from monkeys_tui._session import Session, model_label
from monkeys_tui.screens.runform import RunFormScreen
from store import RunRecord, Store

if TYPE_CHECKING:
    from monkeys_tui.app import MonkeysApp

STATUS_STYLE = {"running": "green", "paused": "yellow", "done": "cyan", "failed": "red"}


@dataclass(frozen=True)
class RunRow:
    run: RunRecord
    verified: int
    budget: int
    solved: int

    @property
    def coverage(self) -> float | None:
        """Fraction of problems with a passing sample (coverage at the samples drawn)."""
        n = len(self.run.problem_ids)
        return self.solved / n if n else None


def load_rows(store: Store) -> list[RunRow]:
    rows = []
    for run in store.list_runs():
        counts = store.counts(run.id)
        budgets = store.problem_budgets(run.id)
        rows.append(
            RunRow(
                run,
                verified=sum(n for n, _ in counts.values()),
                budget=sum(budgets.values()),
                solved=sum(1 for _, c in counts.values() if c > 0),
            )
        )
    return rows


def _age(t: float, now: float) -> str:
    s = max(0.0, now - t)
    if s < 90:
        return f"{s:.0f}s ago"
    if s < 5400:
        return f"{s / 60:.0f}m ago"
    if s < 172800:
        return f"{s / 3600:.0f}h ago"
    return f"{s / 86400:.0f}d ago"


class RunsScreen(Screen[None]):
    """Enter opens (resumes) the highlighted run; space marks runs for Compare."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open/resume", show=True),
        Binding("n", "new", "New run"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("f5,ctrl+r", "reload", "Reload"),
        Binding("escape", "back", "Back to live run"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RunRow] = []
        self.marked: set[int] = set()

    @property
    def mapp(self) -> MonkeysApp:
        return cast("MonkeysApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=not self.mapp.deterministic)
        yield Static(id="runs-note")
        table: DataTable[Text] = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.title = "monkeys — runs"
        path = self.mapp.store.path
        self.sub_title = literal(path.name if self.mapp.deterministic else str(path))
        table = self.query_one("#runs", DataTable)
        for key, label in (
            ("mark", " "),
            ("id", "run"),
            ("name", "name"),
            ("suite", "suite"),
            ("model", "model"),
            ("backend", "backend"),
            ("policy", "policy"),
            ("problems", "problems"),
            ("used", "budget used"),
            ("coverage", "coverage"),
            ("status", "status"),
            ("updated", "updated"),
        ):
            table.add_column(label, key=key)
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="runs-load")
    def _load(self) -> None:
        rows = load_rows(self.mapp.store)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[RunRow]) -> None:
        self.rows = rows
        table = self.query_one("#runs", DataTable)
        keep = table.cursor_row
        table.clear()
        now = time.time()
        live = self.mapp.live
        for r in rows:
            run = r.run
            used = f"{r.verified:,}/{r.budget:,}"
            cov = r.coverage
            cov_text = (
                "—" if cov is None else f"{r.solved}/{len(run.problem_ids)} ({100 * cov:.1f}%)"
            )
            status = run.status
            if live is not None and live.run_id == run.id:
                status = f"{live.state} (open)"
            table.add_row(
                Text("✓" if run.id in self.marked else " ", style="bold green"),
                Text(str(run.id), justify="right"),
                literal_text(run.name),
                literal_text(run.suite),
                literal_text(model_label(run.model)),
                literal_text(run.backend),
                literal_text(run.policy),
                Text(str(len(run.problem_ids)), justify="right"),
                Text(used, justify="right"),
                Text(cov_text, justify="right"),
                Text(status, style=STATUS_STYLE.get(run.status, "")),
                Text("" if self.mapp.deterministic else _age(run.updated_at, now), style="dim"),
                key=str(run.id),
            )
        if rows:
            table.move_cursor(row=min(max(0, keep), len(rows) - 1))
        note = self.query_one("#runs-note", Static)
        if not rows:
            note.update(Text("No runs yet in this database: press n to start one.", "bold"))
        else:
            note.update(
                Text(
                    f"{len(rows)} runs. enter: open (resumes sampling) · n: new run · "
                    "space: mark · c: compare marked runs",
                    style="dim",
                )
            )

    def highlighted(self) -> RunRow | None:
        table = self.query_one("#runs", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.mapp.open_run(row.run.id)

    def action_mark(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        self.marked ^= {row.run.id}
        table = self.query_one("#runs", DataTable)
        table.update_cell(
            str(row.run.id),
            "mark",
            Text("✓" if row.run.id in self.marked else " ", style="bold green"),
        )

    def action_compare(self) -> None:
        ids = sorted(self.marked)
        if not ids:
            row = self.highlighted()
            ids = [row.run.id] if row is not None else []
        if ids:
            self.mapp.open_compare(ids)

    def action_new(self) -> None:
        self.app.push_screen(RunFormScreen(self.mapp.options), self._opened)

    def _opened(self, session: Session | None) -> None:
        if session is not None:
            self.mapp.show_opened(session)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return True if self.mapp.live is not None else None
        return True

    def action_back(self) -> None:
        if self.mapp.live is not None:
            self.dismiss()
