"""The learning lab (``i``): inside the network of the run shown (docs/instruments.md).

Five tabs, each an instrument with one line on what it teaches:

* **Neurons** (2-D Playground datasets): every unit's output over the input plane,
  the weights between them, the selected unit large (:class:`NeuronView`);
* **Layer health**: per-layer gradient norm, update ratio, dead units, activation
  spread over time, and the trainer's warnings;
* **Representation**: an autoencoder's reconstructions of the same test inputs, and the
  latent map (the test set's codes in 2-D, coloured by class; a classifier's penultimate
  layer while shown);
* **Loss landscape**: the loss around the current weights (``c`` computes it);
* **Adversarial**: test accuracy under FGSM / PGD attacks against ε (``c``).

Everything shown is read from the app's :class:`RunView` (the one reducer of events) on
a timer; nothing here reads events. While a tab with a live instrument is shown on a
live run, the screen asks the trainer for it (``watch_neurons`` / ``watch_health``, every
``WATCH_EVERY_S``): nobody looking costs the trainer nothing. ``c`` on the landscape or
adversarial tab asks a live trainer for one computation, or computes it from the
checkpoint of a run that has ended (``tuidl landscape|adversarial RUN --json`` in a
process of its own, so the dashboard stays responsive); the result is kept in the run
folder (``lab/<name>.json``) and shown again next time.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from tuidl.core.data import catalog
from tuidl.core.lab import kept
from tuidl.core.run.runview import HEALTH_FIGURES
from tuidl.ui.command import run_tuidl_async
from tuidl.ui.widgets.lab import LabPanel, adversarial_renderable, health_renderable, landscape_renderable
from tuidl.ui.widgets.latent import representation_renderable
from tuidl.ui.widgets.neurons import MESSAGE as NEURONS_SUPPORTED, NeuronView

REFRESH_S = 1.0  # the screen reads the run view this often
WATCH_EVERY_S = 5.0  # a live instrument on screen is asked for this often (the trainer keeps it on 15 s)
TABS = (
    ("lab-neurons", "Neurons", "neurons",
     "What each hidden unit has learned: its output over the input plane. Early layers draw lines, later ones "
     "combine them into shapes (arrows: pick a unit)."),
    ("lab-health", "Layer health", "health",
     "Optimization, layer by layer: gradients that vanish or explode, units that died, steps too big or too small."),
    ("lab-landscape", "Loss landscape", "landscape",
     "The loss around the weights found, along two random directions: is the minimum wide and flat or sharp? "
     "(c: compute)"),
    ("lab-adversarial", "Adversarial", "adversarial",
     "Generalization under attack: test accuracy when each input is nudged by ε towards a mistake. (c: compute)"),
    ("lab-latent", "Representation", "latent",
     "What the network learnt to represent: its reconstructions of the same test inputs, and the test set's codes "
     "in 2-D, coloured by class. Without labels, do the classes still form clusters? (c: the linear probe)"),
)
HEALTH_NOTES = ("vanishing_gradients", "exploding_gradients", "dead_units")
COMMANDS = {"latent": "probe"}  # what c runs from a checkpoint on a tab, where it is not the tab's own name
LIVE = ("neurons", "health", "latent")  # instruments a live trainer computes while their tab is shown


class LabScreen(Screen[None]):
    """The instruments of the run shown. ``escape`` or ``i`` goes back."""

    DEFAULT_CSS = """
    LabScreen #lab-tabs {
        height: 1fr;
    }
    LabScreen #lab-tabs > ContentSwitcher, LabScreen #lab-tabs TabPane {
        height: 1fr;
        padding: 0;
    }
    LabScreen #lab-about {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    LabScreen #lab-status {
        height: 1;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape,i", "close", "Back"),
        Binding("c", "compute", "Compute"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", key_display="["),
        Binding("right_square_bracket", "tab(1)", "Next tab", key_display="]"),
    ]

    def __init__(self, initial: str = "lab-neurons") -> None:
        super().__init__()
        self.initial = initial
        self.neurons = NeuronView(id="neuron-view")
        self.panels = {"health": LabPanel(id="health-panel"), "landscape": LabPanel(id="landscape-panel"),
                       "adversarial": LabPanel(id="adversarial-panel"), "latent": LabPanel(id="latent-panel")}
        self.computing: set[str] = set()
        self.results: dict[str, dict] = {}  # computed here from a checkpoint (an ended run)
        self._shown: dict[str, Any] = {}
        self.watches_sent: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="lab-about")
        with TabbedContent(id="lab-tabs", initial=self.initial):
            for tab_id, title, key, _about in TABS:
                with TabPane(title, id=tab_id):
                    yield self.neurons if key == "neurons" else self.panels[key]
        yield Static("", id="lab-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "learning lab"
        self.refresh_view()
        self.set_interval(REFRESH_S, self.refresh_view, name="lab-refresh")
        self.set_interval(WATCH_EVERY_S, self.ask_trainer, name="lab-watch")
        self.call_after_refresh(self.ask_trainer)
        self._focus_tab()

    # -- what is shown ----------------------------------------------------------------
    @property
    def active(self) -> str:
        return self.query_one("#lab-tabs", TabbedContent).active or self.initial

    def _tab(self, key: str | None = None) -> tuple[str, str, str, str]:
        tab_id = self.active if key is None else next(t[0] for t in TABS if t[2] == key)
        return next(t for t in TABS if t[0] == tab_id)

    def on_tabbed_content_tab_activated(self, _event) -> None:
        self.refresh_view()
        self.ask_trainer()
        self._focus_tab()

    def _focus_tab(self) -> None:
        if self._tab()[2] == "neurons":
            self.neurons.focus()
        else:
            self.panels[self._tab()[2]].focus()

    def refresh_view(self) -> None:
        """Show what the run view holds now (only what changed is redrawn)."""
        view = self.app.session.view
        _tab_id, _title, key, about = self._tab()
        self.query_one("#lab-about", Static).update(about)
        width = max(40, self.size.width - 4)
        sources = {
            "neurons": view.neurons,
            "landscape": self._latest("landscape", view.landscape),
            "adversarial": self._latest("adversarial", view.adversarial),
            "health": (id(view.last_health), len(view.notes)),
            "latent": (id(view.latent), id(view.reconstructions), self.size.width, self.size.height,
                       (self._latest("probe", None) or {}).get("time")),
        }
        current = sources[key]
        if key == "neurons":
            self.neurons.set_empty(self._no_neurons())
        if self._shown.get(key) is current or (key in ("health", "latent") and self._shown.get(key) == current):
            self._status(key)
            return
        self._shown[key] = current
        if key == "neurons":
            self.neurons.show(current)
        elif key == "landscape":
            self.panels[key].show(landscape_renderable(current, width))
        elif key == "latent":
            self.panels[key].show(representation_renderable(view.reconstructions, view.latent, width,
                                                            max(12, self.size.height - 8),
                                                            probe=self._latest("probe", None)))
        elif key == "adversarial":
            self.panels[key].show(adversarial_renderable(current, width))
        else:
            notes = [n for n in view.notes if n.get("kind") in HEALTH_NOTES]
            self.panels[key].show(health_renderable(health_series(view), notes, width))
        self._status(key)

    def _no_neurons(self) -> str:
        """Why the neuron view is empty, and how to fill it."""
        session = self.app.session
        dataset = str((session.view.run_info.get("data") or {}).get("dataset") or "")
        kind = catalog.DATASETS.get(dataset)
        if session.run is None or kind is None or kind.group != "playground":
            return NEURONS_SUPPORTED
        if session.live:
            return "waiting for the trainer's first neuron maps: it draws them while this tab is open"
        return ("nothing was recorded for this run: the trainer maps the neurons only while this tab is open "
                "during training. To record them in every run, set train.instruments.neurons = true in the "
                "preset (or --set train.instruments.neurons=true) and train again.")

    def _latest(self, name: str, from_events: dict | None) -> dict | None:
        """The newest of the run's own event, one computed here, and one kept in the run's
        folder by an earlier computation (``tuidl landscape RUN``)."""
        run = self.app.session.run
        return kept.newest(from_events, self.results.get(name), kept.saved(run, name) if run is not None else None)

    def _status(self, key: str) -> None:
        session = self.app.session
        if session.run is None:
            text = Text("no run yet: start one (s) or open one from the Runs pane (5), then come back (i)", "dim")
        elif key in self.computing:
            text = Text(f"computing the {key} …", "yellow")
        elif session.live and key in LIVE:
            text = Text(f"live: the trainer measures the {key} while this tab is open", "green")
        else:
            text = Text(f"run {session.run.id} · {session.view.status}", "dim")
        self.query_one("#lab-status", Static).update(text)

    # -- asking the trainer -------------------------------------------------------------
    def ask_trainer(self) -> None:
        """While a live instrument's tab is shown on a live run: keep it on."""
        key = self._tab()[2]
        run = self.app.session.live_run()
        if run is None or key not in LIVE or not self.is_current:
            return
        try:
            run.send(f"watch_{key}")
            self.watches_sent.append(key)
        except OSError as e:
            self.notify(f"could not ask the trainer for the {key}: {e}", severity="warning")

    def action_compute(self) -> None:
        key = self._tab()[2]
        if key not in ("landscape", "adversarial", "latent"):
            self.notify("c computes the loss landscape, the adversarial test or the linear probe: open one of their "
                        "tabs", timeout=3)
            return
        session = self.app.session
        if session.run is None:
            self.notify("no run to look at: start one (s) or open one from the Runs pane", severity="warning")
            return
        if key in self.computing:
            return
        if session.live_run() is not None and key != "latent":  # the probe reads a checkpoint, live or not
            session.live_run().send(key)
            self.notify(f"asked the trainer: it computes the {key} at its next step", timeout=3)
            return
        self.computing.add(key)
        self._status(key)
        self.compute_from_checkpoint(key, str(session.run.path))

    @work(exclusive=False, group="lab-compute")
    async def compute_from_checkpoint(self, key: str, run_path: str) -> None:
        code, out, err = await run_tuidl_async([COMMANDS.get(key, key), run_path, "--json"])
        self.computing.discard(key)
        if code == 0:
            try:
                self.results[COMMANDS.get(key, key)] = json.loads(out)
            except ValueError:
                self.notify(f"the {key} came back unreadable", severity="error")
        else:
            reason = (err.strip().splitlines() or ["no reason given"])[-1]
            self.notify(f"could not compute the {key}: {reason}", severity="error", timeout=8)
        self._shown.pop(key, None)
        self.refresh_view()

    # -- keys ----------------------------------------------------------------------------
    def action_tab(self, step: int) -> None:
        ids = [t[0] for t in TABS]
        tabs = self.query_one("#lab-tabs", TabbedContent)
        tabs.active = ids[(ids.index(self.active) + step) % len(ids)]

    def action_close(self) -> None:
        self.dismiss(None)


def health_series(view) -> dict[str, dict[str, list[float]]]:
    """Per layer (in model order), each health figure over time, from the run view's
    :class:`~tuidl.core.run.runview.LayerHealth` series."""
    layers = sorted(view.health.items(), key=lambda item: item[1].index)
    return {name: {figure: list(getattr(series, figure)) for figure in HEALTH_FIGURES} for name, series in layers}
