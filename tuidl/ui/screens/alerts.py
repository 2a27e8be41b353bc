"""The alert rules dialog (``A``): every rule of the config file's ``[alerts]`` table on
one screen that fits 80×24, keyboard only (tab moves, space ticks, enter or ctrl+s saves,
escape cancels), with the latest alerts below. Returns the new
:class:`~tuidl.core.alerts.rules.AlertRules`, or None; the caller saves them."""

from __future__ import annotations

import re
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from tuidl.core.alerts.rules import END_STATUSES, Alert, AlertRules, RuleError, from_table, to_table


def _number(text: str) -> str:
    return f"{float(text):g}" if text else "0"


class AlertsScreen(ModalScreen[AlertRules | None]):
    """See the module docstring."""

    DEFAULT_CSS = """
    AlertsScreen {
        align: center middle;
    }
    AlertsScreen #alerts-box {
        width: 78;
        max-width: 100%;
        max-height: 100%;
    }
    AlertsScreen .dialog-title {
        margin: 0;
    }
    AlertsScreen Horizontal {
        height: 1;
    }
    AlertsScreen Label {
        padding: 0 1 0 0;
    }
    AlertsScreen Input {
        width: 8;
        margin: 0 1 0 0;
    }
    AlertsScreen Input.wide {
        width: 1fr;
    }
    AlertsScreen Checkbox {
        margin: 0 1 0 0;
    }
    AlertsScreen Label.lead {
        width: 12;
    }
    AlertsScreen #alerts-error {
        color: $error;
        height: auto;
    }
    AlertsScreen #alerts-recent {
        height: auto;
        max-height: 4;
        color: $text-muted;
    }
    AlertsScreen .dialog-hint {
        margin: 0;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save", priority=True)]

    def __init__(self, rules: AlertRules, cli_notify: tuple[str, ...] = (), recent: list[Alert] | None = None,
                 path: Path | None = None) -> None:
        super().__init__()
        self.rules = rules
        self.cli_notify = cli_notify
        self.recent = recent or []
        self.path = path

    def compose(self) -> ComposeResult:
        r = self.rules
        with Vertical(id="alerts-box", classes="dialog"):
            yield Label("Alerts on every run (saved in the config file)", classes="dialog-title")
            yield Checkbox("the loss becomes NaN or inf", r.nan, id="nan", compact=True)
            with Horizontal():
                yield Label("stall: no progress for")
                yield Input(_number(str(r.stall_minutes)), id="stall_minutes", compact=True)
                yield Label("minutes (0: off)")
            with Horizontal():
                yield Label("a GPU of a training run under")
                yield Input(_number(str(r.gpu_idle_util)), id="gpu_idle_util", compact=True)
                yield Label("% for")
                yield Input(_number(str(r.gpu_idle_minutes)), id="gpu_idle_minutes", compact=True)
                yield Label("minutes")
            half = (len(END_STATUSES) + 1) // 2
            for row, statuses in enumerate((END_STATUSES[:half], END_STATUSES[half:])):
                with Horizontal():
                    yield Label("a run ends:" if row == 0 else "", classes="lead")
                    for status in statuses:
                        yield Checkbox(status, status in r.ended, id=f"end-{status}", compact=True)
            with Horizontal():
                yield Label("thresholds")
                yield Input(", ".join(str(t) for t in r.thresholds), placeholder="val_acc > 0.95, loss < 0.05",
                            id="thresholds", classes="wide", compact=True)
            yield Checkbox("a script's tuidl.alert(title, text, level)", r.script, id="script", compact=True)
            with Horizontal():
                yield Label("tell me by:")
                yield Checkbox("bell", r.bell, id="bell", compact=True)
                yield Checkbox("window title", r.title, id="title", compact=True)
                yield Checkbox("desktop (OSC 9/777)", r.desktop, id="desktop", compact=True)
            with Horizontal():
                yield Label("webhooks")
                yield Input(" ".join(r.notify), placeholder="https://ntfy.sh/TOPIC (ntfy, Slack, Discord)",
                            id="notify", classes="wide", compact=True)
            if self.cli_notify:
                yield Static("and from --notify: " + " ".join(self.cli_notify), classes="dialog-hint")
            yield Static("", id="alerts-error")
            yield Static(self._recent_text(), id="alerts-recent")
            yield Static(f"enter or ctrl+s saves · escape cancels · {self.path or 'config.toml'}",
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="alerts-save", variant="primary", compact=True)
                yield Button("Cancel", id="alerts-cancel", compact=True)

    def _recent_text(self) -> str:
        if not self.recent:
            return "no alert yet in this dashboard"
        return "\n".join(f"{a.level.upper():5} {a.headline}: {a.text}"[:66] for a in self.recent[-3:][::-1])

    def on_mount(self) -> None:
        self.query_one("#nan", Checkbox).focus()

    def read(self) -> AlertRules:
        """The rules as the fields say; :class:`RuleError` names the field that is wrong."""
        table = to_table(self.rules)
        for key in ("nan", "script", "bell", "title", "desktop"):
            table[key] = self.query_one(f"#{key}", Checkbox).value
        for key, what in (("stall_minutes", "stall minutes"), ("gpu_idle_util", "GPU idle %"),
                          ("gpu_idle_minutes", "GPU idle minutes")):
            text = self.query_one(f"#{key}", Input).value.strip() or "0"
            try:
                table[key] = float(text)
            except ValueError:
                raise RuleError(f"{what}: {text!r} is not a number") from None
        table["ended"] = [s for s in END_STATUSES if self.query_one(f"#end-{s}", Checkbox).value]
        table["thresholds"] = [t.strip() for t in self.query_one("#thresholds", Input).value.split(",") if t.strip()]
        table["notify"] = [u for u in re.split(r"[\s,]+", self.query_one("#notify", Input).value) if u]
        try:
            return from_table(table, "alerts")
        except RuleError as e:
            raise RuleError(str(e).removeprefix("alerts: alerts.")) from None

    def action_save(self) -> None:
        try:
            rules = self.read()
        except RuleError as e:
            self.query_one("#alerts-error", Static).update(str(e))
            return
        self.dismiss(rules)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#alerts-save")
    def _save_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#alerts-cancel")
    def _cancel_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
