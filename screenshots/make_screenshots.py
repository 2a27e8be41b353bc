"""Write one SVG screenshot per dashboard pane into this folder.

    python screenshots/make_screenshots.py [--run tests/fixtures/runs/spiral-demo] [--size 120x40]

The dashboard replays a recorded run (so the Training pane shows real curves, the
decision boundary and the test results) and saves each pane with Textual's own
``save_screenshot``: builder.svg, dataset.svg, training.svg, system.svg, runs.svg; then
the learning lab (i) on a run that recorded every instrument (``--lab-run``):
lab-neurons.svg, lab-health.svg, lab-landscape.svg, lab-adversarial.svg; then "try the model"
(t) on a digits MLP trained here for the shot, with a test digit on the pad: try-digits.svg;
then the view of a 2×3 sweep on xor run here for the shot: sweep.svg; then a logged run
(tuidl.init / run.log, tests/fixtures/runs/logged-demo) on the Training pane: logged.svg;
then the lab's Representation tab on the denoising autoencoder digits-denoise, trained here
for the shot: lab-latent.svg.
``--only logged`` (or panes, lab, try, sweep, latent; several with commas) writes only those.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tuidl.core.preset import preset as P  # noqa: E402
from tuidl.core.run.rundir import RunDir  # noqa: E402
from tuidl.ui.app import TuidlApp  # noqa: E402
from tuidl.ui.panes.registry import INFOS  # noqa: E402

DEFAULT_RUN = ROOT / "tests" / "fixtures" / "runs" / "spiral-demo"
DEFAULT_LAB_RUN = ROOT / "tests" / "fixtures" / "lab-runs" / "spiral-lab"
LAB_TABS = ("lab-neurons", "lab-health", "lab-landscape", "lab-adversarial")


def replay_app(run_path: Path, runs_root: Path) -> TuidlApp:
    run = RunDir(run_path)
    return TuidlApp(P.load(run.preset_path), replay=run, system_interval=None, telemetry=False, runs_root=runs_root)


def waiter(pilot):
    """``until(condition, what)``: wait (a minute at most, in all) for the app to get there."""
    end = time.monotonic() + 60

    async def until(condition, what: str) -> None:
        while not condition():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            await pilot.pause(0.05)

    return until


async def shoot(run_path: Path, out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    app = replay_app(run_path, runs_root)
    written: list[Path] = []
    async with app.run_test(size=size) as pilot:
        until = waiter(pilot)
        dataset = app.panes["dataset"]
        await until(lambda: app.panes["training"].controls.state == "ended", "the replay")
        for n, info in enumerate(INFOS, 1):
            pane_id = info.key
            await pilot.press(str(n))
            if pane_id == "dataset":  # it loads its data when first shown
                await until(lambda: dataset.result is not None and not dataset.loading, "the data")
            await pilot.pause(0.3)
            app.panes["training"].redraw_now()
            app.set_focus(None)
            await pilot.pause(0.3)
            name = f"{pane_id}.svg"
            app.save_screenshot(name, str(out))
            written.append(out / name)
    return written


async def shoot_lab(run_path: Path, out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    from tuidl.ui.screens.lab import LabScreen

    app = replay_app(run_path, runs_root)
    written: list[Path] = []
    async with app.run_test(size=size) as pilot:
        await waiter(pilot)(lambda: app.panes["training"].controls.state == "ended" and app.session.view.neurons, "the replay")
        for tab in LAB_TABS:
            app.push_screen(LabScreen(initial=tab))
            await pilot.pause(0.4)
            app.screen.refresh_view()
            await pilot.pause(0.3)
            name = f"{tab}.svg"
            app.save_screenshot(name, str(out))
            written.append(out / name)
            app.pop_screen()
            await pilot.pause(0.2)
    return written


async def shoot_try(out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    """Train a digits MLP (a few seconds), replay it, press t and put a test digit on the pad."""
    import subprocess

    import numpy as np

    from tuidl.ui.screens.trymodel import TryModelScreen
    from tuidl.ui.widgets.drawpad import DrawPad

    before = set(runs_root.iterdir())
    subprocess.run([sys.executable, "-m", "tuidl", "train", "digits-mlp", "--set", "train.epochs=15",
                    "--runs-dir", str(runs_root), "--quiet"], check=True)
    run_path = next(p for p in runs_root.iterdir() if p not in before and p.is_dir())
    app = replay_app(run_path, runs_root)
    async with app.run_test(size=size) as pilot:
        until = waiter(pilot)
        await until(lambda: app.panes["training"].controls.state == "ended", "the replay")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TryModelScreen), "the try screen")
        screen = app.screen
        await until(lambda: screen.predictor is not None or screen.failure, "the model")
        test = screen.predictor.data.test.x[3].numpy().reshape(8, 8)
        screen.query_one(DrawPad).set_pixels(np.clip((test - test.min()) / (test.max() - test.min()), 0, 1))
        await pilot.pause(0.4)
        name = "try-digits.svg"
        app.save_screenshot(name, str(out))
    return [out / name]


async def shoot_sweep(out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    """Run a small grid (about 20 s), then show its sweep view."""
    import subprocess

    from tuidl.ui.screens.sweep import SweepScreen

    subprocess.run([sys.executable, "-m", "tuidl", "sweep", "xor", "--grid", "train.optimizer.lr=0.003,0.01,0.03",
                    "--grid", "model.layers.0.units=4,8", "--set", "train.epochs=12", "--study", "xor-grid",
                    "--runs-dir", str(runs_root)], check=True, stdout=subprocess.DEVNULL)
    app = replay_app(DEFAULT_RUN, runs_root)
    async with app.run_test(size=size) as pilot:
        until = waiter(pilot)
        await until(lambda: app.panes["training"].controls.state == "ended", "the replay")
        screen = SweepScreen(runs_root, "xor-grid")
        app.push_screen(screen)
        await until(lambda: screen.loads and (screen.view is not None or screen.error), "the sweep")
        await pilot.pause(0.5)
        name = "sweep.svg"
        app.save_screenshot(name, str(out))
    return [out / name]


async def shoot_latent(out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    """Train the denoising autoencoder on the digits (under a minute on a laptop), probe it,
    replay it, and show the lab's Representation tab: the probe, reconstructions and the
    latent map."""
    import subprocess

    from tuidl.ui.screens.lab import LabScreen

    before = set(runs_root.iterdir())
    subprocess.run([sys.executable, "-m", "tuidl", "train", "digits-denoise", "--runs-dir", str(runs_root),
                    "--quiet"], check=True)
    run_path = next(p for p in runs_root.iterdir() if p not in before)
    subprocess.run([sys.executable, "-m", "tuidl", "probe", str(run_path)], check=True,  # its figures head the tab
                   stdout=subprocess.DEVNULL)
    app = replay_app(run_path, runs_root)
    async with app.run_test(size=size) as pilot:
        until = waiter(pilot)
        await until(lambda: app.panes["training"].controls.state == "ended" and app.session.view.latent, "the replay")
        app.push_screen(LabScreen(initial="lab-latent"))
        await pilot.pause(0.4)
        app.screen.refresh_view()
        await pilot.pause(0.3)
        name = "lab-latent.svg"
        app.save_screenshot(name, str(out))
    return [out / name]


DEFAULT_LOGGED_RUN = ROOT / "tests" / "fixtures" / "runs" / "logged-demo"


async def shoot_logged(out: Path, size: tuple[int, int], runs_root: Path) -> list[Path]:
    """A logged run's charts, summary and config on the Training pane (3)."""
    run = RunDir(runs_root / DEFAULT_LOGGED_RUN.name)
    app = TuidlApp(P.load("spiral"), replay=run, system_interval=None, telemetry=False, runs_root=runs_root)
    async with app.run_test(size=size) as pilot:
        until = waiter(pilot)
        await until(lambda: app.panes["training"].controls.state == "ended" and app.panes["training"].logged, "the replay")
        await pilot.press("3")
        await pilot.pause(0.3)
        app.panes["training"].redraw_now()
        app.set_focus(None)
        await pilot.pause(0.3)
        name = "logged.svg"
        app.save_screenshot(name, str(out))
    return [out / name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="run directory to replay")
    parser.add_argument("--lab-run", type=Path, default=DEFAULT_LAB_RUN,
                        help="run directory with the learning lab's events to replay")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the SVG files")
    parser.add_argument("--size", default="120x40", help="terminal size, COLUMNSxROWS")
    parser.add_argument("--only", default="panes,lab,try,sweep,logged,latent",
                        help="which shots, with commas: panes, lab, try, sweep, logged, latent")
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    try:
        cols, rows = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size: expected COLUMNSxROWS, got {args.size!r}")
    if not (args.run / "events.jsonl").is_file():
        parser.error(f"--run: {args.run} has no events.jsonl")
    os.environ.setdefault("TZ", "UTC")  # times in the system pane: the same wherever this runs
    time.tzset()
    args.out.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the Runs pane lists the recorded runs, not this machine's
        root = Path(tmp)
        for recorded in sorted((ROOT / "tests" / "fixtures" / "runs").iterdir()):
            if recorded.is_dir():  # (not the runs root's index, .tuidl-index.json, a test may leave)
                shutil.copytree(recorded, root / recorded.name)
        shots = [("panes", lambda: shoot(args.run, args.out, (cols, rows), root)),
                 ("lab", lambda: shoot_lab(args.lab_run, args.out, (cols, rows), root)),
                 ("try", lambda: shoot_try(args.out, (cols, rows), root)),
                 ("sweep", lambda: shoot_sweep(args.out, (cols, rows), root)),
                 ("logged", lambda: shoot_logged(args.out, (cols, rows), root)),
                 ("latent", lambda: shoot_latent(args.out, (cols, rows), root))]
        for name, shot in shots:
            if name in only:
                for path in asyncio.run(shot()):
                    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
