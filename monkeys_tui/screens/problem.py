"""One problem: every sample with its status, (final-answer problems) the distinct answers
with their vote counts, and whether more samples would help it: under a zero-inflated
beta-binomial fitted to the whole run (`monkeys_analysis.more_samples`), the probability that its
pass rate is above zero and what N more samples would bring."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from monkeys_analysis import BetaBinomialFit, fit_beta_binomial, more_samples
from monkeys_suites import Problem, ProblemKind
from monkeys_tui._safe import literal_text
from store import SampleRecord, Store
from verify import answers_match, extract_answer

STATUS_STYLE = {
    "pass": "green",
    "fail": "red",
    "error": "magenta",
    "timeout": "dark_orange",
    "oom": "orchid",
    "sandbox_error": "bright_red",
}
PREVIEW = 60


@dataclass(frozen=True)
class Vote:
    answer: str
    votes: int
    correct: bool | None  # None: no reference answer


def answer_votes(problem: Problem, samples: list[SampleRecord]) -> list[Vote]:
    """Distinct extracted final answers, most votes first (ties: first seen first)."""
    counts: Counter[str] = Counter()
    for s in samples:
        ans = extract_answer(s.text)
        counts["(no answer)" if ans is None else ans] += 1
    refs = ([problem.answer] if problem.answer is not None else []) + list(problem.answers)
    out = []
    for ans, n in counts.most_common():
        correct = None
        if refs and ans != "(no answer)":
            correct = any(answers_match(ans, r) for r in refs)
        elif refs:
            correct = False
        out.append(Vote(ans, n, correct))
    return out


def outlook_extras(n: int) -> tuple[int, int]:
    """The N of "N more samples" the problem view asks about: as many as drawn (at least
    10), and ten times that."""
    base = max(n, 10)
    return base, 10 * base


def outlook_text(fit: BetaBinomialFit | None, n: int, c: int) -> Text:
    """Will more samples help this problem (n verified samples, c passed)?"""
    t = Text()
    t.append("Will more samples help? ", style="bold")
    if fit is None:
        t.append("no fit yet (the run needs a solved problem and two with samples)", "dim")
        return t
    t.append(
        f"(the run's {fit.n_problems} problems: {fit.describe()}, zero-inflated beta-binomial)\n",
        style="dim",
    )
    small, large = outlook_extras(n)
    now = more_samples(fit, n, c, small)
    later = more_samples(fit, n, c, large)
    if c > 0:
        t.append(f"solved ({c} of {n} samples pass); ", style="green")
        t.append(f"the next sample passes with probability {_pct(now.p_next)}; ")
        t.append(f"{now.expected_passes:.1f} passing in {small:,} more")
        return t
    t.append(f"pass rate above zero: {_pct(now.p_solvable)}", style="bold")
    t.append(f" · next sample passes: {_pct(now.p_next)}\n")
    for m in (now, later):
        t.append(f"{m.extra:,} more samples: ")
        t.append(f"solved with probability {_pct(m.p_solve)}", style="bold")
        t.append(f" ({m.expected_passes:.2g} passing samples expected)\n")
    return t


def _pct(p: float) -> str:
    return f"{100 * p:.2g}%" if p < 0.1 else f"{100 * p:.0f}%"


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:PREVIEW]
    return ""


class ProblemScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("enter", "inspect", "Inspect sample", show=True),
    ]

    def __init__(
        self,
        store: Store,
        run_id: int,
        problem: Problem,
        *,
        open_sample: Callable[[str, int], Screen[None]] | None = None,
        deterministic: bool = False,
    ) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.problem = problem
        self.open_sample = open_sample
        self.deterministic = deterministic
        self.samples: list[SampleRecord] = []
        self.votes: list[Vote] = []
        self.outlook: Text = Text()

    def compose(self) -> ComposeResult:
        with Vertical(id="problem-view"):
            yield Static(id="problem-head")
            table: DataTable[Text] = DataTable(id="problem-samples", cursor_type="row")
            yield table
            yield Static(id="problem-votes")
            yield Static(id="problem-outlook")
        yield Footer()

    def on_mount(self) -> None:
        p = self.problem
        head = Text.assemble(("Problem ", "bold"), literal_text(p.id, "bold cyan"))
        head.append(f"   {p.kind.value}", style="dim")
        if p.kind is ProblemKind.FINAL_ANSWER and p.answer is not None:
            head.append("   reference: ", style="bold")
            head.append_text(literal_text(p.answer))
        self.query_one("#problem-head", Static).update(head)
        table = self.query_one("#problem-samples", DataTable)
        cols = ["#", "status", "tokens", "finish", "seed"]
        if p.kind is ProblemKind.FINAL_ANSWER:
            cols.append("answer")
        cols.append("completion")
        for c in cols:
            table.add_column(c, key=c)
        table.focus()
        self._load()

    @work(thread=True, exclusive=True, group="problem-load")
    def _load(self) -> None:
        samples = self.store.samples(self.run_id, self.problem.id)
        votes = (
            answer_votes(self.problem, samples)
            if self.problem.kind is ProblemKind.FINAL_ANSWER
            else []
        )
        counts = self.store.counts(self.run_id)
        n, c = counts.get(self.problem.id, (0, 0))
        fit = fit_beta_binomial(counts, zero_inflated=True)
        self.app.call_from_thread(self._show, samples, votes, outlook_text(fit, n, c))

    def _show(self, samples: list[SampleRecord], votes: list[Vote], outlook: Text) -> None:
        self.samples, self.votes, self.outlook = samples, votes, outlook
        self.query_one("#problem-outlook", Static).update(outlook)
        table = self.query_one("#problem-samples", DataTable)
        table.clear()
        final = self.problem.kind is ProblemKind.FINAL_ANSWER
        for s in samples:
            status = s.verdict.status.value if s.verdict is not None else "unverified"
            row = [
                Text(str(s.idx), justify="right"),
                Text(status, style=STATUS_STYLE.get(status, "yellow")),
                Text(str(s.completion_tokens), justify="right"),
                literal_text(s.finish_reason),
                Text(str(s.seed), justify="right"),
            ]
            if final:
                row.append(literal_text(extract_answer(s.text) or "—"))
            row.append(literal_text(first_line(s.text)))
            table.add_row(*row, key=str(s.idx))
        self.query_one("#problem-votes", Static).update(self._summary())

    def _summary(self) -> Table | Text:
        if self.problem.kind is not ProblemKind.FINAL_ANSWER:
            by: Counter[str] = Counter(
                s.verdict.status.value if s.verdict is not None else "unverified"
                for s in self.samples
            )
            t = Text(f"{len(self.samples)} samples: ", style="bold")
            for status, n in sorted(by.items()):
                t.append(f"{status} {n}  ", style=STATUS_STYLE.get(status, "yellow"))
            return t
        table = Table(title="distinct final answers (majority vote)", expand=True)
        table.add_column("answer")
        table.add_column("votes", justify="right")
        table.add_column("correct")
        for v in self.votes:
            mark = {True: Text("yes", "green"), False: Text("no", "red"), None: Text("?")}
            table.add_row(literal_text(v.answer), str(v.votes), mark[v.correct])
        return table

    def action_inspect(self) -> None:
        table = self.query_one("#problem-samples", DataTable)
        if self.open_sample is None or not self.samples or table.cursor_row < 0:
            return
        s = self.samples[min(table.cursor_row, len(self.samples) - 1)]
        self.app.push_screen(self.open_sample(self.problem.id, s.idx))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_inspect()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
