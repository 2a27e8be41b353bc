"""Write one SVG screenshot per dashboard pane into this folder.

    python screenshots/make_screenshots.py [--run tests/fixtures/runs/spiral-demo] [--size 120x40]

The dashboard replays a recorded run (so the Training pane shows real curves, the
decision boundary and the test results) and saves each pane with Textual's own
``save_screenshot``: builder.svg, dataset.svg, training.svg, system.svg, runs.svg; then
the learning lab (i) on a run that recorded every instrument (``--lab-run``):
lab-neurons.svg, lab-health.svg, lab-landscape.svg, lab-adversarial.svg.
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

from tuidl.core import preset as P  # noqa: E402
from tuidl.core.rundir import RunDir  # noqa: E402
from tuidl.ui.app import PANES, TuidlApp  # noqa: E402

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
        await until(lambda: app.training.run_state == "ended", "the replay")
        for n, (pane_id, _title, _widget) in enumerate(PANES, 1):
            await pilot.press(str(n))
            if pane_id == "dataset":  # it loads its data when first shown
                await until(lambda: dataset.result is not None and not dataset.loading, "the data")
            await pilot.pause(0.3)
            app.training.redraw_now()
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
        await waiter(pilot)(lambda: app.training.run_state == "ended" and app.session.view.neurons, "the replay")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="run directory to replay")
    parser.add_argument("--lab-run", type=Path, default=DEFAULT_LAB_RUN,
                        help="run directory with the learning lab's events to replay")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the SVG files")
    parser.add_argument("--size", default="120x40", help="terminal size, COLUMNSxROWS")
    args = parser.parse_args(argv)
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
            shutil.copytree(recorded, root / recorded.name)
        for path in asyncio.run(shoot(args.run, args.out, (cols, rows), root)):
            print(path)
        for path in asyncio.run(shoot_lab(args.lab_run, args.out, (cols, rows), root)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
