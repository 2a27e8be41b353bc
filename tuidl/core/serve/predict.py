"""``tuidl predict``: a run's model on new inputs. The inputs (:mod:`.inputs`) get the run's
own normalisation, the one its training split was fitted with and its test split was given
(:meth:`tuidl.core.data.data.Loaded.transform`); the model runs in evaluation mode. For a
classifier: each sample's class, its probability and the top K classes; for regression, the
predicted values."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuidl.core.run.rundir import RunDir
from tuidl.core.preset.schema import ConfigError
from tuidl.core.serve.inputs import read_inputs
from tuidl.core.serve.runmodel import open_model, probabilities

TOP = 5


@dataclass
class Predictions:
    """What the model said for each input."""

    names: list[str]  # one per input: the file name, the row, or the index
    task: str
    classes: list[str]
    outputs: np.ndarray  # the raw outputs (logits or values), (N, outputs)
    probs: np.ndarray | None  # classification: (N, classes)
    top: int
    checkpoint: str
    epoch: int
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def ranked(self, i: int) -> list[tuple[str, float]]:
        """Sample ``i``'s ``top`` most likely classes with their probabilities."""
        assert self.probs is not None
        order = np.argsort(-self.probs[i], kind="stable")[:self.top]
        return [(self.classes[j], float(self.probs[i, j])) for j in order]

    def header(self) -> list[str]:
        if self.task == "classification":
            cols = ["input", "class", "probability"]
            for k in range(1, self.top + 1):
                cols += [f"top{k}", f"top{k}_probability"]
            return cols
        return ["input"] + [f"value{j}" if self.outputs.shape[1] > 1 else "value" for j in range(self.outputs.shape[1])]

    def rows(self) -> list[list[Any]]:
        out = []
        for i, name in enumerate(self.names):
            if self.task == "classification":
                ranked = self.ranked(i)
                row: list[Any] = [name, ranked[0][0], f"{ranked[0][1]:.6f}"]
                for cls, p in ranked:
                    row += [cls, f"{p:.6f}"]
            else:
                row = [name] + [f"{v:.6g}" for v in self.outputs[i]]
            out.append(row)
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.header())
        writer.writerows(self.rows())
        return buf.getvalue()

    def table(self) -> str:
        """A plain-text table: the class and probability, then the top K as ``name p``."""
        if self.task == "classification":
            head = ["INPUT", "CLASS", "PROB", f"TOP {self.top}"]
            body = []
            for i, name in enumerate(self.names):
                ranked = self.ranked(i)
                body.append([name, ranked[0][0], f"{ranked[0][1]:.3f}",
                             "  ".join(f"{c} {p:.3f}" for c, p in ranked)])
        else:
            head = ["INPUT"] + [h.upper() for h in self.header()[1:]]
            body = [[str(c) for c in row] for row in self.rows()]
        widths = [max(len(str(r[j])) for r in [head] + body) for j in range(len(head))]
        return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head] + body)


def predict(run: RunDir, source: str, *, which: str | None = None, device: str | None = None, top: int = TOP,
            allow_code: tuple[str, ...] = ()) -> Predictions:
    """The run's model (its ``which`` checkpoint) on the inputs at ``source``."""
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}")
    with open_model(run, which, device or "cpu", allow_code, purpose="predict with") as m:
        info = m.info
        inputs = read_inputs(source, info, m.preset)
        try:
            x = m.data.transform(inputs.x)  # the run's normalisation, as its test split had it
        except ValueError as e:
            raise ConfigError(f"{source}: {e}") from None
        out = m.outputs(x)
        classes = list(info.classes)
        probs = None
        if info.task == "classification":
            probs = probabilities(out, m.loss_kind).numpy()
        notes = list(inputs.notes)
        return Predictions(inputs.names, info.task, classes, out.reshape(len(out), -1).numpy(), probs,
                           min(top, len(classes)) if classes else 0, m.kind, m.epoch, notes)
