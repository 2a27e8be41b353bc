"""The help screen (``?``): keys, what each pane does, and the deep-learning ideas the
dashboard shows, in a few sentences each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from rich.table import Table
from textual.widgets import Markdown, Static

KEYS: list[tuple[str, str]] = [
    ("1 2 3 4 5", "jump to Model builder, Dataset & split, Training, GPU / system, Runs"),
    ("s", "start training the current preset"),
    ("p", "pause / resume the run"),
    ("x", "stop the run (it saves a checkpoint first)"),
    ("c", "save a checkpoint now"),
    ("e", "charts: x axis in steps or in epochs"),
    ("l", "charts: logarithmic loss axis on / off"),
    ("m", "charts: smoothing on / off (an exponential moving average, as TensorBoard)"),
    ("h", "Training pane: show / hide the hyperparameters"),
    ("g", "Training pane: the first field (epochs); Tab then goes to learning rate, batch size, optimizer "
          "(a logged run: choose its charts)"),
    ("b", "compare: overlay earlier runs of this preset on the charts (again: clear)"),
    ("o", "charts: explain the over- / underfitting marks under the charts, one per press (or hover one)"),
    ("i", "the learning lab: neurons, layer health, loss landscape, adversarial test ([ ] tabs, c compute)"),
    ("r", "learning-rate finder: sweep the learning rate, see the loss, enter applies the suggestion"),
    ("w", "sweep: train the preset many times with some keys varied (a grid, or Optuna's search with pruning); "
          "Queue starts it when a GPU is free"),
    ("t", "try the model: draw a digit on its own grid, or move a point over a 2-D plane, and see its answer"),
    ("Runs pane", "enter/o open (attach or replay) · space mark · v compare marked · C clear · "
                  "r re-run · u resume · e export CSV + Markdown · m export the model (safetensors, "
                  "ONNX, TorchScript) · d delete · a sweep's row: enter shows its trials ranked"),
    ("A", "alert rules: NaN loss, stalls, ends, thresholds, idle GPUs; bell, desktop, webhooks (docs/alerts.md)"),
    ("ctrl+s", "save the preset as TOML"),
    ("ctrl+o", "open another preset: a built-in one or a TOML file (as `tuidl NAME`)"),
    ("f", "fit the model to the data: first layer's input, last layer's outputs, the loss"),
    ("escape", "in a text field: drop what was typed and leave the field (the keys above work again)"),
    ("ctrl+p", "command palette: every action by name"),
    ("tab, shift+tab", "move between controls; enter or space presses a button"),
    ("?", "this help (escape closes it)"),
    ("q, ctrl+q", "quit (asks first while a run trains)"),
]


def keys_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return table


HELP_MD = """\
A run is a separate process: quitting the dashboard, closing the terminal or losing the
SSH link does not stop it. `tuidl attach RUN` follows it again later.

# The panes

**Model builder**: the layer stack from input to output, with each layer's output shape
and parameter count computed as you edit. A layer that cannot take its input shape is
marked with the reason.

**Dataset & split**: which data the model learns from, its parameters, and how it is
split into *training* (fits the weights), *validation* (watched during training, picks
the best epoch) and *test* (touched once, at the end: the honest score).

**Training**: the hyperparameters, the controls, the live curves, the event log and, at
the end, the test results: metrics, the confusion matrix and some test samples.

**GPU / system**: GPU utilisation, memory, temperature and power, host CPU and memory,
and the trainer process itself.

**Runs**: every run so far, live ones marked. Open one to follow it again (a finished
run replays at once), resume a stopped or interrupted one from its last checkpoint,
re-run its preset, export its metrics or its model, or overlay several on the charts to
compare them. A sweep's trials are grouped under its row: enter there ranks them by their
validation metric, with the best trial, which parameters mattered most, and the best
curves laid over each other.

# Ideas behind the curves

**Loss**: one number for how wrong the model is on a batch (mean squared error for
regression, cross-entropy for classes). Training means nudging the weights downhill
on the loss. The *train* curve is measured while learning; the *validation* curve on
data the model never trains on.

**Optimizer**: the rule that turns gradients into weight updates. *SGD* steps straight
down the gradient (momentum adds inertia); *Adam* / *AdamW* scale each weight's step by
running gradient statistics and work well with little tuning; *RMSprop* is similar.

**Learning rate**: the step size. Too small: the loss falls slowly. Too large: it jumps
around or blows up to NaN (*divergence*). Schedules lower it over time (step, cosine,
one-cycle, or on a plateau of the validation loss); warmup starts small.

**Batch size**: samples per step. Larger batches give smoother gradients and better GPU
use but fewer updates per epoch; the best learning rate often grows with the batch.

**Epoch**: one pass over the training split. A **step** is one batch and one update.

**Underfitting**: training and validation loss both stay high. The model is too small,
training too short, or the learning rate wrong.

**Overfitting**: the training loss keeps falling while the validation loss turns back
up: the model memorises the training samples instead of the pattern. Remedies:
more data, a smaller model, regularization, or *early stopping* at the best epoch.

**Regularization**: anything that discourages memorising. *L2* / *weight decay* keep
weights small, *L1* pushes many to exactly zero, *dropout* (a layer in the builder)
switches random units off while training, *label smoothing* keeps the model from being
over-confident.

**Early stopping**: stop when the monitored validation metric has not improved for
*patience* epochs, and keep the best epoch's weights.

