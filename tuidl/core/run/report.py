"""What a run did, read back from its event stream: ``tuidl replay --headless``,
``tuidl export`` (CSV of metrics, a Markdown report). The events are taken by a
:class:`~tuidl.core.run.runview.RunView`; this module
only writes what it holds."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any

from tuidl.core.model.layers import render_summary
from tuidl.core.run.rundir import RunDir
from tuidl.core.run.runview import RunView
from tuidl.core.run.runview import load as load_view
from tuidl.core.numbers import number


def load_history(run: RunDir) -> RunView:
    """Every complete event of the run, taken by a :class:`RunView`."""
    return load_view(run)


def to_csv(history: RunView) -> str:
    """One row per epoch: epoch, step, lr, samples/s, duration, train_* and val_* metrics;
    for a logged run one row per step (:func:`logged_csv`)."""
    if history.logged:
        return logged_csv(history)
    names = history.metric_names
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", "step", "lr", "samples_per_s", "duration"] + [f"train_{m}" for m in names]
                    + [f"val_{m}" for m in names])
    for epoch in sorted(history.epochs):
        ev = history.epochs[epoch]
        train, val = ev.get("train") or {}, ev.get("val") or {}
        writer.writerow([epoch, ev.get("step", ""), ev.get("lr", ""), ev.get("samples_per_s", ""),
                         ev.get("duration", "")] + [train.get(m, "") for m in names]
                        + [val.get(m, "") for m in names])
    return out.getvalue()


def logged_csv(history: RunView) -> str:
    """A logged run's metrics: one row per step that logged any, ``step``, ``time`` (seconds
    since the run started, the step's first value) and one column per metric (empty where
    the step did not log it; the step's last value where it logged it more than once)."""
    import numpy as np

    scalars = history.scalars
    names = scalars.names
    columns = [scalars[name] for name in names]
    steps = np.unique(np.concatenate([c.steps for c in columns])) if columns else np.empty(0)
    table = np.full((steps.size, len(names)), np.nan)
    has = np.zeros((steps.size, len(names)), dtype=bool)
    times = np.full(steps.size, np.nan)
    for j, c in enumerate(columns):
        rows = np.searchsorted(steps, c.steps)
        table[rows, j] = c.values
        has[rows, j] = True
        first = np.isnan(times[rows])
        times[rows[first]] = c.times[first]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "time"] + names)

    def cell(v: float, present: bool) -> str:
        return "" if not present else repr(float(v)) if v == v else "nan"

    for i in range(steps.size):
        step = steps[i]
        writer.writerow([int(step) if step == int(step) else step, "" if times[i] != times[i] else f"{times[i]:.3f}"]
                        + [cell(v, p) for v, p in zip(table[i].tolist(), has[i].tolist())])
    return out.getvalue()


def fmt_metrics(metrics: dict | None) -> str:
    if not metrics:
        return "—"
    return ", ".join(f"{k} {number(v):.4f}" for k, v in metrics.items())


SPLIT_LABELS = {"train": "train", "val": "validation", "test": "test"}


def text_chart(series: dict[str, tuple[list[float], list[float]]], title: str, width: int = 72,
               height: int = 16, x_label: str = "epoch") -> str:
    """A plain-text line chart for reports (``textplot.line_chart`` without colour: each
    line has a marker of its own, named in the legend row)."""
    from tuidl.core.textplot import PlotLine, line_chart

    lines = []
    for label, (xs, ys) in series.items():
        pts = [(x, y) for x, y in zip(xs, ys) if y == y and abs(y) != float("inf")]
        if pts:
            lines.append(PlotLine([p[0] for p in pts], [p[1] for p in pts], SPLIT_LABELS.get(label, label)))
    if not lines:
        return f"{title}: no data"
    rows = line_chart(lines, width, height, title=title, x_label=x_label, color=False)
    return "\n".join(row.rstrip() for row in rows)


def epoch_series(history: RunView, metric: str) -> dict[str, tuple[list[float], list[float]]]:
    return history.epoch_series(metric)


