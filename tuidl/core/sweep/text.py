"""A sweep as text: one line per finished trial, the ranked table and the best trial
(what ``tuidl sweep`` prints). No UI."""

from __future__ import annotations

from typing import Any

from tuidl.core.run.units import columns
from tuidl.core.preset.sweeptable import _show
from tuidl.core.sweep.study import SweepView


def params_text(params: dict) -> str:
    return " ".join(f"{k}={_show(v)}" for k, v in params.items())


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each key path by its shortest tail that no other key ends with:
    ``train.optimizer.lr`` → ``lr``, ``model.layers[0].units`` → ``units``."""
    out = {}
    for key in keys:
        parts = key.replace("[", ".[").split(".")
        for n in range(1, len(parts) + 1):
            tail = ".".join(parts[-n:]).replace(".[", "[")
            if tail.startswith("["):
                continue
            others = [k for k in keys if k != key and (k == tail or k.endswith("." + tail))]
            if not others:
                out[key] = tail
                break
        else:
            out[key] = key
    return out


def short_value(value: Any) -> str:
    """A parameter's value in a few characters (floats to 4 significant digits)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def params_short(params: dict, short: dict[str, str] | None = None, width: int | None = None) -> str:
    """A trial's parameters in few characters, ``lr=0.003 units=8``: each key by its
    :func:`short_keys` tail (``short``: computed over more keys, e.g. a whole sweep's),
    cut to ``width`` characters (``…`` at the cut) when given."""
    short = short if short is not None else short_keys(list(params))
    text = " ".join(f"{short.get(k, k)}={short_value(v)}" for k, v in params.items())
    return text if width is None or len(text) <= width else text[:width - 1] + "…"


def value_text(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "—"


def trial_line(ev: dict, metric: str = "") -> str:
    """A ``trial_ended`` event as one line: trial number, params, metric, status, run id."""
    status = ev.get("run_status") or str(ev.get("state", "")).lower()
    where = ev.get("run_id") or ev.get("message", "")
    return (f"trial {ev.get('trial'):>3}  {params_text(ev.get('params') or {})}  "
            f"{(metric + ' ') if metric else ''}{value_text(ev.get('value'))}  {status}  {where}").rstrip()


def table(view: SweepView) -> str:
    """The trials ranked (best first), then the best trial and the importances."""
    keys: list[str] = []
    for t in view.trials:
        keys += [k for k in t.params if k not in keys]
    rows = [("RANK", "TRIAL", "STATE", view.metric.upper(), *keys, "RUN")]
    for i, t in enumerate(view.trials, 1):
        state = t.run_status or t.state.lower()
        rows.append((str(i), str(t.number), state, value_text(t.value),
                     *(_show(t.params[k]) if k in t.params else "—" for k in keys), t.run_id or "—"))
    lines = columns(rows)
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(view.counts.items()))
    lines.append(f"Sweep {view.id}: {len(view.trials)} of {view.planned} trials ({counts or 'none yet'})")
    if view.best is not None:
        b = view.best
        lines.append(f"Best: trial {b.number}, {view.metric} {value_text(b.value)}: {params_text(b.params)}  "
                     f"(run {b.run_id})")
    else:
        lines.append("Best: none yet (no trial completed)")
    if view.importances:
        lines.append("Importance: " + ", ".join(f"{k} {v:.2f}" for k, v in view.importances.items()))
    return "\n".join(lines)
