"""The Optuna side of a sweep: its storage, sampler and pruner, and what a study says
(:func:`sweep_summary`, the ranked trials, the best one, the parameter importances).

* **Storage**: SQLite inside the runs folder by default (``RUNS/sweeps/ID/study.db``,
  Optuna's ``RDBStorage``), or any database URL Optuna takes (``--storage``): workers on
  several machines that name the same study share it, Optuna's own way of scaling out.
  Trials carry a heartbeat: a worker that dies (SIGKILL, a machine gone) leaves its trial
  ``RUNNING`` only until another worker calls :func:`fail_stale` (every worker does, before
  each new trial), which marks it ``FAIL``.
* **Sampler**: a grid runs each combination once: the combinations are queued in the
  study as waiting trials (``Study.enqueue_trial``), which Optuna hands to one worker each
  (Optuna's ``GridSampler`` stops the study from inside ``Study.optimize``, which this
  ask/tell loop does not use). A search picks its trials with TPE (``TPESampler``, seeded
  with the preset's seed).
* **Pruner**: a search's trials report their metric at each epoch's end and the median
  pruner (``MedianPruner``) stops those worse than the median of the trials before at the
  same epoch. A grid does not prune.

Optuna's own log lines are silenced (:func:`quiet`): the sweep prints what the user needs.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidl.core.sweep.spec import SweepSpec
from tuidl.core.sweep.sweepdir import SweepDir

#: seconds between a running trial's heartbeats; a trial whose worker missed them for
#: twice as long is failed by the next worker that looks (TUIDL_SWEEP_HEARTBEAT: the tests)
HEARTBEAT_S = 10


def heartbeat_s() -> int:
    try:
        return max(1, int(os.environ.get("TUIDL_SWEEP_HEARTBEAT", HEARTBEAT_S)))
    except ValueError:
        return HEARTBEAT_S


def quiet() -> None:
    """Optuna's info lines ("Trial 3 finished with value ...") and its experimental
    warnings (the heartbeat) off: the sweep prints its own lines."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_propagation()
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # the heartbeat is kept by the driver itself (ask/tell, not Study.optimize)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def storage(url: str):
    import optuna

    quiet()
    beat = heartbeat_s()
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:"):  # several local workers write one file: wait for the lock, don't fail
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    return optuna.storages.RDBStorage(url, heartbeat_interval=beat, grace_period=2 * beat, **kwargs)


def sampler(spec: SweepSpec, seed: int):
    import optuna

    if spec.mode == "grid":  # the grid's trials are queued in the study (enqueue_trial): the sampler is not asked
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.startup_trials)


def pruner(spec: SweepSpec):
    import optuna

    if spec.mode == "grid" or not spec.prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs)


def open_study(spec: SweepSpec, url: str, name: str, seed: int):
    """The study (made if new; several workers open the same one)."""
    import optuna

    study = optuna.create_study(study_name=name, storage=storage(url), sampler=sampler(spec, seed),
                                pruner=pruner(spec), direction=spec.direction, load_if_exists=True)
    if spec.mode == "grid" and len(study.get_trials(deepcopy=False)) < spec.size:
        # each combination once, as a waiting trial: every worker's ask() takes the next one
        # (Optuna hands a waiting trial to one worker only); a combination already in the
        # study, in any state, is not queued again
        for params in spec.grid():
            study.enqueue_trial(params, skip_if_exists=True)
    return study


def distributions(spec: SweepSpec) -> dict:
    """A search's ranges as Optuna distributions, by key path."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for p in spec.params:
        if p.kind == "log":
            out[p.key] = FloatDistribution(p.low, p.high, log=True)
        elif p.kind == "float":
            out[p.key] = FloatDistribution(p.low, p.high)
        elif p.kind == "int":
            out[p.key] = IntDistribution(p.low, p.high)
        else:
            out[p.key] = CategoricalDistribution(list(p.values))
    return out


def ask(study, spec: SweepSpec):
    """A new trial and its parameters ({key path: value})."""
    if spec.mode == "grid":
        trial = study.ask()
        return trial, {p.key: trial.suggest_categorical(p.key, list(p.values)) for p in spec.params}
    trial = study.ask(fixed_distributions=distributions(spec))
    return trial, dict(trial.params)


def fail_stale(study) -> None:
    """Mark ``FAIL`` the trials whose worker stopped beating (killed, machine gone)."""
    from optuna.storages import fail_stale_trials

    fail_stale_trials(study)


def trial_state(name: str):
    """Optuna's TrialState by name (COMPLETE, PRUNED, FAIL)."""
    import optuna

    return optuna.trial.TrialState[name]


