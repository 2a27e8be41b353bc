"""Presets: one TOML file describes a whole run.

``load(path_or_name, overrides)`` reads TOML (stdlib ``tomllib``), applies ``--set``
overrides, validates everything (types, ranges, unknown keys, split fractions, the
dataset, the layer stack's shapes) and returns a fully resolved :class:`Preset`.
``dumps(preset)`` writes it back as TOML with every default filled in: that is what a
run saves, so any run can be re-run. Every error names the file and the key path.
``edit(preset, edits)`` is the dashboard's one way to change a preset: it sets key paths
(:mod:`tuidl.core.preset.keypath`, as ``--set`` does) and returns the new validated preset or
the problems, each at its key path, for the panes to show under their fields.

No torch here: the dashboard validates presets as you type.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import tomli_w

from tuidl.core.data import catalog
from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import KeyPathError
from tuidl.core.model.layers import Layer, Summary, check_stack, layer_to_dict, parse_layers
from tuidl.core.preset import sweeptable
from tuidl.core.preset.schema import ConfigError, Problem, opt, read, to_dict
from tuidl.core.preset.values import parse_value

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"
CODE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

LOSSES = ("auto", "mse", "bce", "cce")
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle", "plateau")
PRECISIONS = ("fp32", "bf16", "fp16")
NORMALIZE = ("none", "standard", "minmax")
MONITORS = ("val_loss", "val_acc", "val_mae")
#: What the model learns to output: the labels (supervised), or its own input
#: (self-supervised: as it is, with noise added, or with a random part hidden).
OBJECTIVES = ("supervised", "reconstruct", "denoise", "mask")


@dataclass
class Split:
    train: float = opt(0.7, help="fraction used to fit the weights", min=0.0, max=1.0)
    val: float = opt(0.15, help="fraction for validation (early stopping, best checkpoint)", min=0.0, max=1.0)
    test: float = opt(0.15, help="fraction held out until the end", min=0.0, max=1.0)
    stratify: bool = opt(True, help="keep class balance equal across splits")
    official_test: bool = opt(False, help="use the dataset's own test set as the test split")

    def validate(self, path, problems):
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            problems.append(Problem(path, f"train + val + test must sum to 1, got "
                                          f"{self.train:g} + {self.val:g} + {self.test:g} = {total:g}"))
        if self.train <= 0:
            problems.append(Problem(f"{path}.train", "must be greater than 0"))


@dataclass
class Data:
    dataset: str = opt("spiral", help="which dataset", choices=catalog.DATASETS.keys())  # a live view: registered kinds
    params: Any = opt(factory=dict, help="the dataset's own parameters")
    batch_size: int = opt(32, help="samples per gradient step (minibatch)", min=1, max=1_000_000)
    normalize: str = opt("standard", help="input scaling fitted on the training split", choices=NORMALIZE)
    split: Split = opt(factory=Split, help="train / validation / test fractions")
    workers: int = opt(0, help="DataLoader workers for datasets streamed from disk", min=0, max=64)

    def validate(self, path, problems):
        parsed = catalog.parse_params(self.dataset, self.params, f"{path}.params", problems)
        if parsed is not None:
            self.params = parsed
        kind = catalog.DATASETS.get(self.dataset)
        if kind is not None and self.split.official_test and not kind.official_test:
            problems.append(Problem(f"{path}.split.official_test",
                                    f"dataset {self.dataset!r} has no official test set"))


@dataclass
class Model:
    layers: list[Any] = opt(factory=list, help="the layer stack, input to output")
    custom: str = opt("", help="'module:Class' of your own nn.Module instead of layers; it runs only when "
                               "the command line also says --allow-code module:Class")

    def validate(self, path, problems):
        self.layers = parse_layers(self.layers, f"{path}.layers", problems, allow_empty=True)
        if self.custom and not CODE_RE.match(self.custom):
            problems.append(Problem(f"{path}.custom", f"expected 'module:Class' (e.g. 'mymodels:SmallNet'), "
                                                      f"got {self.custom!r}"))
        if self.custom and self.layers:
            problems.append(Problem(f"{path}.custom", "give either layers or a custom model class, not both"))


@dataclass
class Optimizer:
    name: str = opt("adam", help="update rule", choices=OPTIMIZERS)
    lr: float = opt(0.001, help="learning rate", gt=0.0, max=10.0)
    momentum: float = opt(0.0, help="SGD / RMSprop momentum", min=0.0, lt=1.0)
    nesterov: bool = opt(False, help="Nesterov momentum (SGD)")
    beta1: float = opt(0.9, help="Adam β1", min=0.0, lt=1.0)
    beta2: float = opt(0.999, help="Adam β2", min=0.0, lt=1.0)
    rho: float = opt(0.99, help="RMSprop decay of the squared-gradient average", min=0.0, lt=1.0)
    eps: float = opt(1e-8, help="numerical stability term", gt=0.0, max=1.0)
    weight_decay: float = opt(0.0, help="decay of the weights each step (decoupled for AdamW)", min=0.0, max=1.0)

    def validate(self, path, problems):
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            problems.append(Problem(f"{path}.nesterov", "needs optimizer 'sgd' with momentum > 0"))


@dataclass
class Schedule:
    name: str = opt("constant", help="learning-rate schedule", choices=SCHEDULES)
    warmup_epochs: int = opt(0, help="linear warmup from lr/100 over these epochs", min=0, max=10_000)
    step_size: int = opt(10, help="step: epochs between drops", min=1, max=100_000)
    gamma: float = opt(0.1, help="step: factor at each drop", gt=0.0, max=1.0)
    min_lr: float = opt(0.0, help="cosine / plateau: the floor", min=0.0, max=10.0)
    max_lr: float = opt(0.0, help="onecycle: peak lr (0 = 10 × lr)", min=0.0, max=10.0)
    factor: float = opt(0.1, help="plateau: factor on a plateau", gt=0.0, lt=1.0)
    patience: int = opt(5, help="plateau: epochs without improvement first", min=0, max=100_000)


@dataclass
class EarlyStopping:
    enabled: bool = opt(False, help="stop when the monitored metric stops improving")
    monitor: str = opt("val_loss", help="what to watch", choices=MONITORS)
    patience: int = opt(5, help="epochs without improvement before stopping", min=1, max=100_000)
    min_delta: float = opt(0.0, help="smallest change that counts", min=0.0)
    restore_best: bool = opt(True, help="end with the best epoch's weights")


@dataclass
class Instruments:
    """The learning lab's instruments (docs/instruments.md). Off, the trainer computes none
    of them unless a dashboard watching the run asks (``watch_*`` control commands)."""
    health: bool = opt(False, help="layer health: gradient / weight norms, update ratio, dead units, activations")
    neurons: bool = opt(False, help="2-D datasets: every hidden unit's output over the input plane")
    adversarial: bool = opt(False, help="at the end: test accuracy under FGSM and PGD attacks")
    latent: bool = opt(False, help="the latent map: the test set's codes (a classifier's penultimate layer) in 2-D; "
                                   "always on for a self-supervised train.objective")
    adversarial_eps: list[float] = opt(factory=lambda: [0.0, 0.05, 0.1, 0.2, 0.3],
                                       help="attack sizes ε, in standard deviations of the normalised input")


@dataclass
class Train:
    epochs: int = opt(20, help="passes over the training split", min=1, max=1_000_000)
    loss: str = opt("auto", help="mse, bce, cce, or auto from the task and output size", choices=LOSSES)
    label_smoothing: float = opt(0.0, help="cce: spread this much target mass over all classes",
                                 min=0.0, lt=1.0)
    optimizer: Optimizer = opt(factory=Optimizer)
    schedule: Schedule = opt(factory=Schedule)
    early_stopping: EarlyStopping = opt(factory=EarlyStopping)
    l1: float = opt(0.0, help="L1 penalty on weights, added to the loss", min=0.0, max=10.0)
    l2: float = opt(0.0, help="L2 penalty on weights, added to the loss", min=0.0, max=10.0)
    grad_clip: float = opt(0.0, help="clip the gradient norm to this (0 = off)", min=0.0)
    device: str = opt("auto", help="auto, cpu, cuda, cuda:N or mps")
    precision: str = opt("fp32", help="fp32, or bf16 / fp16 autocast on CUDA", choices=PRECISIONS)
    channels_last: bool = opt(False, help="channels-last memory format for conv2d models on CUDA")
    compile: bool = opt(False, help="torch.compile the model")
    checkpoint_every: int = opt(1, help="save 'last' every N epochs", min=1, max=1_000_000)
    deterministic: bool = opt(True, help="deterministic algorithms where PyTorch has them")
    instruments: Instruments = opt(factory=Instruments)
    objective: str = opt("supervised", help="supervised: predict the labels; reconstruct: output the input "
                                            "(an autoencoder); denoise: the clean input from a noisy one; "
                                            "mask: the whole input from one with a random part hidden",
                         choices=OBJECTIVES)
    noise: float = opt(0.3, help="denoise: standard deviation of the Gaussian noise added to the (normalised) input",
                       min=0.0, max=100.0)
    mask: float = opt(0.5, help="mask: fraction of the input's values hidden (set to 0)", min=0.0, lt=1.0)

    def validate(self, path, problems):
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            problems.append(Problem(f"{path}.device", f"expected auto, cpu, cuda, cuda:N or mps, got {self.device!r}"))


@dataclass
class Sweep:
    """``[sweep]``: what ``tuidl sweep PRESET`` varies when no --grid / --search is given
    (docs/sweeps.md). Each key of ``grid`` / ``search`` is a key path of this preset, in
    quotes: ``[sweep.search]`` ``"train.optimizer.lr" = "log:1e-4:1e-1"``."""

    grid: Any = opt(factory=dict, help="key path → list of values; every combination is a trial")
    search: Any = opt(factory=dict, help="key path → 'log:LOW:HIGH', 'float:LOW:HIGH', 'int:LOW:HIGH' or "
                                         "'choice:A,B' (or a list); Optuna's TPE picks the trials")
    trials: int = opt(20, help="a search's trials in all (a grid runs each combination once)", min=1, max=100_000)
    parallel: int = opt(1, help="trials at once: one per GPU, or processes on the CPU", min=1, max=1024)
    metric: str = opt("val_loss", help="what ranks the trials, read at each epoch's end", choices=MONITORS)
    prune: bool = opt(True, help="a search stops bad trials early (Optuna's median pruner)")
    startup_trials: int = opt(5, help="trials before TPE and the pruner act (random ones first)",
                              min=0, max=100_000)
    warmup_epochs: int = opt(1, help="epochs of a trial before it can be pruned", min=0, max=1_000_000)

    def validate(self, path, problems):
        sweeptable.check_table(self, path, problems)

    def is_default(self) -> bool:
        return self == Sweep()


@dataclass
class Preset:
    name: str = opt("untitled", help="short name; used in run ids (with the data, when the name does not say it)")
    description: str = opt("", help="one line about the run")
    seed: int = opt(0, help="seeds the split, the weights and the batches", min=0, max=2**32 - 1)
    data: Data = opt(factory=Data)
    model: Model = opt(factory=Model)
    train: Train = opt(factory=Train)
    sweep: Sweep = opt(factory=Sweep, help="what `tuidl sweep` varies (docs/sweeps.md)")

    def validate(self, path, problems):
        if not NAME_RE.match(self.name):
            problems.append(Problem("name", "use 1-64 letters, digits, '.', '_' or '-' (no slashes), "
                                            f"starting with a letter or digit; got {self.name!r}"))
        if not problems and not self.sweep.is_default():
            params, found = sweeptable.from_table(self.sweep)
            if params and not found:  # the table's keys and values against the rest of the preset
                data = sweep_base(self)
                sweeptable.check_params(data, params, refusal(self, data), problems)

    # Filled by resolve(): not part of the TOML.
    source: str = dataclasses.field(default="", init=False, compare=False)
    # The --set overrides applied to the file (their problems are reported against them).
    overrides: tuple[str | Override, ...] = dataclasses.field(default=(), init=False, compare=False)


# ---------------------------------------------------------------------------
# Resolution: the checks that need more than one section.

@dataclass
class Resolved:
    preset: Preset
    info: catalog.DataInfo
    summary: Summary
    loss: str


def output_problem(info: catalog.DataInfo, out: tuple[int, ...], loss: str, objective: str = "supervised") -> str:
    if objective != "supervised":  # the target is the input itself
        if loss not in ("mse", "bce"):
            return f"loss {loss!r} cannot compare an output with the input; use 'mse' or 'bce' for {objective}"
        if tuple(out) != tuple(info.input_shape):
            return (f"the last layer must output the input's shape {tuple(info.input_shape)} for {objective}, "
                    f"got {tuple(out)}")
        return ""
    if info.task == "classification":
        k = info.num_classes
        if loss == "bce":
            if k != 2 or out != (1,):
                return f"loss 'bce' needs 2 classes and an output of (1,), got {k} classes and {out}"
        elif loss == "cce":
            if out != (k,):
                return f"the last layer must output ({k},) for {k} classes, got {out}"
        else:
            return f"loss {loss!r} is for regression; use 'cce' or 'bce' for classification"
    else:
        if loss != "mse":
            return f"loss {loss!r} is for classification; use 'mse' for regression"
        if out != (info.targets,):
            return f"the last layer must output ({info.targets},) for {info.targets} target(s), got {out}"
    return ""


def task_of(preset: Preset, info: catalog.DataInfo) -> str:
    """What the trainer's metrics measure: the data's task, or ``regression`` for a
    self-supervised objective (the output is compared with the input, value by value)."""
    return info.task if preset.train.objective == "supervised" else "regression"


def pick_loss(info: catalog.DataInfo, out: tuple[int, ...] | None, loss: str, objective: str = "supervised") -> str:
    if loss != "auto":
        return loss
    if info.task == "regression" or objective != "supervised":
        return "mse"
    return "bce" if out == (1,) and info.num_classes == 2 else "cce"


def resolve(preset: Preset) -> Resolved:
    """Check the parts that depend on each other; return the data info and model summary.
    A problem an override caused is reported against the override (``--set key=value``)."""
    try:
        return _resolve(preset)
    except ConfigError as e:
        raise blame_overrides(e, preset.overrides) from None


def _resolve(preset: Preset) -> Resolved:
    src = preset.source
    if not preset.model.layers and not preset.model.custom:
        raise ConfigError([Problem("model.layers", "the layer list is empty; add at least one layer", src)])
    try:
        info = catalog.info(preset.data.dataset, preset.data.params)
    except ConfigError as e:
        raise e.with_source(src) from None
    resolved = with_data(preset, info)
    summary, loss = resolved.summary, resolved.loss
    out = summary.output_shape if not preset.model.custom else (
        (info.num_classes,) if info.task == "classification" else (info.targets,))
    objective = preset.train.objective
    problem = output_problem(info, out, loss, objective)
    if problem:
        raise ConfigError([Problem(f"model.layers[{len(summary.rows) - 1}]", problem, src)])
    if objective != "supervised" and preset.model.custom:
        raise ConfigError([Problem("train.objective", f"{objective} needs a layer stack (model.layers), "
                                                      "not a custom model", src)])
    codes = [r.index for r in summary.rows if r.kind == "code"]
    if len(codes) > 1:
        raise ConfigError([Problem(f"model.layers[{codes[1]}]", "one code layer marks the bottleneck; "
                                                               f"found {len(codes)}", src)])
    task = task_of(preset, info)
    es = preset.train.early_stopping
    if es.enabled and es.monitor == "val_acc" and task != "classification":
        raise ConfigError([Problem("train.early_stopping.monitor", "val_acc needs a classification task", src)])
    if es.enabled and es.monitor == "val_mae" and task != "regression":
        raise ConfigError([Problem("train.early_stopping.monitor", "val_mae needs a regression task", src)])
    if preset.data.split.val <= 0 and (es.enabled or preset.train.schedule.name == "plateau"):
        raise ConfigError([Problem("data.split.val", "early stopping and the plateau schedule need a "
                                                     "validation split > 0", src)])
    return resolved


def with_data(preset: Preset, info: catalog.DataInfo) -> Resolved:
    """The parts of an already resolved preset that depend on its data, from the data's
    ``info`` (a run's loaded data): the model summary and the loss ``auto`` stands for.
    The trainer takes a run's ``preset.toml`` (the form :func:`resolve` checked before the
    run was made) this way: no file is peeked at and nothing checked again."""
    try:
        if preset.model.custom:  # its shapes are known only once the code runs (train.custom.custom_model)
            summary = Summary(preset.name, info.input_shape, [])
        else:
            summary = check_stack(preset.model.layers, info.input_shape)
    except ConfigError as e:
        raise e.with_source(preset.source) from None
    summary.name = preset.name
    out = summary.output_shape if not preset.model.custom else (
        (info.num_classes,) if info.task == "classification" else (info.targets,))
    return Resolved(preset, info, summary, pick_loss(info, out, preset.train.loss, preset.train.objective))


def data_label(preset: Preset) -> str:
    """What a preset trains on, in a word: the stem of its CSV / NPZ file, the name of its
    image folder, else the dataset's name (``mydata``, ``imgs``, ``circle``)."""
    path = getattr(preset.data.params, "path", "")
    if path:
        p = Path(path)
        return p.name if preset.data.dataset == "image-folder" else p.stem
    return preset.data.dataset


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def run_name(preset: Preset) -> str:
    """What a run of ``preset`` is named (its id, after the time): the preset's name, and
    the data it trains when the name does not say so already. ``spiral`` trains spiral
    (``spiral``), but spiral switched to ``mydata.csv`` trains ``spiral-mydata``; ``xor``
    switched to the circle dataset, ``xor-circle``. The name says the data when one of
    the data's words is in one of the name's words (``fashion-cnn`` trains
    ``fashion-mnist``; ``myimgs`` trains the folder ``imgs``)."""
    label = data_label(preset)
    names = _words(preset.name)
    if any(w == n or (len(w) >= 3 and w in n) for w in _words(label) for n in names):
        return preset.name
    return f"{preset.name}-{label}"


