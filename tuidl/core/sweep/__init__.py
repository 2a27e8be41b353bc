"""Sweeps: many ordinary runs of one preset with some keys varied, on Optuna.

* :mod:`.spec`: what to vary (``--grid``, ``--search``, the preset's ``[sweep]`` table),
  parsed and checked against the preset; no Optuna, no torch (the grids and ranges
  themselves are parsed by ``tuidl.core.preset.sweeptable``, which the preset uses too).
* :mod:`.sweepdir`: a sweep's folder (``RUNS/sweeps/ID/``) and what it holds.
* :mod:`.study`: the Optuna side (storage, sampler, pruner, the ranked summary and the
  parameter importances a dashboard reads: :func:`.study.sweep_summary`).
* :mod:`.driver`: the loop that asks Optuna for trials, starts each as an ordinary run
  (``tuidl.core.run.launch``), reports its per-epoch metric and prunes it.
* :mod:`.queue`: runs and sweeps waiting for a free GPU or CPU slot.

docs/sweeps.md describes all of it. Importing this package imports neither Optuna nor torch.
"""
