"""What the Model builder shows of the preset's model against its data: the table's
rows (:class:`DisplayRow`, :func:`display_rows`), the data's info, the shapes and
parameters (:func:`tuidl.core.model.layers.infer`), the loss and what is wrong
(:class:`ModelAnalysis`); a custom model's summary is built in a thread (it imports
PyTorch and runs the user's code). No widget here: the pane shows what this finds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from rich.text import Text

from tuidl.core.data import catalog
from tuidl.core.model import layers
from tuidl.core.model.layers import Layer, Summary, fmt_shape
from tuidl.core.preset.preset import Preset, resolve
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.resolved import resolved
from tuidl.ui.widgets.form import is_required

Addr = tuple[int, ...]

#: Settings always shown in the short form even when they keep their default.
ALWAYS_SHOWN = {
    "conv1d": ("kernel_size",),
    "conv2d": ("kernel_size",),
    "max_pool": ("pool_size",),
    "avg_pool": ("pool_size",),
    "dropout": ("rate",),
}
SHORT_NAMES = {"kernel_size": "k", "stride": "s", "pool_size": "size", "padding": "pad",
               "num_layers": "layers", "return_sequences": "seq", "bidirectional": "bi",
               "negative_slope": "slope"}


@dataclass
class DisplayRow:
    """One line of the layer table (a top-level layer or an inner layer of a residual)."""

    addr: Addr
    depth: int
    number: str
    name: str
    kind: str
    settings: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int | None
    error: str = ""

    @property
    def shape_text(self) -> str:
        return "—" if self.output_shape is None else fmt_shape(self.output_shape)

    @property
    def params_text(self) -> str:
        return "—" if self.params is None else f"{self.params:,}"


def short_settings(layer: Layer) -> str:
    """A layer's settings in a few characters: required values bare, a non-default
    activation by name, other changed settings as ``name=value``."""
    if layer.kind == "residual":
        n = len(getattr(layer, "inner", []))
        return f"{n} inner layer{'s' if n != 1 else ''}"
    if layer.kind == "code":
        return "▲ encoder · decoder ▼"
    cls = type(layer)
    parts: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        value = getattr(layer, f.name)
        default = f.default
        required = is_required(cls, f.name)
        short = SHORT_NAMES.get(f.name, f.name)
        if required:
            parts.append(str(value))
        elif f.name == "activation":
            if value != "none":
                parts.append(str(value))
        elif isinstance(value, bool):
            if value != default:
                parts.append(short if value else f"no {short}")
        elif value != default or f.name in ALWAYS_SHOWN.get(layer.kind, ()):
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def _rows_for(items: list[Layer], summary: Summary | None, prefix: Addr, depth: int) -> list[DisplayRow]:
    out: list[DisplayRow] = []
    failed = False
    for i, layer in enumerate(items):
        addr = prefix + (i,)
        row = summary.rows[i] if summary is not None and i < len(summary.rows) else None
        number = ".".join(str(a) for a in addr)
        name = row.name if (row is not None and depth == 0) else layer.kind
        if row is None or failed:
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 None, None, None)
        elif row.error:
            failed = True
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 row.input_shape, None, None, row.error)
        else:
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 row.input_shape, row.output_shape, row.trainable + row.frozen)
        out.append(display)
        if layer.kind == "residual":
            inner = list(getattr(layer, "inner", []))
            # Inner rows get shapes whenever the block itself got an input shape, so a
            # block that does not fit shows where inside it the shapes go wrong.
            inner_summary = layers.infer(inner, display.input_shape) if display.input_shape is not None else None
            out.extend(_rows_for(inner, inner_summary, addr, depth + 1))
    return out


def custom_rows(summary: Summary | None) -> list[DisplayRow]:
    """The table's rows for a custom model (``model.custom``): its modules as built
    (:func:`tuidl.core.train.custom.summarize`, indented by depth); none before it is built."""
    if summary is None:
        return []
    return [DisplayRow((i,), 0, str(i), row.name, row.kind, "", row.input_shape or None, row.output_shape,
                       row.trainable + row.frozen) for i, row in enumerate(summary.rows)]


def display_rows(stack: list[Layer], summary: Summary | None) -> list[DisplayRow]:
    """The table's rows: every layer with its shape and parameters (``summary`` from
    :func:`tuidl.core.model.layers.infer`; ``None`` when the input shape is unknown), inner
    layers of residual blocks after their block, one level deeper."""
    return _rows_for(list(stack), summary, (), 0)


def nearest(addr: Addr, addrs: list[Addr]) -> Addr:
    """The row nearest ``addr`` that is still there (the one before it, or its block)."""
    if not addrs:
        return (0,)
    trial = addr
    while trial:
        if trial in addrs:
            return trial
        if trial[-1] > 0:
            trial = trial[:-1] + (trial[-1] - 1,)
        else:
            trial = trial[:-1]
    return addrs[0]


def wrap_parts(parts: list[str], width: int) -> str:
    """``parts`` joined by dots on one line, or broken at the dots where ``width`` (0:
    unknown) is too narrow; never inside a part."""
    lines: list[str] = []
    for part in parts:
        if lines and (not width or len(lines[-1]) + 3 + len(part) <= width):
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def allowed_code(widget: Any) -> tuple[str, ...]:
    """The model.custom classes the command line allows (``tuidl --allow-code``: the app's)."""
    try:
        return tuple(getattr(widget.app, "allow_code", ()) or ())
    except Exception:  # noqa: BLE001 - no app yet (made outside one): nothing is allowed
        return ()


class ModelAnalysis:
    """The preset's model against its data, as the builder shows it."""

    def __init__(self) -> None:
        self.rows: list[DisplayRow] = []
        self.summary: Summary | None = None
        self.info: catalog.DataInfo | None = None
        self.problem = ""
        self.loss = ""
        # a custom model's summary, built in a thread (it imports PyTorch and runs the
        # user's code): what it was built for (ref, input shape, loss), then (summary, error)
        self.custom_key: tuple | None = None
        self.custom: tuple[Summary | None, str] | None = None
        self.custom_pending: tuple | None = None  # the build analyse found wanted

    def analyse(self, preset: Preset, allowed: tuple[str, ...]) -> None:
        self.problem = ""
        self.loss = ""
        self.custom_pending = None
        try:
            self.info = catalog.info(preset.data.dataset, preset.data.params)
        except ConfigError as e:
            self.info = None
            self.problem = f"data: {e}"
        except (OSError, ValueError) as e:
            self.info = None
            self.problem = f"data: {e}"
        if self.info is not None and preset.model.custom:
            self._analyse_custom(preset, allowed)
        elif self.info is not None:
            self.summary = layers.infer(preset.model.layers, self.info.input_shape, preset.name)
            if not self.summary.errors:
                try:
                    self.loss = resolved(preset).loss
                except ConfigError as e:
                    self.problem = "; ".join(f"{p.path}: {p.message}" if p.path else p.message
                                             for p in e.problems)
                except (OSError, ValueError) as e:
                    self.problem = str(e)
        else:
            self.summary = None
        self.rows = custom_rows(self.summary) if preset.model.custom else display_rows(preset.model.layers,
                                                                                       self.summary)

    def row_index(self, addr: Addr) -> int:
        """The row of the layer at ``addr`` (0: not there)."""
        for i, row in enumerate(self.rows):
            if row.addr == addr:
                return i
        return 0

    def shape_at(self, addr: Addr) -> tuple[int, ...] | None:
        """The output shape of the layer at ``addr`` (None: unknown)."""
        row = self.rows[self.row_index(addr)] if self.rows else None
        return row.output_shape if row is not None else None

    def title_parts(self, preset: Preset) -> list[str]:
        """The builder's title, in parts: the model, its input and output, its layers, the data."""
        info, summary = self.info, self.summary
        n = len(preset.model.layers)
        custom = preset.model.custom
        layers_text = f"{n} layer{'s' if n != 1 else ''}"
        if custom:
            modules = len(summary.rows) if summary is not None else 0
            layers_text = f"custom {custom}" + (f", {modules} module{'s' if modules != 1 else ''}" if summary else "")
        if info is not None and (summary is not None or custom):
            out = summary.output_shape if summary is not None else None
            target = f"{info.num_classes} classes" if info.task == "classification" else f"{info.targets} target(s)"
            return [f'Model "{preset.name}"',
                    f"input {fmt_shape(info.input_shape)} → output {'—' if out is None else fmt_shape(out)}",
                    layers_text, f"{info.dataset}: {target}"]
        return [f'Model "{preset.name}"', f"{n} layers", "input shape unknown"]

    def status(self, preset: Preset) -> tuple[Text, bool]:
        """The status line under the table, and whether it tells of a problem."""
        summary, problem, custom = self.summary, self.problem, preset.model.custom
        bad = bool(problem) or bool(summary and summary.errors)
        if summary is not None and summary.errors:
            first = summary.errors[0]
            text = Text(f"✗ layer {first.index} ({first.kind}) does not fit; see the row in red. "
                        "The model cannot be trained until it fits (f fits it to the data).")
        elif custom and summary is None and problem.startswith("building "):
            text, bad = Text(problem, style="dim"), False
        elif problem:
            text = Text("✗ " + problem + ("" if custom or problem.startswith("data:")
                                          else " (f fits the model to the data)"))
        else:
            text = Text(f"✓ the model fits the data{f' (loss: {self.loss})' if self.loss else ''}")
        return text, bad

    # -- a custom model (model.custom) -----------------------------------------
    def _analyse_custom(self, preset: Preset, allowed: tuple[str, ...]) -> None:
        """A custom model's summary is known once the class is built, which the command
        line must allow (``tuidl --allow-code module:Class``): until then the table is
        empty and the status says why."""
        ref = preset.model.custom
        self.summary = None
        try:
            self.loss = resolved(preset).loss
        except ConfigError as e:
            self.problem = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in e.problems)
            return
        if ref not in allowed:
            self.problem = (f"custom model {ref}: its modules show once it is built, which runs your code; "
                            f"start tuidl with --allow-code {ref} to build it (Start needs that too)")
            return
        key = self._custom_wanted(preset)
        if self.custom_key == key and self.custom is not None:
            self.summary, self.problem = self.custom
        else:
            self.problem, self.custom_pending = f"building {ref}…", key

    def _custom_wanted(self, preset: Preset) -> tuple:
        info = self.info
        return (preset.model.custom, tuple(info.input_shape) if info else None, self.loss, preset.name)

    def build_custom(self, widget: Any, preset: Preset, allowed: tuple[str, ...],
                     done: Callable[[tuple, tuple[Summary | None, str]], None]) -> None:
        """Build the custom model in a thread worker of ``widget`` when its summary is
        wanted and not known; ``done(key, (summary, error))`` runs on the UI's thread."""
        key, ref = self.custom_pending, preset.model.custom
        if key is None or key == self.custom_key:
            return
        self.custom_key, self.custom = key, None

        def build() -> None:
            from tuidl.core.train.custom import real_summary

            try:
                result: tuple[Summary | None, str] = (real_summary(resolve(preset), allowed).summary, "")
            except ConfigError as e:
                result = (None, e.brief())
            except Exception as e:  # noqa: BLE001 - the user's code: say what it raised
                result = (None, f"model.custom: {ref}: {type(e).__name__}: {e}")
            widget.app.call_from_thread(done, key, result)

        widget.run_worker(build, name="custom-summary", group="custom-summary", thread=True, exclusive=True,
                          exit_on_error=False)

    def built(self, key: tuple, result: tuple[Summary | None, str]) -> bool:
        """A build came back: False when the preset changed meanwhile (a newer one is on its way)."""
        if key != self.custom_key:
            return False
        self.custom = result
        return True