**The fit marks**: the loss chart marks the epoch where the validation loss turns up
while the training loss still falls (red: overfitting begins, the *generalization gap*
opens), the epoch whose weights early stopping kept (green), and a run whose losses
still fall at the end (yellow: underfitting, it could learn more). `o` steps through
them and explains each under the charts; the mouse over a mark says the same.

**Gradient clipping**: caps the gradient's size so one bad batch cannot throw the
weights far away.

# Inside the network: the learning lab (i)

**Neurons** (2-D datasets, as TensorFlow Playground): each hidden unit's output over the
input plane. The first layer can only draw straight boundaries from the input
features; each later layer combines the ones before into curves and islands. That
is what depth buys. Blue and orange links between columns are the positive and
negative weights.

**Layer health** (*optimization*): the gradient norm of each layer tells how hard it
is pushed. In a deep net of sigmoids it shrinks layer by layer towards the input
(*vanishing gradients*: the first layers stop learning). A huge learning rate can
push ReLUs to output 0 for every input (*dead units*). The update / weight ratio is
how big a step is next to the weights (about 1e-3 is healthy).

**Learning-rate finder** (r, *the learning rate*): trains a copy of the model for a
few dozen steps while the learning rate grows from tiny to huge, and plots the loss.
The good range is where the loss falls steeply; past the minimum it blows up.

**Loss landscape** (*optimization, generalization*): the loss around the weights found,
along two random directions scaled to each filter's size (Li et al. 2018). Wide, flat
basins tend to generalise; sharp ones can mean a brittle model.

**Adversarial test** (*generalization*): nudges each test input by at most ε towards a
mistake (FGSM: one step; PGD: several) and measures the accuracy again. A model that
falls apart at tiny ε has learned fragile features. The test split is the honest
score on *this* data, not a guarantee on slightly different data.

# Beyond labels: unsupervised and self-supervised learning

The course names four kinds of machine learning: *supervised* (learn from labelled
examples), *unsupervised* (find structure in data without labels), *self-supervised*
(make the labels from the data itself) and *reinforcement* learning (learn from rewards).
The presets `digits-ae`, `digits-denoise`, `digits-masked` and `mnist1d-conv-ae` show the
middle two (`train.objective` in a preset).

**Autoencoder** (*unsupervised*): a network trained to output its own input. The
*encoder* (the layers before the `code` layer) squeezes each input into a few numbers,
the *code*; the *decoder* (the layers after it) rebuilds the input from the code. The
loss is the reconstruction error (mean squared error, or binary cross-entropy for inputs
in 0..1). No label is used anywhere.

**Bottleneck**: the code is much smaller than the input (2 or 16 numbers for 64 pixels),
so the network cannot copy the input through: it must find what the inputs have in
common and keep only what tells them apart. A code as wide as the input could learn the
identity and nothing else. The `code` layer marks it; the model summary draws the line
between encoder and decoder there.

**Self-supervised**: the data supply their own targets. A *denoising* autoencoder gets the
input with noise added and must output the clean input; a *masked* one gets the input
with a random part hidden and must fill it in. Both are harder than copying, so the code
must capture what the data look like. Large language and vision models are pre-trained
this way (predict the hidden word, the hidden patch), then put to work with few labels.

**Representation** (i, then the *Representation* tab): the reconstructions of the same
test inputs (what the model is given, the clean input, its output) sharpen as it
trains; the *latent map* draws the test set's codes (the first two principal components
when the code is wider than 2), coloured by the class the model never saw. When the
digits form separate clusters, the encoder has discovered them on its own. A
classifier's penultimate layer has a latent map too: its classes pull apart as it learns.

**Linear probe** (`tuidl probe RUN`): what a representation is worth. Freeze the encoder,
compute the codes, and fit the simplest classifier, a logistic regression (a straight
line between classes), on the codes and the labels. Its test accuracy is the figure
self-supervised papers report. It is compared with the same probe on the raw inputs and
on a *randomly initialised* encoder of the same shape: a random network already mixes the
inputs, so the learning is what the trained encoder adds. *k-means* on the codes, scored
against the true classes by the adjusted Rand index (0: chance, 1: the classes exactly),
asks the same without any label at all.

**Sweeps** (w, *hyperparameters*): the learning rate, the width, the dropout are not
learned by gradient descent: they are chosen by training several times and keeping what
does best on the *validation* split (never the test split, which would then stop being
an honest score). A grid tries every combination; a search lets Optuna pick the next
trial from the earlier ones and stops (*prunes*) trials that fall behind the median.

**Confusion matrix**: rows are the true classes, columns the predicted ones; the
diagonal counts the right answers and every other cell a particular mistake.

**Precision**: *fp32* is full precision; *bf16* / *fp16* autocast on a GPU is faster and
uses less memory, with fp16 needing loss scaling.
"""


class HelpScreen(ModalScreen[None]):
    """Keys, panes and short explanations. ``escape``, ``q`` or ``?`` close it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help-box {
        width: 96;
        max-width: 100%;
        height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title {
        height: 1;
        text-style: bold;
        color: $accent;
    }
    HelpScreen #help-scroll {
        height: 1fr;
    }
    HelpScreen .help-heading {
        text-style: bold;
        color: $accent;
        margin: 1 0 0 0;
    }
    HelpScreen #help-keys {
        height: auto;
        margin: 0 0 1 0;
    }
    HelpScreen Markdown {
        margin: 0;
        padding: 0;
    }
    HelpScreen #help-hint {
        height: 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("tuidl help", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static("Keys", classes="help-heading")
                yield Static(keys_table(), id="help-keys")
                yield Markdown(HELP_MD, id="help-text")
            yield Static("↑/↓ or page keys scroll · escape closes", id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
