"""The dashboard shell: layout (grid or tabs), pane keys, help, command palette, saving
the preset, the quit dialog, and one end-to-end run of the real trainer."""

from __future__ import annotations

import os
import socket
import time

from textual.widgets import Input, TabbedContent, Tabs

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter
from tuidl.ui.app import PaneDeck, QuitScreen, SavePresetScreen, TuidlApp
from tuidl.ui.panedeck import DeckKeeper
from tuidl.ui.widgets.deck import WIDE_AT
from tuidl.ui.screens.help import HelpScreen
from helpers import make_app, settle, started, wait_for


def shown_panes(app: TuidlApp) -> list[str]:
    return [pane_id for pane_id in ("builder", "dataset", "training", "system")
            if app.query_one(f"#{pane_id}").display]


async def test_layout_keys_help_palette_and_saving(tmp_path):
    app = make_app(P.load("spiral"), telemetry=False)
    async with app.run_test(size=(WIDE_AT + 20, 50)) as pilot:
        deck = app.query_one(PaneDeck)
        # wide: all four panes side by side, no tab strip
        assert deck.wide and shown_panes(app) == ["builder", "dataset", "training", "system"]
        assert not deck.query_one("ContentTabs").display
        await pilot.press("3")
        assert shown_panes(app) == ["builder", "dataset", "training", "system"]
        assert app.focused is app.query_one("#btn-start")  # keys s/p/x/c reach the app from here

        # narrow: tabs, one pane at a time; 1-4 switch
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not deck.wide and deck.query_one("ContentTabs").display
        assert isinstance(deck, TabbedContent)
        for key, pane in (("1", "builder"), ("2", "dataset"), ("4", "system"), ("3", "training")):
            await pilot.press(key)
            assert deck.active == pane and shown_panes(app) == [pane], key

        # help, with keys and the ideas behind the curves
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from tuidl.ui.screens.help import HELP_MD, KEYS

        for word in ("Overfitting", "Underfitting", "Learning rate", "Optimizer", "Regularization", "Loss"):
            assert f"**{word}**" in HELP_MD
        assert {k for k, _ in KEYS} >= {"s", "p", "x", "c", "e", "l", "m", "ctrl+s", "?"}
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        # the command palette has every action
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in ("Start training", "Pause / resume", "Stop the run", "Checkpoint now", "Save preset",
                      "Help", "Charts: steps / epochs", "Charts: log scale", "Charts: smoothing",
                      "Show Model builder", "Show Dataset & split", "Show Training", "Show GPU / system",
                      "Hyperparameters", "Quit"):
            assert title in titles, title

        # ctrl+s: a dialog with ./<name>.toml; the file loads back to an equal preset
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SavePresetScreen)
        field = app.screen.query_one(Input)
        assert field.value == "./spiral.toml"
        target = tmp_path / "saved.toml"
        field.value = str(target)
        await pilot.press("enter")
        assert target.is_file()
        assert P.load(target) == app.preset
        # errors are notifications, not tracebacks
        for bad in (tmp_path / "no" / "such" / "dir.toml", tmp_path):
            await pilot.press("ctrl+s")
            app.screen.query_one(Input).value = str(bad)
            await pilot.press("enter")
            assert app.notes and list(app.notes)[-1].severity == "error"
        await pilot.press("ctrl+s", "escape")
        assert not isinstance(app.screen, SavePresetScreen)

        # no run: q quits at once
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_asks_while_a_run_is_live_and_bells_on_divergence(tmp_path):
    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())  # alive: this process
    with EventWriter(run.events_path) as w:
        w.write(started(epochs=3, steps=5, t=time.time(), run_id=run.id, batch_size=16, summary={}, data={},
                        pid=os.getpid()))
        app = make_app(preset, attach=run, telemetry=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.panes["training"].view.progress.epochs == 3, what="run_started")
            await pilot.press("q")
            assert isinstance(app.screen, QuitScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, QuitScreen) and app.is_running

            w.emit("note", level="error", kind="divergence", message="the loss became nan at step 7")
            await wait_for(pilot, lambda: app.bells == 1, what="the bell")
            assert "DIVERGED" in app.title and "nan" in app.sub_title

            await pilot.press("q")
            assert isinstance(app.screen, QuitScreen)
            await pilot.press("l")  # leave it running
            await pilot.pause()
    assert app.return_code == 0
    assert "keeps training" in app.exit_message and f"tuidl attach {run.id}" in app.exit_message
    assert not os.listdir(run.control_dir)  # nothing was sent to the run