def summary_text(run: RunDir, history: RunView) -> str:
    """The few lines ``tuidl replay --headless`` prints."""
    if history.logged:
        return logged_summary_text(run, history)
    st = history.started or {}
    lines = [f"Run {run.id}: preset {st.get('preset', '?')}, {st.get('device', '?')}, "
             f"{len(history.epochs)}/{st.get('epochs', '?')} epochs, status {history.status}"]
    if history.epochs:
        last = history.epochs[max(history.epochs)]
        lines.append(f"Last epoch {last['epoch']}: train {fmt_metrics(last.get('train'))}; "
                     f"val {fmt_metrics(last.get('val'))}")
    best = history.best()
    if best:
        lines.append(f"Best: {best['monitor']} {number(best['value']):.4f} at epoch {best['epoch']}")
    if history.test:
        lines.append(f"Test: {fmt_metrics(history.test.get('metrics'))}")
    if history.ended:
        lines.append(f"Ended {history.ended['status']}: {history.ended.get('message', '')}")
    for note in history.notes:
        if note.get("level") in ("warning", "error") or note.get("kind") == "early_stop":
            lines.append(f"{note.get('level', 'info')}: {note.get('message', '')}")
    return "\n".join(lines)


def logged_summary_text(run: RunDir, history: RunView) -> str:
    """A logged run's lines for ``tuidl replay --headless``: what it is, then the last and
    best value of each metric."""
    from tuidl.core.run.units import fmt_metric

    st = history.started or {}
    scalars = history.scalars
    steps = f"{int(scalars.last_step) + 1:,} steps" if scalars.events else "no steps"
    lines = [f"Run {run.id}: {history.source or 'logged'} {st.get('name') or run.id}, {steps}, "
             f"{len(scalars)} metrics, status {history.status}"]
    for name, figures in history.summary().items():
        if "value" in figures:
            lines.append(f"  {name}: {figures['value']}")
        else:
            lines.append(f"  {name}: last {fmt_metric(name, figures['last'])}, best {fmt_metric(name, figures['best'])}")
    if history.ended:
        lines.append(f"Ended {history.ended.get('status')}: {history.ended.get('message', '')}")
    return "\n".join(lines)


def logged_markdown(run: RunDir, history: RunView, problems: list[str]) -> str:
    """A logged run's report: its summary, its config, a chart per metric (its train and
    validation names on one chart: :func:`tuidl.core.run.scalars.chart_groups`), and a
    table of the last and best value of each metric."""
    import json

    from tuidl.core.run.scalars import chart_groups
    from tuidl.core.run.units import fmt_metric

    parts = [f"# Run {run.id}", "", summary_text(run, history).splitlines()[0], ""]
    st = history.started or {}
    if st.get("command"):
        parts += ["Command: `" + " ".join(str(a) for a in st["command"]) + "`", ""]
    parts += ["## Config", "", "```json", json.dumps(history.config, indent=1, sort_keys=True, default=str), "```", ""]
    summary = history.summary()
    if history.scalars.names:
        parts += ["## Summary", "", "| metric | last | best | step |", "|---|---|---|---|"]
        for name in history.scalars.names:
            f = summary[name]
            parts.append(f"| {name} | {fmt_metric(name, f['last'])} | {fmt_metric(name, f['best'])} | "
                         f"{int(f['step']) if f['step'] == f['step'] else '—'} |")
        parts.append("")
    extra = {k: v for k, v in summary.items() if "value" in v}
    if extra:
        parts += ["| summary key | value |", "|---|---|"] + [f"| {k} | {v['value']} |" for k, v in extra.items()] + [""]
    if history.scalars.names:
        parts += ["## Curves", ""]
    for group in chart_groups(history.scalars.names):
        series = {}
        for label, name in (("train", group.train), ("val", group.val)):
            if name is not None:
                scalar = history.scalars[name]
                series[name if group.val is None or group.train is None else label] = (
                    scalar.steps.tolist(), scalar.values.tolist())
        try:
            chart = text_chart(series, group.title, x_label="step")
        except Exception as e:  # noqa: BLE001 - one chart must not cost the whole report
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            problems.append(f"the {group.title} chart could not be drawn ({reason})")
            parts += [f"_The {group.title} chart could not be drawn: {reason}._", ""]
            continue
        parts += ["```", chart, "```", ""]
    parts += [f"_Exported {time.strftime('%Y-%m-%d %H:%M')} by tuidl._", ""]
    return "\n".join(parts)