def check_code(preset: Preset, allow_code: tuple[str, ...] | list[str] = ()) -> None:
    """A preset never runs code on its own: its ``model.custom`` class must also be named
    by the command line (``--allow-code module:Class``)."""
    ref = preset.model.custom
    if ref and ref not in allow_code:
        raise ConfigError([Problem("model.custom", f"the preset asks to run the code {ref!r}; a preset cannot run "
                                                   f"code on its own. To allow it, add --allow-code {ref} to the "
                                                   "command line")])


#: What ``--set`` may change when a run is resumed: a run continues with its own preset,
#: except that it may train longer (the learning-rate schedule follows the new length).
RESUME_KEYS = ("train.epochs",)


def resume_overrides(preset: Preset, overrides: Sequence[str | Override], trained: int) -> Preset:
    """The preset of a run resumed with ``--set`` overrides, or ConfigError naming the
    override that cannot apply: only ``train.epochs`` may change, to more than the
    ``trained`` epochs the run has done. Anything else would make the run a different one
    (its checkpoint was trained for this preset): start a new run for that."""
    for assignment in overrides:
        key = _override_key(assignment)
        if key is None or keypath.format(key) not in RESUME_KEYS:
            raise ConfigError([Problem("", f"a resumed run keeps its own preset; only {', '.join(RESUME_KEYS)} "
                                           "can change (to train longer). Start a new run to change anything "
                                           "else", _source(assignment))])
    data = to_data(preset)
    for assignment in overrides:
        apply_override(data, assignment)
    new = _overridden(data, preset.source, overrides)
    if new.train.epochs <= trained:
        last = overrides[-1]  # every override sets train.epochs (above): the last one counts
        raise ConfigError([Problem("", f"the run has trained {trained} epoch{'s' if trained != 1 else ''} "
                                       f"already: give more than {trained} to train longer",
                                   last.source if isinstance(last, Override) else
                                   f"--set train.epochs={new.train.epochs}")])
    return new