async def test_a_runs_end_that_comes_while_the_dashboard_closes_is_no_crash(tmp_path):
    """A follower's last message can arrive while the dashboard closes, its bottom bar
    already gone (a CI run once ended a replay test with NoMatches there)."""
    from tuidl.ui.session import RunState
    from tuidl.ui.widgets.keybar import EssentialKeys

    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.query_one(EssentialKeys).remove()
        app.runner.set_state(RunState.ENDED, "replay of r1: completed")
        await pilot.pause()
        assert app.session.state == RunState.ENDED and app.panes["training"].controls.state == "ended"


def held_start_up_focus(monkeypatch) -> list:
    """The start-up focus (asked for at the first frame) held back: the test runs it when
    it likes (what a loaded machine may do); the list gets the apps that asked."""
    asked: list = []
    monkeypatch.setattr(DeckKeeper, "initial_focus", lambda self: asked.append(self.app))
    return asked


async def test_a_pane_key_wins_over_the_start_up_focus_landing_after_it(tmp_path, monkeypatch):
    """Issue 24, item 15: 5 pressed while the start-up focus on the builder was still on
    its way. The builder's focus landed after the key and TabbedContent showed its pane
    again: the Runs pane was hidden and its list lost the focus (an e2e test timed out
    waiting for the list's focus)."""
    start_up_focus = DeckKeeper.initial_focus
    asked = held_start_up_focus(monkeypatch)
    app = make_app(runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        deck = app.query_one(PaneDeck)
        await wait_for(pilot, lambda: asked == [app], what="the first frame")
        # The first frame's callbacks run on the screen's task, meanwhile the app handles
        # the key: the focus on the builder is asked for, then 5's action shows the Runs
        # pane before that focus lands.
        start_up_focus(app.deck)
        app.action_show_pane("runs")  # what 5 does
        await settle(pilot, 5)
        assert deck.active == "runs" and app.panes["runs"].table.has_focus

        # the tab bar's start-up announcement of its first tab, landing after the key
        bar = deck.query_one(Tabs)
        bar.post_message(Tabs.TabActivated(bar, deck.get_tab("builder")))
        await settle(pilot, 5)
        assert deck.active == "runs" and app.panes["runs"].table.has_focus
        # the focus moved on purpose still shows its pane
        app.panes["builder"].focus_default()
        await wait_for(pilot, lambda: deck.active == "builder" and app.panes["builder"].layer_list.has_focus,
                       what="the builder shown with the focus")


async def test_the_start_up_focus_is_dropped_once_a_pane_is_chosen(tmp_path, monkeypatch):
    """A pane key typed before the first frame (its pane still being mounted): the
    start-up focus does not go to the builder meanwhile."""
    import tuidl.ui.app as ui

    monkeypatch.setattr(ui, "DEFER_PANES_S", 3600.0)  # the Runs pane is mounted when asked for
    start_up_focus = DeckKeeper.initial_focus
    asked = held_start_up_focus(monkeypatch)
    app = make_app(runs_root=tmp_path / "runs", defer_panes=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: asked == [app], what="the first frame")
        focused: list = []
        app.watch(app.screen, "focused", lambda widget: focused.append(widget), init=False)
        app.action_show_pane("runs")  # what 5 does
        assert not app.panes["runs"].is_mounted
        start_up_focus(app.deck)  # the first frame's focus, while the Runs pane is mounted
        runs = app.panes["runs"]
        await wait_for(pilot, lambda: runs.is_mounted and runs.table.has_focus, what="the list's focus")
        await settle(pilot, 5)
        assert app.query_one(PaneDeck).active == "runs" and app.panes["runs"].table.has_focus
        assert focused == [app.panes["runs"].table]  # the builder never took the focus


async def test_panes_not_shown_first_are_mounted_after_the_first_frame(tmp_path, monkeypatch):
    """`tuidl` mounts the first pane, then the others one a frame: a key for a pane
    still kept back mounts it at once, an edit made meanwhile reaches it, and a replay
    starts on the Training pane, mounted first."""
    import tuidl.ui.app as ui

    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs", defer_panes=True, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.panes["builder"].is_mounted
        await wait_for(pilot, app.deck.mounted, what="the other panes")
        assert app.query_one(PaneDeck).active == "builder"

    monkeypatch.setattr(ui, "DEFER_PANES_S", 3600.0)  # keep them back until asked for
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs", defer_panes=True, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert app.panes["builder"].is_mounted
        assert not any(app.panes[p].is_mounted for p in ("dataset", "training", "system", "runs"))
        app.load_preset(P.load("xor"))  # an edit before the Dataset pane is there
        await pilot.press("5")  # a pane that is not mounted yet
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "runs", what="the Runs pane")
        assert app.panes["runs"].is_mounted and not app.panes["dataset"].is_mounted
        app.deck.mount_deferred()
        await wait_for(pilot, app.deck.mounted, what="the other panes")
        await wait_for(pilot, lambda: app.panes["dataset"].preset.data.dataset == "xor", what="the edit")

    monkeypatch.undo()
    # a replay (or a run) shows on the Training pane, which is then mounted first
    run = R.create(tmp_path / "runs", "spiral", P.dumps(P.load("spiral")))
    with EventWriter(run.events_path) as w:
        w.emit("run_started", run_id=run.id, epochs=1, steps_per_epoch=2, task="classification",
               metrics=["loss", "acc"], data={"classes": ["a", "b"]})
        w.emit("epoch", epoch=1, step=2, train={"loss": 0.5, "acc": 0.5}, val=None, lr=0.1)
        w.emit("run_ended", status="completed", message="done", epochs_completed=1)
    run.write_status(status="completed")
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs", replay=run, defer_panes=True, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
        assert len(app.panes["training"].run_charts.curves.epoch["loss"]) == 1
        await wait_for(pilot, app.deck.mounted, what="the other panes")


