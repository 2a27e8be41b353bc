"""What a learnt representation is worth: the linear probe and k-means (``tuidl probe RUN``).

The **linear probe** is the figure self-supervised papers report: freeze the encoder
(the model up to its ``code`` layer, or a classifier's penultimate layer:
:func:`tuidl.core.train.latent.code_index`), compute the codes of the training and test
splits, and fit a logistic regression (scikit-learn, on standardised codes) to the
labels the encoder never saw. Its test accuracy says how much of the class a straight
line can read off the codes. Beside it, the same probe on the raw inputs and on the
codes of a randomly initialised encoder of the same shape: a representation is worth
something if it beats both.

**k-means** on the test codes (as many clusters as classes, no labels) is scored
against the true classes by the adjusted Rand index (ARI: 0 for chance, 1 for the
classes exactly).

Everything is computed from a run's checkpoint through the run's own set-up
(:func:`tuidl.core.lab.prepare.prepared`): the same split, normalisation and model.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch

from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.latent import code_index, codes, encoder
from tuidl.core.train.objective import labels_of

MAX_TRAIN = 10_000  # probe training samples at most (the first of the split)
MAX_TEST = 10_000
RANDOM_SEED = 12345  # the random encoder's weights


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.float().flatten(1).cpu().numpy()


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                   seed: int = 0) -> float:
    """Test accuracy of a logistic regression fitted on standardised ``train_x``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(train_x, train_y)
    return float(model.score(test_x, test_y))


def kmeans_ari(x: np.ndarray, y: np.ndarray, k: int, seed: int = 0) -> float:
    """Adjusted Rand index of k-means (``k`` clusters, standardised ``x``) against ``y``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    found = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(StandardScaler().fit_transform(x))
    return float(adjusted_rand_score(y, found))


def probe(model: torch.nn.Module, specs: list[Any], data: Any, seed: int = 0) -> dict[str, Any]:
    """The probe's figures for ``model`` (a layer stack's Sequential, as trained) on
    ``data`` (the run's loaded splits): ``{layer, dim, probe: {trained, random, raw},
    ari: {trained, random, raw}, train_samples, test_samples, classes, seconds}``."""
    t0 = time.perf_counter()
    index = code_index(specs)
    if index is None:
        raise ConfigError("the model has no code layer and no penultimate layer to probe (one weighted layer)")
    if data.info.task != "classification":
        raise ConfigError("the linear probe needs class labels: the dataset is a regression one")
    test = data.test if data.test is not None and len(data.test) else data.val
    if test is None or data.train is None:
        raise ConfigError("the linear probe needs a training split and a test (or validation) split")
    train_x, test_x = data.train.x[:MAX_TRAIN], test.x[:MAX_TEST]
    train_y = labels_of(data.train)[:MAX_TRAIN].cpu().numpy()
    test_y = labels_of(test)[:MAX_TEST].cpu().numpy()
    k = data.info.num_classes
    random_model = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        for module in random_model.modules():
            if hasattr(module, "reset_parameters") and module is not random_model:
                module.reset_parameters()
    features = {
        "trained": (codes(encoder(model, index), train_x), codes(encoder(model, index), test_x)),
        "random": (codes(encoder(random_model, index), train_x), codes(encoder(random_model, index), test_x)),
        "raw": (_flat(train_x), _flat(test_x)),
    }
    accuracy = {name: round(probe_accuracy(tr, train_y, te, test_y, seed), 4) for name, (tr, te) in features.items()}
    ari = {name: round(kmeans_ari(te, test_y, k, seed), 4) for name, (_tr, te) in features.items()}
    name = specs[index].kind
    layer = f"{name}_{sum(1 for s in specs[: index + 1] if s.kind == name)}"
    return {"layer": layer, "dim": int(features["trained"][0].shape[1]), "probe": accuracy, "ari": ari,
            "train_samples": int(len(train_y)), "test_samples": int(len(test_y)), "classes": k,
            "split": "test" if test is data.test else "val", "seconds": round(time.perf_counter() - t0, 3)}


def probe_run(run: Any, which: str | None = None, device: str | None = "cpu",
              allow_code: tuple[str, ...] = ()) -> dict[str, Any]:
    """:func:`probe` of a run's checkpoint (``best`` if written, else ``last``), through
    the run's own set-up; with the checkpoint, epoch and step it was at."""
    from tuidl.core.lab.prepare import checkpoint_of, load_weights, prepared
    from tuidl.core.preset import preset as P

    preset = P.load(run.require_preset("tuidl probe"))
    if preset.model.custom:
        raise ConfigError("the linear probe reads a layer stack (model.layers), not a custom model")
    kind, state = checkpoint_of(run, which, "probe")
    with prepared(preset, device=device, allow_code=allow_code) as trainer:
        at = load_weights(trainer, state)
        result = probe(trainer.model, preset.model.layers, trainer.data, preset.seed)
    return {**result, **at, "checkpoint": kind, "time": time.time()}


def probe_text(result: dict[str, Any]) -> str:
    """The figures as a few lines for the terminal."""
    p, a = result["probe"], result["ari"]
    lines = [f"Linear probe on the {result['dim']}-D codes of {result['layer']} "
             f"({result['train_samples']:,} training samples, {result['test_samples']:,} {result['split']}):",
             f"  {'':<26} {'probe accuracy':>15} {'k-means ARI':>12}"]
    for key, label in (("trained", "trained encoder"), ("random", "random encoder, same shape"),
                       ("raw", "raw inputs")):
        lines.append(f"  {label:<26} {p[key] * 100:>14.1f}% {a[key]:>12.3f}")
    return "\n".join(lines)