def to_markdown(run: RunDir, history: RunView, problems: list[str] | None = None) -> str:
    """The Markdown report. A part that cannot be drawn (a chart) is replaced by a line
    saying so, and named in ``problems`` when a list is given: the rest is still written."""
    problems = problems if problems is not None else []
    if history.logged:
        return logged_markdown(run, history, problems)
    st = history.started or {}
    parts = [f"# Run {run.id}", "", summary_text(run, history).replace("\n", "  \n"), ""]
    if st.get("data"):
        d = st["data"]
        sizes = d.get("sizes", {})
        parts += ["## Data", "", f"- dataset: `{d.get('dataset')}`, input {tuple(d.get('input_shape', []))}",
                  f"- split: train {sizes.get('train', 0):,}, validation {sizes.get('val', 0):,}, "
                  f"test {sizes.get('test', 0):,}", ""]
    if st.get("summary"):
        parts += ["## Model", "", "```", render_summary(st["summary"]), "```", ""]
    if history.epochs:
        parts += ["## Curves", ""]
        for metric in history.metric_names:
            try:
                chart = text_chart(epoch_series(history, metric), metric)
            except Exception as e:  # noqa: BLE001 - one chart must not cost the whole report
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                problems.append(f"the {metric} chart could not be drawn ({reason})")
                parts += [f"_The {metric} chart could not be drawn: {reason}._", ""]
                continue
            parts += ["```", chart, "```", ""]
        parts += ["## Final metrics", "", "| split | " + " | ".join(history.metric_names) + " |",
                  "|---|" + "---|" * len(history.metric_names)]
        last = history.epochs[max(history.epochs)]
        rows = [("train", last.get("train")), ("validation", last.get("val"))]
        if history.test:
            rows.append(("test", history.test.get("metrics")))
        for label, metrics in rows:
            if metrics:
                parts.append(f"| {label} | " + " | ".join(f"{number(metrics[m]):.4f}" if m in metrics else "—"
                                                       for m in history.metric_names) + " |")
        parts.append("")
    if history.test and history.test.get("confusion"):
        classes = (st.get("data") or {}).get("classes") or []
        conf = history.test["confusion"]
        names = [str(c) for c in classes] if len(classes) == len(conf) else [str(i) for i in range(len(conf))]
        parts += ["## Confusion matrix (rows: true, columns: predicted)", "",
                  "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for name, row in zip(names, conf):
            parts.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
        parts.append("")
    parts += lab_sections(run, history, problems)
    preset_text = run.preset_path.read_text() if run.preset_path.exists() else ""
    parts += ["## Preset", "", "```toml", preset_text.rstrip(), "```", "",
              f"_Exported {time.strftime('%Y-%m-%d %H:%M')} by tuidl._", ""]
    return "\n".join(parts)


def lab_sections(run: RunDir, history: RunView, problems: list[str]) -> list[str]:
    """The learning lab's results, when the run has them: of its latest ``adversarial``
    and ``landscape`` events and those computed from its checkpoint (``RUN/lab/``), the
    newer."""
    from tuidl.core.lab import kept, text

    def newest(name: str) -> dict | None:
        return kept.newest(getattr(history, name), kept.saved(run, name))

    parts: list[str] = []
    adversarial, landscape = newest("adversarial"), newest("landscape")
    try:
        if adversarial:
            table = text.adversarial_table(adversarial)
            parts += ["## Adversarial test", "", text.adversarial_head(adversarial) + ".", "", "```", *table, "",
                      text.adversarial_chart(adversarial), "```", ""]
        if landscape:
            parts += ["## Loss landscape", "", text.landscape_summary(landscape) + ".", "", "```",
                      *text.shade_rows(landscape["grid"]), "```", ""]
    except Exception as e:  # noqa: BLE001 - one part must not cost the whole report
        reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        problems.append(f"the learning lab's results could not be drawn ({reason})")
        parts += [f"_The learning lab's results could not be drawn: {reason}._", ""]
    return parts


@dataclass
class Exported:
    """What :func:`export` wrote, and the parts of the report it could not draw."""

    csv_path: Any
    md_path: Any
    problems: list[str] = field(default_factory=list)

    def message(self) -> str:
        """``wrote …`` for both files, then one line per part that failed."""
        lines = [f"wrote {self.csv_path}", f"wrote {self.md_path}"]
        lines += [f"warning: in {self.md_path}: {p}" for p in self.problems]
        return "\n".join(lines)


def export(run: RunDir, directory: Any = None) -> Exported:
    """Write ``<id>-metrics.csv`` and ``<id>-report.md`` (into the run directory by default)."""
    from pathlib import Path

    from tuidl.core.run.rundir import write_atomic

    target = Path(directory) if directory else run.path
    target.mkdir(parents=True, exist_ok=True)
    history = load_history(run)
    done = Exported(target / f"{run.id}-metrics.csv", target / f"{run.id}-report.md")
    write_atomic(done.csv_path, to_csv(history).encode())
    write_atomic(done.md_path, to_markdown(run, history, done.problems).encode())
    return done