# ---------------------------------------------------------------------------
# Reading and writing

@dataclass(frozen=True)
class Override:
    """A typed value for a key path, from a typed command-line flag (``--epochs 5`` is
    ``Override("train.epochs", 5, "--epochs 5")``): set as it is, no text parsed; a
    problem it causes is named by ``source``, the flag as typed. ``--set`` overrides are
    text (``"train.epochs=5"``), read with the value grammar
    (:mod:`tuidl.core.preset.values`)."""

    key: str
    value: Any
    source: str


def _source(override: str | Override) -> str:
    """What a problem an override caused names: ``--set key=value`` or the typed flag."""
    return override.source if isinstance(override, Override) else f"--set {override}"


def apply_override(data: dict, assignment: str | Override) -> None:
    """Apply one ``--set path.to.key=value`` (or a typed :class:`Override`) to ``data`` (a
    preset as read from TOML). A list item is ``layers.0`` or ``layers[0]``
    (:mod:`tuidl.core.preset.keypath`)."""
    where = _source(assignment)  # problems name the override, not the file it overrides
    if isinstance(assignment, Override):
        key, value = assignment.key, assignment.value
    elif "=" not in assignment:
        raise ConfigError([Problem("", "expected path.to.key=value", where)])
    else:
        key, _, text = assignment.partition("=")
        value = parse_value(text)
    try:
        keypath.set(data, key.strip(), value)
    except KeyPathError as e:
        raise ConfigError([Problem("", str(e), where)]) from None


