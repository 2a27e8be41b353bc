"""Runs laid over the Training pane's charts: the runs the Runs pane marked, or the
earlier runs of the current preset (``b``). Their event streams are read in a thread;
what was read comes back as a message (:class:`RunsRead`, :class:`EarlierRunsFound`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuidl.core.run.rundir import RunDir
from tuidl.core.run.runlist import run_label, scan_runs
from tuidl.core.run.runview import RunView
from tuidl.ui.messages import EarlierRunsFound, RunsRead

if TYPE_CHECKING:
    from tuidl.ui.panes.training import TrainingPane

MAX_EARLIER = 6  # earlier runs of a preset laid over the charts by "b"


class Comparer:
    """The app's comparison of runs on the Training pane's charts."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def training(self) -> TrainingPane:
        return self.app.panes["training"]

    def clear(self) -> None:
        self.training.clear_overlays()
        self.app.notify("comparison cleared", timeout=2)

    def compare(self, runs: list[RunDir], what: str = "") -> None:
        """Lay these runs' validation curves over the Training pane's charts (their
        event streams are read in a thread)."""
        runs = list(runs)
        app = self.app

        def work() -> None:
            from tuidl.core.run import runview

            views: dict[str, RunView] = {}
            for run in runs:
                try:
                    view = runview.load(run)
                except OSError:
                    continue
                if not view.epochs and not view.scalars.events:
                    continue
                preset = str((view.started or {}).get("preset") or (view.started or {}).get("name") or "")
                label = run_label(run.id, preset)
                while label in views:
                    label += "'"
                views[label] = view
            app.post_message(RunsRead(views, what))

        app.run_worker(work, name="compare", group="compare", exclusive=True, thread=True, exit_on_error=False)

    def runs_read(self, message: RunsRead) -> None:
        app = self.app
        if not message.views:
            app.notify("nothing to compare: the runs have no finished epoch yet", severity="warning")
            return
        labels = self.training.set_overlays(message.views)
        app.action_show_pane("training")
        what = message.what
        app.notify(", ".join(labels) + " (validation curves; e: x axis in steps or epochs)",
                   title=f"Comparing {what or f'{len(labels)} run(s)'}", timeout=5)

    def earlier(self) -> None:
        """Lay the earlier runs of the current preset (the run shown, or the preset being
        edited) over the charts; again clears them."""
        app = self.app
        if self.training.run_charts.overlays:
            self.clear()
            return
        session = app.session
        current = session.run
        name = str(session.view.run_info.get("preset") or "") if current is not None else ""
        name = name or app.preset.name
        root = app.runs_root

        def work() -> None:
            rows = scan_runs(root)
            limit = float("inf")
            if current is not None:
                mine = next((r for r in rows if r.id == current.id), None)
                if mine is not None and mine.started:
                    limit = mine.started
            earlier = [r.run for r in rows
                       if r.preset == name and (current is None or r.id != current.id)
                       and (r.started or 0.0) <= limit][:MAX_EARLIER]
            app.post_message(EarlierRunsFound(earlier, name))

        app.run_worker(work, name="earlier runs", group="compare", exclusive=True, thread=True,
                       exit_on_error=False)

    def earlier_found(self, message: EarlierRunsFound) -> None:
        if not message.runs:
            self.app.notify(f"no earlier runs of {message.name} to compare with", severity="warning", timeout=4)
            return
        self.compare(message.runs, f"earlier runs of {message.name}")
