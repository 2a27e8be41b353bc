"""Start a sweep of the current preset, or put it in the queue (the Training pane's
"Sweep [w]"; docs/sweeps.md).

The dialog takes what ``tuidl sweep`` takes: a grid (every combination) or a search
(Optuna's TPE, bad trials pruned), up to four keys to vary, the number of trials and how
many run at once. What is typed is checked at once by the sweep's own parser
(:func:`tuidl.core.sweep.spec.build`, the same messages as the command line); nothing
starts until it is right. Then ``tuidl sweep PRESET ... --detach`` (or ``--queue``) runs
as its own process, so the sweep outlives the dashboard like a run does, and its trials
appear in the Runs pane as a group.
"""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.command import preset_file, problem, run_tuidl

VARY = 4  # keys that can vary at once
EXAMPLES = {"grid": ["train.optimizer.lr=1e-3,3e-3,1e-2", "model.layers.0.units=8,16"],
            "search": ["train.optimizer.lr=log:1e-4:1e-1", "model.layers.0.units=int:4:32"]}
HINTS = {"grid": "Grid: every combination of the values is one trial (KEY=V1,V2,...).",
         "search": "Search: Optuna's TPE picks the trials (KEY=log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or "
                   "choice:A,B); trials worse than the median at an epoch are pruned."}
START_TIMEOUT_S = 120.0


def placeholder(mode: str, i: int) -> str:
    """The grey text of the ``i``-th key field: an example of the kind, or how to use it."""
    examples = EXAMPLES[mode]
    return f"e.g. {examples[i]}" if i < len(examples) else "KEY=VALUES (empty: not used)"


@dataclass
class SweepRequest:
    """What the dialog asks for: ``tuidl sweep`` flags, and detached or queued."""

    mode: str  # "grid" or "search"
    keys: list[str]  # KEY=VALUES, one per varied key
    trials: int
    parallel: int
    queue: bool = False

    def flags(self) -> list[str]:
        out: list[str] = []
        for key in self.keys:
            out += [f"--{self.mode}", key]
        if self.mode == "search":
            out += ["--trials", str(self.trials)]
        return out + ["--parallel", str(self.parallel), "--queue" if self.queue else "--detach"]


def check_request(preset: P.Preset, request: SweepRequest) -> str:
    """The sweep's own check of what was typed: "" when it is right, else the first
    problem in one line (the key named), as ``tuidl sweep`` would say it."""
    from tuidl.core.sweep import spec as S

    work_preset = copy.deepcopy(preset)
    try:
        P.resolve(work_preset)
        grid = request.keys if request.mode == "grid" else []
        search = request.keys if request.mode == "search" else []
        S.build(work_preset, grid, search, trials=request.trials, parallel=request.parallel)
    except ConfigError as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else "not a sweep"
    return ""