def _override_key(assignment: str | Override) -> keypath.Parts | None:
    """The key path an override sets (``None`` for one that is not ``path=value``)."""
    if isinstance(assignment, Override):
        text = assignment.key
    elif "=" not in assignment:
        return None
    else:
        text = assignment.partition("=")[0]
    try:
        return keypath.parse(text.strip())
    except KeyPathError:
        return None


def blame_overrides(error: ConfigError, overrides: Sequence[str | Override]) -> ConfigError:
    """Report each problem an override caused against that override (``--set key=value``)
    instead of the preset file: the key it set, a key inside it, the table it lies in, and
    what a new kind brings (a layer's keys after ``layers.N.type``, the parameters after
    ``data.dataset``)."""
    if not overrides:
        return error
    keys = [(key, a) for a in overrides if (key := _override_key(a)) is not None]

    def caused(at: keypath.Parts, key: keypath.Parts) -> bool:
        scopes = [key] + ([key[:-1]] if len(key) > 1 and key[-1] == "type" else []) \
            + ([("data", "params")] if key == ("data", "dataset") else [])
        return keypath.within(key, at) or any(len(at) > len(scope) and keypath.within(at, scope)
                                              for scope in scopes)

    problems = []
    for p in error.problems:
        try:
            at = keypath.parse(p.path) if p.path else ()
        except KeyPathError:
            at = ()
        for key, assignment in reversed(keys):  # the last override of a key is the one that counts
            if at and caused(at, key):
                p = dataclasses.replace(p, source=_source(assignment), path="" if at == key else p.path)
                break
        problems.append(p)
    return ConfigError(problems)