def beat(study, trial) -> None:
    study._storage.record_heartbeat(trial._trial_id)


# -- what a study says ---------------------------------------------------------------


@dataclass
class TrialRow:
    """One trial as the summary ranks it."""

    number: int
    state: str  # Optuna's: COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    params: dict
    value: float | None  # the trial's metric: its best epoch (a pruned one: its last report)
    epochs: int  # epochs reported
    run_id: str | None
    run_status: str | None  # the run's own status (completed, pruned, stopped, ...), when its folder is here
    host: str | None = None

    def to_json(self) -> dict:
        return {"number": self.number, "state": self.state, "params": self.params, "value": self.value,
                "epochs": self.epochs, "run_id": self.run_id, "run_status": self.run_status, "host": self.host}


@dataclass
class SweepView:
    """A sweep as the CLI's table and a dashboard show it."""

    id: str
    metric: str
    direction: str
    trials: list[TrialRow]  # ranked: best first; complete, then pruned, then the rest
    best: TrialRow | None
    importances: dict[str, float] | None  # Optuna's parameter importances; None with too few trials
    planned: int  # trials in all (a grid's size, a search's --trials)
    counts: dict[str, int] = field(default_factory=dict)  # by state
    live: bool = False  # a worker of this machine runs it now

    def to_json(self) -> dict:
        return {"id": self.id, "metric": self.metric, "direction": self.direction, "planned": self.planned,
                "counts": self.counts, "live": self.live, "best": self.best.to_json() if self.best else None,
                "importances": self.importances, "trials": [t.to_json() for t in self.trials]}


def _value(trial) -> float | None:
    if trial.value is not None:
        return float(trial.value)
    if trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def rank(rows: list[TrialRow], direction: str) -> list[TrialRow]:
    sign = 1.0 if direction == "minimize" else -1.0
    order = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "WAITING": 3, "FAIL": 4}

    def key(r: TrialRow):
        v = r.value if r.value is not None and math.isfinite(r.value) else None
        return (order.get(r.state, 5), v is None, sign * v if v is not None else 0.0, r.number)

    return sorted(rows, key=key)


def importances(study) -> dict[str, float] | None:
    """Optuna's parameter importances (they add up to 1), or None with fewer than two
    complete trials (or a study Optuna cannot rank)."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {k: round(float(v), 4) for k, v in optuna.importance.get_param_importances(study).items()}
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None


def view(study, spec: SweepSpec, sweep_id: str, runs_root: Path | None = None, live: bool = False,
         with_importances: bool = True) -> SweepView:
    from tuidl.core.run import rundir as R

    rows = []
    for t in study.get_trials(deepcopy=False):
        run_id = t.user_attrs.get("run_id")
        run_status = None
        if run_id and runs_root is not None and (Path(runs_root) / run_id).is_dir():
            run_status = R.RunDir(Path(runs_root) / run_id).status().get("status")
        rows.append(TrialRow(t.number, t.state.name, dict(t.params), _value(t), len(t.intermediate_values),
                             run_id, run_status, t.user_attrs.get("host")))
    ranked = rank(rows, spec.direction)
    best = ranked[0] if ranked and ranked[0].state == "COMPLETE" and ranked[0].value is not None else None
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return SweepView(sweep_id, spec.metric, spec.direction, ranked, best,
                     importances(study) if with_importances else None, spec.size, counts, live)


def sweep_summary(runs_root, sweep_id: str) -> SweepView:
    """The state of sweep ``sweep_id`` of a runs root (RUNS/sweeps/ID): its trials ranked
    by metric with their parameters, status and run id, the best trial and the parameter
    importances. Raises ConfigError for a sweep that is not there. Reads the study; writes
    nothing."""
    sweep = SweepDir.open(runs_root, sweep_id)
    quiet()
    import optuna

    study = optuna.load_study(study_name=sweep.study_name, storage=storage(sweep.storage_url))
    return view(study, sweep.spec, sweep.id, sweep.runs_root, live=sweep.live())
