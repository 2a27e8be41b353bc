"""The Training pane's event log, in words: the lines a run_started, epoch, checkpoint,
control, note or run_ended event adds to it. Each line is ``(text, style, stamped)``
(``stamped``: it starts with the event's time since the run began)."""

from __future__ import annotations

from typing import Any

from tuidl.core.numbers import to_int
from tuidl.ui.panes.run_controls import END_STYLE
from tuidl.ui.widgets.results import fmt_metric

Line = tuple[str, str, bool]
LEVEL_STYLE = {"info": "", "warning": "yellow", "error": "bold red"}


def started_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
    resumed = to_int(ev.get("resumed_from"))
    device = ev.get("device_name") or ev.get("device") or "?"
    where = f"{device} ({ev.get('device')}, {ev.get('precision', 'fp32')})" if ev.get("device_name") else device
    head = f"resumed after epoch {resumed}" if resumed else "run started"
    out = [(f"{head}: {ev.get('preset', '?')}, {to_int(ev.get('epochs'))} epochs × "
            f"{to_int(ev.get('steps_per_epoch'))} steps of {to_int(ev.get('batch_size'))}, on {where}",
            "bold", True)]
    summary = ev.get("summary") if isinstance(ev.get("summary"), dict) else {}
    sizes = data.get("sizes") if isinstance(data.get("sizes"), dict) else {}
    if summary or sizes:
        parts = []
        if summary.get("total") is not None:
            parts.append(f"{to_int(summary.get('total')):,} parameters")
        if sizes:
            parts.append("split " + " / ".join(f"{k} {to_int(v):,}" for k, v in sizes.items()))
        if ev.get("loss"):
            parts.append(f"loss {ev.get('loss')}")
        out.append(("  " + ", ".join(parts), "dim", False))
    return out


def epoch_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    key = metric
    train = ev.get("train") if isinstance(ev.get("train"), dict) else {}
    val = ev.get("val") if isinstance(ev.get("val"), dict) else None
    line = f"epoch {to_int(ev['epoch'])}: loss {fmt_metric('loss', train.get('loss'))}"
    if key in train:
        line += f", {'acc' if key == 'acc' else key} {fmt_metric(key, train.get(key))}"
    if val is not None:
        line += f" | val loss {fmt_metric('loss', val.get('loss'))}"
        if key in val:
            line += f", {'acc' if key == 'acc' else key} {fmt_metric(key, val.get(key))}"
    if ev.get("best"):
        line += "  ★ best"
    return [(line, "green" if ev.get("best") else "dim", True)]


def checkpoint_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    reason, kind = ev.get("reason", ""), ev.get("kind", "last")
    if reason in ("epoch", "start") and kind == "last":
        return []  # every epoch: too routine to log
    path = ev.get("path", f"checkpoints/{kind}.pt")
    why = {"epoch": "new best epoch", "requested": "as requested", "stop": "on stop",
           "diverged": "before divergence", "error": "after an error"}.get(reason, reason)
    return [(f"checkpoint {kind} saved ({why}, epoch {ev.get('epoch', '?')}): {path}",
             "green" if kind == "best" else "", True)]


def control_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    action = ev.get("action", "")
    text = {"paused": "paused", "resumed": "resumed", "stop_requested": "stop requested: finishing the step, "
            "saving a checkpoint", "checkpoint_requested": "checkpoint requested"}.get(action, str(action))
    return [(text, "yellow" if action in ("paused", "stop_requested") else "", True)]


def note_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    level = ev.get("level", "info")
    kind = ev.get("kind", "")
    prefix = {"early_stop": "early stop: ", "lr_drop": "lr drop: ", "divergence": "DIVERGED: ",
              "oom": "out of memory: "}.get(kind, "")
    message = str(ev.get("message", kind))
    if prefix and message.lower().startswith(prefix.split(":")[0].lower()):
        prefix = ""
    style = LEVEL_STYLE.get(level, "")
    if kind == "early_stop":
        style = "bold yellow"
    return [(prefix + message, style, True)]


def ended_lines(ev: dict[str, Any], metric: str) -> list[Line]:
    status = str(ev.get("status", "completed"))
    message = str(ev.get("message", ""))
    best = ev.get("best") if isinstance(ev.get("best"), dict) else None
    line = f"run ended: {status}"
    if message:
        line += f": {message}"
    if best:
        monitor = str(best.get("monitor", ""))
        line += f" (best {monitor} {fmt_metric(monitor.removeprefix('val_'), best.get('value'))} " \
                f"at epoch {best.get('epoch', '?')})"
    return [(line, END_STYLE.get(status, "bold"), True)]


# the event's kind (as RunView took it) -> its lines
LINES = {"run_started": started_lines, "epoch": epoch_lines, "checkpoint": checkpoint_lines,
         "control": control_lines, "note": note_lines, "run_ended": ended_lines}