def _overridden(data: dict, source: str, overrides: Sequence[str | Override]) -> Preset:
    """The preset read from ``data`` (a file's, with ``overrides`` applied)."""
    try:
        preset = read(Preset, data)
    except ConfigError as e:
        raise blame_overrides(e, overrides).with_source(source) from None
    preset.source = source
    preset.overrides = tuple(overrides)
    return preset


def builtin_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def find(name_or_path: str | Path) -> Path:
    """A path to a .toml file, or the name of a built-in preset."""
    p = Path(name_or_path).expanduser()
    if p.suffix == ".toml" or p.exists() or "/" in str(name_or_path):
        if not p.is_file():
            raise ConfigError(f"preset file not found: {p}")
        return p
    builtin = PRESETS_DIR / f"{name_or_path}.toml"
    if builtin.is_file():
        return builtin
    raise ConfigError(f"no preset named {str(name_or_path)!r}; built-in presets: {', '.join(builtin_names())}")


def from_dict(data: dict, source: str = "") -> Preset:
    try:
        preset = read(Preset, data)
    except ConfigError as e:
        raise e.with_source(source) from None
    preset.source = source
    return preset


@dataclass
class Edit:
    """What :func:`edit` made of a preset and some edits."""

    preset: Optional[Preset]  # the new validated preset; None when a problem stopped it
    problems: list[Problem]  # each at its key path (``model.layers[0].units``)
    data: dict  # the edited preset as plain data, valid or not (a form keeps it as its draft)

    def brief(self) -> str:
        """Every problem on one line, without the file (the edit is at fault, not the file)."""
        return "; ".join(p.brief for p in self.problems)


