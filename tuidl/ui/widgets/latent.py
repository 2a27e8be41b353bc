"""The learning lab's Representation tab as Rich renderables: the reconstructions (the
same test inputs beside what an autoencoder makes of them: half-block images, small
line plots for 1-D signals) and the latent map (the test set's codes in 2-D, coloured
by class). Pure functions of the ``reconstructions`` and ``latent`` events
(docs/events.md) as the run view keeps them; no Textual."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from tuidl.ui.widgets.preview import class_color, image_grid, sequence_grid

NOTHING = ("No latent map yet. Self-supervised presets (digits-ae, digits-denoise, mnist1d-conv-ae, ...) send one "
           "while they train; for a classifier's penultimate layer, keep this tab open while it trains or set "
           "train.instruments.latent = true in the preset.")
ROWS = {"inputs": "given", "targets": "clean", "outputs": "output"}
PLOT_W, PLOT_H = 16, 3  # a 1-D signal's line plot, in characters


def _names(labels: Sequence[Any], classes: Sequence[str]) -> list[str]:
    return [classes[k] if isinstance(k, int) and 0 <= k < len(classes) else str(k) for k in labels]


def reconstructions_renderable(event: dict | None, classes: Sequence[str], width: int) -> RenderableType | None:
    """Rows of the same samples: what the model is given, the clean input (when the
    objective corrupts it) and the model's output."""
    if not event:
        return None
    rows = ["inputs", "outputs"] if event.get("objective") == "reconstruct" else ["inputs", "targets", "outputs"]
    labels = event.get("labels") or []
    n = len(event.get("inputs") or [])
    names = _names(labels, classes) if labels else [str(i + 1) for i in range(n)]
    styles = [class_color(k) if isinstance(k, int) else "" for k in labels] or None
    parts: list[RenderableType] = [Text.assemble(
        ("Reconstructions", "bold"), f" at epoch {event.get('epoch', 0)}: "
        + " · ".join(f"{ROWS[r]}" for r in rows) + f" ({event.get('objective', 'reconstruct')})", style="")]
    for row in rows:
        samples = [np.asarray(s, dtype=np.float64) for s in event.get(row) or []]
        if not samples:
            continue
        parts.append(Text(ROWS[row], style="dim"))
        if event.get("kind") == "image":
            parts.append(image_grid(samples, names, width - 2, styles))
        else:
            flat = [s[0] if s.ndim > 1 else s for s in samples]  # a signal's first channel
            parts.append(sequence_grid(flat, names, width - 2, PLOT_W, PLOT_H, styles))
    return Group(*parts)


def latent_title(event: dict) -> Text:
    dim, layer, n = event.get("dim", 0), event.get("layer", "?"), len(event.get("points") or [])
    split = event.get("split", "test")
    text = Text.assemble(("Latent map", "bold"), f" at epoch {event.get('epoch', 0)}: the {dim}-D codes of {layer} "
                         f"for {n:,} {split} samples")
    explained = event.get("explained") or []
    if event.get("method") == "pca" and len(explained) == 2:
        text.append(f", first two principal components ({explained[0]:.0%} + {explained[1]:.0%} of the variance)")
    text.append("; coloured by class" + (" (never shown to the model)" if event.get("self_supervised") else ""),
                style="")
    return text


def latent_renderable(event: dict | None, width: int, height: int, self_supervised: bool = False) -> RenderableType:
    from tuidl.ui.widgets.preview import scatter_text

    if not event or not event.get("points"):
        return Text(NOTHING, style="dim")
    title = latent_title({**event, "self_supervised": self_supervised})
    classes = event.get("classes") or []
    task = "classification" if classes else "regression"
    plot = scatter_text(event["points"], event.get("labels") or [0] * len(event["points"]), width - 2,
                        max(6, height), task=task, classes=classes)
    return Group(title, plot)


def probe_line(probe: dict | None) -> Text:
    """The linear probe's figures on one line (``tuidl probe RUN``'s result), or how to get them."""
    if not probe:
        return Text("c: the linear probe (a logistic regression on the codes, vs raw inputs and a random encoder)",
                    style="dim", overflow="ellipsis", no_wrap=True)
    p, a = probe.get("probe") or {}, probe.get("ari") or {}
    text = Text.assemble(("Linear probe", "bold"), f" ({probe.get('checkpoint', '?')} checkpoint, epoch "
                         f"{probe.get('epoch', '?')}): ")
    for key, label in (("trained", "trained encoder"), ("random", "random encoder"), ("raw", "raw inputs")):
        if key in p:
            text.append(f"{label} {100 * p[key]:.1f}%", style="bold" if key == "trained" else "")
            text.append(f" (ARI {a.get(key, float('nan')):.2f})  ")
    return text


def representation_renderable(recon: dict | None, latent: dict | None, width: int, height: int,
                              probe: dict | None = None) -> RenderableType:
    """The whole tab: the probe's line, the reconstructions (self-supervised runs), then
    the latent map."""
    classes = (latent or {}).get("classes") or []
    top = reconstructions_renderable(recon, classes, width)
    if top is None:
        return Group(probe_line(probe), latent_renderable(latent, width, height - 3))
    images = (recon or {}).get("kind") == "image"
    rows = 2 if recon and recon.get("objective") == "reconstruct" else 3
    sample = np.asarray((recon.get("inputs") or [[[0]]])[0]) if recon else np.zeros((1, 1))
    used = 1 + rows * ((-(-sample.shape[-2] // 2) if images and sample.ndim == 3 else PLOT_H) + 2)
    return Group(probe_line(probe), top, Text(""),
                 latent_renderable(latent, width, max(8, height - used - 4), self_supervised=True))
