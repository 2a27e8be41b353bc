"""The learning lab's Representation tab (tuidl.ui.widgets.latent): reconstructions beside
their inputs and the latent map, from events built here."""

from __future__ import annotations

import numpy as np

from tuidl.ui.screens.lab import LabScreen
from tuidl.ui.widgets.latent import NOTHING, representation_renderable

from helpers import SIZE, make_app, screen_text, wait_for


def events(kind: str = "image", objective: str = "denoise", n: int = 270) -> list[dict]:
    rng = np.random.default_rng(0)
    shape = (1, 8, 8) if kind == "image" else (1, 40)
    imgs = rng.random((8, *shape)).round(2).tolist()
    labels = [i % 10 for i in range(n)]
    centres = rng.normal(scale=5, size=(10, 2))
    points = (centres[labels] + rng.normal(size=(n, 2))).round(3).tolist()
    return [
        {"type": "reconstructions", "time": 1.0, "epoch": 3, "step": 90, "kind": kind, "objective": objective,
         "inputs": imgs, "targets": imgs, "outputs": imgs, "labels": labels[:8]},
        {"type": "latent", "time": 1.1, "epoch": 3, "step": 90, "layer": "code_1", "dim": 16, "method": "pca",
         "explained": [0.31, 0.2], "points": points, "labels": labels, "classes": [str(i) for i in range(10)],
         "split": "test", "of": n, "seconds": 0.01},
    ]


def plain(renderable, width=110) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_tab_shows_given_clean_and_output_rows_then_the_map_with_every_class():
    recon, latent = events()
    text = plain(representation_renderable(recon, latent, 110, 36))
    lines = text.splitlines()
    assert lines[0].startswith("c: the linear probe")
    assert "Reconstructions at epoch 3: given · clean · output (denoise)" in lines[1]
    assert [line.strip() for line in lines if line.strip() in ("given", "clean", "output")] == ["given", "clean",
                                                                                              "output"]
    assert text.count("▀") >= 3 * 8 * 8 * 4  # three rows of 8×8 images, four lines of half blocks each
    words = " ".join(text.split())
    assert "the 16-D codes of code_1 for 270 test samples" in words and "(31% + 20% of the variance)" in words
    assert "never shown to the model" in words
    for k in range(10):
        assert f"{k} (27)" in text  # the legend: each class and its count


def test_a_plain_autoencoder_shows_two_rows_and_signals_as_line_plots():
    recon, latent = events("sequence", "reconstruct")
    text = plain(representation_renderable(recon, latent, 110, 36))
    assert "given · output (reconstruct)" in text and "\nclean" not in text
    assert any("\u2800" < ch <= "\u28ff" for ch in text)  # braille line plots
    assert NOTHING.split()[:6] == plain(representation_renderable(None, None, 110, 20)).split("\n", 1)[1].split()[:6]
    probe = {"probe": {"trained": 0.667, "random": 0.315, "raw": 0.952}, "ari": {"trained": 0.45, "random": 0.11,
             "raw": 0.52}, "checkpoint": "best", "epoch": 30}
    line = " ".join(plain(representation_renderable(recon, latent, 110, 36, probe=probe)).split())
    assert "Linear probe (best checkpoint, epoch 30): trained encoder 66.7% (ARI 0.45) random encoder 31.5%" in line


async def test_the_lab_draws_the_representation_of_the_run_shown():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.session.view.apply(events())
        await pilot.press("i")  # a run with reconstructions opens the lab on its Representation tab
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen), what="the lab")
        assert app.screen.active == "lab-latent"
        await wait_for(pilot, lambda: "Latent map at epoch 3" in screen_text(app), what="the latent map")
        text = screen_text(app)
        assert "Reconstructions at epoch 3" in text and "Representation" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LabScreen), what="the lab to close")


def test_the_help_explains_each_idea_in_the_courses_words():
    from tuidl.ui.screens.help import HELP_MD

    for word in ("Autoencoder", "Bottleneck", "Self-supervised", "Linear probe", "Representation"):
        assert f"**{word}**" in HELP_MD, word
    assert "*supervised*" in HELP_MD and "*unsupervised*" in HELP_MD and "*reinforcement*" in HELP_MD


async def test_c_on_the_representation_tab_runs_the_probe_on_the_runs_checkpoint(monkeypatch):
    """``c`` runs ``tuidl probe RUN --json`` (a process of its own; faked here) and the
    figures head the tab."""
    import json

    from tuidl.core.preset import preset as P
    from tuidl.core.run.rundir import RunDir
    from tuidl.ui.screens import lab

    from helpers import FIXTURES

    asked: list[list[str]] = []
    result = {"probe": {"trained": 0.926, "random": 0.826, "raw": 0.952}, "ari": {"trained": 0.56, "random": 0.37,
              "raw": 0.52}, "checkpoint": "best", "epoch": 7, "time": 2e9}

    async def fake(args):
        asked.append(args)
        return 0, json.dumps(result), ""

    monkeypatch.setattr(lab, "run_tuidl_async", fake)
    run = RunDir(FIXTURES / "lab-runs" / "spiral-lab")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
        app.push_screen(LabScreen("lab-latent"))
        await wait_for(pilot, lambda: "c: the linear probe" in screen_text(app), what="the tab")
        await pilot.press("c")
        await wait_for(pilot, lambda: "trained encoder 92.6%" in screen_text(app), what="the probe's figures")
        assert asked == [["probe", str(run.path), "--json"]]