def start_sweep(preset: P.Preset, request: SweepRequest, runs_root: Path) -> tuple[bool, str]:
    """``tuidl sweep`` as its own process on the preset as it is now (a TOML file written
    for the command; the sweep keeps its own copy): ``(ok, what it said)``."""
    with preset_file(preset, "tuidl-sweep-") as path:
        try:
            done = run_tuidl(["sweep", str(path), *request.flags(), "--runs-dir", str(runs_root)], START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return False, f"tuidl sweep did not answer within {START_TIMEOUT_S:.0f} s"
    said = done.stdout + done.stderr
    if done.returncode == 0:
        lines = said.strip().splitlines()
        return True, lines[0] if lines else "sweep started"
    return False, problem(said, done.returncode)


class SweepStartScreen(ModalScreen["tuple[str, str] | None"]):
    """Start a sweep of the preset, or queue it. Returns ``("sweep", what tuidl sweep
    said)`` once it has started (or been queued), ``("run", "")`` for "queue one run of
    the preset, no sweep", or None when cancelled."""

    DEFAULT_CSS = """
    SweepStartScreen {
        align: center middle;
    }
    SweepStartScreen #sweep-box {
        width: 84;
    }
    SweepStartScreen .sweep-row {
        height: auto;
    }
    SweepStartScreen .sweep-row Label {
        width: 12;
        padding: 0 1 0 0;
    }
    SweepStartScreen #sweep-mode {
        width: 1fr;
    }
    SweepStartScreen .sweep-key {
        width: 1fr;
    }
    SweepStartScreen .sweep-number {
        width: 10;
    }
    SweepStartScreen #sweep-problem {
        height: auto;
        color: $error;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+t", "submit(True)", "Queue it", show=False),
                Binding("ctrl+r", "queue_run", "Queue one run", show=False)]

    def __init__(self, preset: P.Preset, runs_root: Path) -> None:
        super().__init__()
        self.preset = preset
        self.runs_root = Path(runs_root)
        self.problem = ""
        self.starting = False

    def compose(self) -> ComposeResult:
        with Vertical(id="sweep-box", classes="dialog"):
            yield Label(f"Sweep {self.preset.name}: train it many times with some keys varied",
                        classes="dialog-title")
            with Horizontal(classes="sweep-row"):
                yield Label("Kind")
                yield Select([("Grid: every combination", "grid"), ("Search: Optuna TPE, with pruning", "search")],
                             value="grid", allow_blank=False, id="sweep-mode", compact=True)
            yield Static(HINTS["grid"], id="sweep-hint", classes="dialog-hint")
            for i in range(VARY):
                with Horizontal(classes="sweep-row"):
                    yield Label(f"Vary {i + 1}")
                    # empty, the example as the placeholder: Enter must never start trials nobody chose
                    yield Input("", id=f"sweep-key-{i}", classes="sweep-key", placeholder=placeholder("grid", i),
                                compact=True)
            with Horizontal(classes="sweep-row"):
                yield Label("Trials")
                yield Input("20", id="sweep-trials", classes="sweep-number", type="integer", compact=True)
                yield Label("  At once")
                yield Input("1", id="sweep-parallel", classes="sweep-number", type="integer", compact=True)
            yield Static("", id="sweep-problem")
            yield Static("Each trial is an ordinary run: the Runs pane (5) shows them as a group, enter there "
                         "opens the sweep. It runs on when the dashboard quits. Queued, it starts when a GPU (or "
                         "CPU slot) is free; so does one run of the preset, queued without a sweep.",
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start [⏎]", id="sweep-start", variant="success", compact=True)
                yield Button("Queue [^t]", id="sweep-queue", compact=True)
                yield Button("Queue one run [^r]", id="sweep-queue-run", compact=True)
                yield Button("Cancel [esc]", id="sweep-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#sweep-key-0", Input).focus()
        self._show_trials()

    # -- what was typed ------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return str(self.query_one("#sweep-mode", Select).value)

    def request(self, queue: bool = False) -> SweepRequest | str:
        """The request, or what is wrong with the numbers."""
        keys = [v for i in range(VARY) if (v := self.query_one(f"#sweep-key-{i}", Input).value.strip())]
        if not keys:
            return (f"Vary 1: type a key and its values, e.g. {EXAMPLES[self.mode][0]} "
                    "(the grey text is an example, not a value)")
        numbers = {}
        for name in ("trials", "parallel"):
            text = self.query_one(f"#sweep-{name}", Input).value.strip()
            try:
                numbers[name] = int(text)
            except ValueError:
                return f"{'Trials' if name == 'trials' else 'At once'}: a whole number, got {text!r}"
        return SweepRequest(self.mode, keys, numbers["trials"], numbers["parallel"], queue)

    def _show_problem(self, text: str) -> None:
        self.problem = text
        self.query_one("#sweep-problem", Static).update(Text(text))

    def _show_trials(self) -> None:
        self.query_one("#sweep-trials", Input).disabled = self.mode != "search"

    @on(Select.Changed, "#sweep-mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        event.stop()
        mode = self.mode
        self.query_one("#sweep-hint", Static).update(HINTS[mode])
        for i in range(VARY):  # the examples follow the kind; what was typed stays
            self.query_one(f"#sweep-key-{i}", Input).placeholder = placeholder(mode, i)
        self._show_trials()
        self._show_problem("")

    # -- starting --------------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit(False)

    @on(Button.Pressed, "#sweep-start")
    def _start_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit(False)

    @on(Button.Pressed, "#sweep-queue")
    def _queue_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit(True)

    @on(Button.Pressed, "#sweep-queue-run")
    def _queue_run_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_queue_run()

    def action_queue_run(self) -> None:
        if not self.starting:
            self.dismiss(("run", ""))

    @on(Button.Pressed, "#sweep-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_submit(self, queue: bool) -> None:
        if self.starting:
            return
        request = self.request(queue)
        problem = request if isinstance(request, str) else check_request(self.preset, request)
        self._show_problem(problem)
        if problem:
            return
        self.starting = True
        self.query_one("#sweep-problem", Static).update(Text("starting the sweep…", style="dim"))
        self._start(request)

    @work(thread=True, exclusive=True, group="sweep-start")
    def _start(self, request: SweepRequest) -> None:
        try:
            result = start_sweep(self.preset, request, self.runs_root)
        except OSError as e:
            result = (False, f"cannot start tuidl sweep: {e.strerror or e}")
        self.app.call_from_thread(self._started, result)

    def _started(self, result: tuple[bool, str]) -> None:
        self.starting = False
        ok, said = result
        if ok:
            self.dismiss(("sweep", said))
        else:
            self._show_problem(said)

    def action_cancel(self) -> None:
        self.dismiss(None)