async def test_a_pane_key_at_the_first_frame_waits_for_no_other_pane(tmp_path, monkeypatch):
    """As `tuidl` comes up (issue 28): 5 pressed at the first frame mounts the Runs pane
    before any other pane kept back (mounted from DEFER_PANES_S on: at 0.1 s, the Dataset
    and Builder panes were mounted first and the Runs pane's first screen came 1.8 s after
    the first frame, 10,000 runs)."""
    root = tmp_path / "runs"
    run = R.create(root, "spiral", P.dumps(P.load("spiral")))
    run.write_status(status="completed", started=1_000_000.0, ended=1_000_005.0)

    mounted: list[str] = []
    mount = DeckKeeper.mount
    # the panes kept back, in the order they are mounted (a call for a pane there already, such
    # as the start-up focus's for the Builder after a late key, mounts nothing)
    monkeypatch.setattr(DeckKeeper, "mount",
                        lambda deck, key: (key in deck.deferred and mounted.append(key), mount(deck, key))[1])
    # the key comes before the panes kept back start to mount (on a busy machine the test's
    # key came later than 0.6 s after the first frame: the Builder was mounted first)
    monkeypatch.setattr("tuidl.ui.app.DEFER_PANES_S", 30.0)
    app = make_app(P.load("spiral"), runs_root=root, defer_panes=True, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "runs", what="the Runs pane")
        assert mounted[0] == "runs", mounted


async def test_keys_that_come_while_the_dashboard_closes_do_nothing(tmp_path):
    """`q` then `i` typed quickly: the lab was pushed onto a screen stack being taken
    down (NoMatches '#lab-tabs', exit 1). Every key after the quit does nothing."""
    from textual import events

    from tuidl.ui.screens.lab import LabScreen

    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        # the keys come in one burst, as from a fast typist or a terminal's buffer
        for key in ("q", "i", "t", "w", "r", "question_mark", "2", "s"):
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause()
        await pilot.pause()
    assert app.return_code == 0
    assert not any(isinstance(s, LabScreen) for s in app.screen_stack)