def edit(preset: Preset, edits: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), *,
         base: Optional[dict] = None) -> Edit:
    """Set each ``(key path, value)`` of ``edits``, in order, on ``base`` (a copy of it;
    by default the preset's own data, :func:`to_data`) and validate the result: the one
    path every pane of the dashboard takes to change the preset. Raises
    :class:`~tuidl.core.preset.keypath.KeyPathError` for a path that leads nowhere (a layer
    that is gone); problems with the values come back in :attr:`Edit.problems`."""
    data = copy.deepcopy(base) if base is not None else to_data(preset)
    for path, value in (edits.items() if isinstance(edits, Mapping) else edits):
        keypath.set(data, path, value)
    resolved = copy.deepcopy(data)
    catalog.absolute_params(resolved.get("data"), Path.cwd())  # a path typed in the dashboard
    try:
        new = from_dict(resolved, preset.source)
    except ConfigError as e:
        return Edit(None, list(e.problems), data)
    return Edit(new, [], data)


def load_text(text: str, source: str = "<text>", overrides: Sequence[str | Override] = (),
              base: Path | str | None = None) -> Preset:
    """A preset read from TOML ``text``. Its relative data paths (``data.params.path``,
    ``data.params.root``) are taken from ``base``, the folder of the file it was read from
    (default: the working directory), and those an override sets from the working
    directory; the preset holds them absolute, so a run's copy of it works from anywhere."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([Problem("", f"not valid TOML: {e}", source)]) from None
    catalog.absolute_params(data.get("data"), base if base is not None else Path.cwd())
    for assignment in overrides:
        apply_override(data, assignment)
    catalog.absolute_params(data.get("data"), Path.cwd())
    return _overridden(data, source, overrides)


def load(name_or_path: str | Path, overrides: Sequence[str | Override] = ()) -> Preset:
    path = find(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem("", "not a TOML file (not UTF-8 text)", str(path))]) from None
    return load_text(text, str(path), overrides, base=path.parent)


def to_data(preset: Preset) -> dict:
    data = to_dict(preset)
    data.pop("source", None)
    data.pop("overrides", None)
    if preset.sweep.is_default():  # a preset without a sweep saves none (a trial's run saves none)
        data.pop("sweep", None)
    data["model"]["layers"] = [_layer_dict(layer) for layer in preset.model.layers]
    return data


def sweep_base(preset: Preset) -> dict:
    """The preset as plain data, without its sweep: what each trial of a sweep varies."""
    data = to_data(preset)
    data.pop("sweep", None)
    return data


def refusal(preset: Preset, base: dict) -> Callable[[str, Any], list[Problem]]:
    """``refused(key, value)``: the problems of ``preset`` (as ``base`` data) with ``key``
    set to ``value`` (none: it takes it), as a sweep checks its values."""
    return lambda key, value: edit(preset, {key: value}, base=base).problems


def _layer_dict(layer: Layer) -> dict:
    out = layer_to_dict(layer)
    if layer.kind == "residual":
        out["layers"] = [_layer_dict(inner) for inner in layer.inner]  # type: ignore[attr-defined]
    return out


def dumps(preset: Preset) -> str:
    return tomli_w.dumps(to_data(preset))


# ---------------------------------------------------------------------------
# Reference documentation, generated from the dataclasses (docs/presets.md).

def _field_rows(cls: type, prefix: str) -> list[str]:
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        path = f"{prefix}{f.name}"
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            rows += _field_rows(type(default), f"{path}.")
            continue
        meta = dict(f.metadata)
        checks = []
        if "choices" in meta:
            checks.append(" / ".join(f"`{c}`" for c in meta["choices"]))
        for key, sym in (("min", "≥"), ("gt", ">"), ("max", "≤"), ("lt", "<")):
            if key in meta:
                checks.append(f"{sym} {meta[key]:,}" if isinstance(meta[key], int) else f"{sym} {meta[key]}")
        shown = "required" if default is None and f.default is dataclasses.MISSING else \
            f"`{_toml_inline(default)}`" if default not in ({}, []) else "—"
        cells = [f"`{path}`", shown, ", ".join(checks), str(meta.get("help", ""))]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def _toml_inline(value: Any) -> str:
    """A default as TOML on one line (``[0.0, 0.05]``): tomli_w writes a list over several
    lines, which broke the Markdown table it stands in."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[4:].strip()


