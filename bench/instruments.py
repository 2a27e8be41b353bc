"""The learning lab's live instruments: what layer health and the neuron view cost a run.

For each case the same preset is trained by tuidl's trainer with the instrument off and
on (``train.instruments.health`` / ``neurons``; a dashboard's ``watch_*`` command turns
on the same code), timed as ``throughput.py`` times tuidl (``run_started`` to the last
``epoch`` event), in A-B-B-A blocks (off, on, on, off; the next block B-A-A-B) so that
both sides see the same drift of this machine's speed. Reported: the median over blocks
of on-time / off-time - 1 (the cost, target ≤ 3 %), the instrument's own time as it
measured it (the ``seconds`` of its events, as a share of the run) and how many events
it sent.

Off, nobody watching: the trainer looks at one attribute after each step and calls
``LiveInstruments.tick`` when a step event is due or an epoch ends; the off runs time
those calls (``off_tick_share``: their share of the run).

    python bench/instruments.py [--reps 3] [--cases spiral-health,...] [--json out.json]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import CASES as THROUGHPUT, arguments, tuidl_run  # noqa: E402

from tuidl.core.preset import preset as P  # noqa: E402
from tuidl.core.train import live  # noqa: E402

CASES = {
    # name: (throughput.py's case: the preset and its workload, the instruments turned on)
    "spiral-health": ("spiral", ["health"]),
    "spiral-neurons": ("spiral", ["neurons"]),
    "spiral-both": ("spiral", ["health", "neurons"]),
    "digits-mlp-health": ("digits-mlp", ["health"]),
    "mnist1d-cnn-health": ("mnist1d-cnn", ["health"]),
}


class Spent:
    """The instruments' own time in one run: the events' ``seconds``, and (off) the
    time inside ``LiveInstruments.tick`` and ``epoch_end``."""

    def __init__(self) -> None:
        self.events: dict[str, int] = {}
        self.seconds = 0.0
        self.tick_s = 0.0

    def listener(self, ev: dict) -> None:
        if ev["type"] in ("health", "neurons"):
            self.events[ev["type"]] = self.events.get(ev["type"], 0) + 1
            self.seconds += ev.get("seconds", 0.0)

    def timed(self, method):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.tick_s += time.perf_counter() - t0
        return wrapper


def one_run(preset: P.Preset, root: Path, spent: Spent) -> float:
    tick, epoch_end = live.LiveInstruments.tick, live.LiveInstruments.epoch_end
    live.LiveInstruments.tick, live.LiveInstruments.epoch_end = spent.timed(tick), spent.timed(epoch_end)
    try:
        seconds, _, _ = tuidl_run(preset, root, [spent.listener])
    finally:
        live.LiveInstruments.tick, live.LiveInstruments.epoch_end = tick, epoch_end
    return seconds


def measure(name: str, reps: int, root: Path) -> dict:
    base, instruments = CASES[name]
    _, overrides, _ = THROUGHPUT[base]
    off = P.load(base, overrides + ["train.device='cpu'"])
    on = P.load(base, overrides + ["train.device='cpu'"] + [f"train.instruments.{i}=true" for i in instruments])
    costs, off_s, on_s, own, off_tick, events = [], [], [], [], [], {}
    for rep in range(reps):
        order = (0, 1, 1, 0) if rep % 2 == 0 else (1, 0, 0, 1)
        secs = {0: 0.0, 1: 0.0}
        for side in order:
            spent = Spent()
            t = one_run(on if side else off, root, spent)
            secs[side] += t / 2
            if side:
                own.append(spent.seconds / t)
                events = spent.events
            else:
                off_tick.append(spent.tick_s / t)
        off_s.append(secs[0])
        on_s.append(secs[1])
        costs.append(secs[1] / secs[0] - 1)
    return {"case": name, "instruments": instruments, "cost": round(statistics.median(costs), 4),
            "cost_of_medians": round(statistics.median(on_s) / statistics.median(off_s) - 1, 4),
            "own_share": round(statistics.median(own), 4), "off_tick_share": round(statistics.median(off_tick), 6),
            "events": events, "off_seconds": [round(s, 3) for s in off_s], "on_seconds": [round(s, 3) for s in on_s],
            "block_costs": [round(c, 4) for c in costs]}


def main() -> int:
    args = arguments(__doc__, CASES, 3)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            r = measure(name, args.reps, Path(tmp))
            rows.append(r)
            print(f"{name:<20} cost {r['cost']:+.1%} (of medians {r['cost_of_medians']:+.1%})  own time "
                  f"{r['own_share']:.2%}  events {r['events']}  off: tick {r['off_tick_share']:.4%}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["own_share"] <= 0.03 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