async def test_a_new_start_clears_the_last_runs_message_from_the_title(tmp_path):
    """`s`, `x`, `s`: the terminal title said "… — stop requested; stopped at epoch 2"
    while the second run trained."""
    import time

    from tuidl.ui.session import TrainerStarted
    from helpers import ended as ended_event, started as started_event

    preset = P.load("spiral")
    runs = tmp_path / "runs"
    first = R.create(runs, preset.name, P.dumps(preset))
    first.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    app = make_app(preset, runs_root=runs)
    async with app.run_test(size=(120, 40)) as pilot:
        app.post_message(TrainerStarted(first))
        with EventWriter(first.events_path) as w:
            w.write(started_event(run_id=first.id, t=time.time()))
            await wait_for(pilot, lambda: app.panes["training"].view.progress.epochs == 4, what="run_started")
            end = ended_event("stopped", epochs=2, t=time.time())
            end["message"] = "stop requested; stopped at epoch 2"
            w.write(end)
        first.write_status(status="stopped", pid=None)
        await wait_for(pilot, lambda: "stopped at epoch 2" in app.sub_title, what="the run's end in the title")
        second = R.create(runs, preset.name, P.dumps(preset))
        second.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
        app.post_message(TrainerStarted(second))
        await wait_for(pilot, lambda: app.session.run is second, what="the second run")
        assert second.id in app.title and "stopped" not in app.title
        assert "stopped at epoch 2" not in app.sub_title and app.sub_title == preset.name


async def test_the_focused_pane_is_marked_and_a_hidden_one_is_not_restyled(tmp_path, monkeypatch):
    """The pane with the focus carries -has-focus (its heading lights up). As tabs, a pane
    hidden by a switch keeps its mark until it is shown again: unmarking it restyled its
    whole subtree (the builder's form) at every switch, for a pane no one sees. Wide, every
    pane is shown and only the focused one is marked."""
    app = make_app(runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        deck = app.query_one(PaneDeck)
        tab = {key: app.query_one(f"#{key}") for key in ("builder", "runs")}
        await wait_for(pilot, lambda: tab["builder"].has_class("-has-focus"), what="the builder marked")
        restyled: list[str] = []  # the panes whose mark changed
        set_class = type(tab["builder"]).set_class

        def recording(self, add, *names, **kw):
            if "-has-focus" in names and self.has_class("-has-focus") != add:
                restyled.append(self.id)
            return set_class(self, add, *names, **kw)

        monkeypatch.setattr(type(tab["builder"]), "set_class", recording)
        await pilot.press("5")
        await wait_for(pilot, lambda: app.panes["runs"].table.has_focus, what="the list's focus")
        await settle(pilot)
        assert tab["runs"].has_class("-has-focus") and restyled == ["runs"]  # the builder left alone
        await pilot.press("1")
        await wait_for(pilot, lambda: deck.active == "builder", what="the builder shown")
        await settle(pilot)
        assert tab["builder"].has_class("-has-focus") and restyled == ["runs"]  # still marked: nothing to do
        await pilot.resize_terminal(WIDE_AT + 10, 40)
        await settle(pilot)
        assert tab["builder"].has_class("-has-focus") and not tab["runs"].has_class("-has-focus")


async def test_a_pane_asked_for_at_start_up_draws_before_the_others_are_mounted(tmp_path, monkeypatch):
    """`tuidl` mounts the panes not shown first one a frame after the first. A key for one
    of them (5 as the dashboard comes up) mounts it at once; the others wait
    (HOLD_AFTER_KEY_S) so that it draws first: mounted meanwhile, they put the Runs pane's
    first screen 4 s after its key on a 2-core machine. Then they are mounted."""
    import tuidl.ui.panedeck as panedeck

    monkeypatch.setattr(panedeck, "HOLD_AFTER_KEY_S", 3600.0)
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs", defer_panes=True, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        runs = app.panes["runs"]
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "runs" and runs.scans, what="the Runs pane")
        await settle(pilot, 3)
        waiting = [key for key in ("dataset", "training", "system") if not app.panes[key].is_mounted]
        assert waiting and app.deck.deferred  # held back, not mounted one a frame meanwhile
        monkeypatch.setattr(app.deck, "_hold_until", 0.0)  # the hold is over
        app.deck.mount_deferred()
        await wait_for(pilot, app.deck.mounted, what="the other panes")
        assert app.query_one(PaneDeck).active == "runs" and runs.table.has_focus