def reference_markdown() -> str:
    from tuidl.core.model.layers import LAYER_TYPES

    out = ["# The preset format", "",
           "Generated from `tuidl/core/preset/preset.py` by `python -m tuidl.core.preset.preset` (a test checks it is current).",
           "", "A preset is one TOML file. Every key has a default except the layer list; `tuidl show PRESET` "
           "prints a preset with every default filled in. Override any key with `--set path.to.key=value` "
           "(values in TOML syntax; a list item by its index, `--set model.layers.0.units=64` or "
           "`--set 'model.layers[0].units=64'`; messages name keys the second way).", "",
           "A relative data path (`data.params.path`, `data.params.root`) is taken from the folder of the preset "
           "file it is written in, once, when the preset is read: `proj/mycsv.toml` with `path = \"mydata.csv\"` "
           "reads `proj/mydata.csv` from wherever tuidl runs. A path given with `--set` or typed in the dashboard "
           "is taken from the working directory; `~` is your home. A run saves the path absolute in its "
           "`preset.toml`, so `tuidl predict`, `export-model`, `adversarial` and `train --resume` on the run "
           "find the data from anywhere.", "",
           "Values typed as text, with `--set` or in the dashboard's fields, read the same way: booleans "
           "are `true` / `false`, `yes` / `no` or `on` / `off` in any case; numbers as TOML and Python "
           "write them (`16`, `1e-3`, `1_000`; an integer key takes `1e3`); anything else is text (quote "
           "it, `--set 'name=\"yes\"'`, to keep one of the words above as text). `--epochs`, `--device` "
           "and `--precision` set their keys directly, as typed.", "",
           "## Top level, data and training", "", "| key | default | allowed | meaning |", "|---|---|---|---|"]
    out += _field_rows(Preset, "")
    out += ["", "## Sweeps (`[sweep]`)", "",
            "`tuidl sweep PRESET` without `--grid` / `--search` runs the preset's `[sweep]` table (docs/sweeps.md). "
            "`[sweep.grid]` maps key paths of this preset (quoted) to lists of values, and every combination "
            "is a trial; `[sweep.search]` maps them to ranges, `\"log:LOW:HIGH\"` (LOW > 0), "
            "`\"float:LOW:HIGH\"`, `\"int:LOW:HIGH\"` or `\"choice:A,B\"` (or a list), and Optuna's TPE picks "
            "`trials` of them. Give a grid or a search, not both. Each key must be a value of this preset and "
            "each grid value and range bound one it accepts; an error names the key "
            "(`sweep.search.\"train.optimizer.lr\": a log range needs bounds above 0`). A preset without a "
            "sweep saves no `[sweep]` table, and neither does a trial's run.", "", "```toml", "[sweep]",
            "trials = 30", "parallel = 2", "", "[sweep.search]", '"train.optimizer.lr" = "log:1e-4:1e-1"',
            '"model.layers.0.units" = "int:8:64"', '"train.optimizer.name" = ["adam", "sgd"]', "```"]
    out += ["", "## Datasets (`data.dataset`) and their `data.params`", ""]
    for name, kind in catalog.DATASETS.items():
        out += [f"### `{name}`", "", kind.description + ".", ""]
        rows = _field_rows(kind.params, "data.params.")
        out += (["| key | default | allowed | meaning |", "|---|---|---|---|"] + rows) if rows else ["No parameters."]
        out.append("")
    out += ["## Layers (`[[model.layers]]`, each with `type = ...`)", "",
            "Shapes leave out the batch axis and are channel-first: features `(F,)`, sequences `(C, L)`, "
            "images `(C, H, W)`.", ""]
    for kind, cls in LAYER_TYPES.items():
        out += [f"### `{kind}`", "", cls.doc, ""]
        rows = _field_rows(cls, "")
        out += (["| key | default | allowed | meaning |", "|---|---|---|---|"] + rows) if rows else []
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
