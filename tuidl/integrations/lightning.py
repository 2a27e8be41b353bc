"""Lightning to tuidl: ``Trainer(logger=TuidlLogger())`` (``pip install 'tuidl[lightning]'``).

``TuidlLogger`` is a real ``lightning.pytorch.loggers.Logger``: ``log_metrics`` becomes
``run.log`` at the trainer's global step, ``log_hyperparams`` the run's config,
``finalize`` ends the run (``completed``; ``stopped`` after a stop from the dashboard;
``failed`` with the exception's line). Only rank zero writes.

Stop, pause and checkpoint-now from the dashboard (or ``tuidl stop|pause|checkpoint RUN``)
reach the trainer through :class:`TuidlControl`, a small callback the logger adds to the
trainer itself when the fit starts (Lightning hands each logger the module in
``log_graph``; the module knows its trainer). A stop sets ``trainer.should_stop`` (the fit
ends after the current batch), a pause holds training between steps, a checkpoint writes
``trainer.save_checkpoint`` into the run's ``checkpoints/``. Passing
``callbacks=[logger.control]`` yourself does the same.
"""

from __future__ import annotations

from argparse import Namespace
from typing import Any, Mapping

from tuidl.integrations._extra import need

need("lightning.pytorch", "lightning", "tuidl.integrations.lightning")

from lightning.fabric.utilities.logger import _convert_params, _flatten_dict, _sanitize_callable_params  # noqa: E402
from lightning.pytorch.callbacks import Callback  # noqa: E402
from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment  # noqa: E402
from lightning.pytorch.utilities import rank_zero_only  # noqa: E402

from tuidl import sdk  # noqa: E402

__all__ = ["TuidlLogger", "TuidlControl"]


class TuidlControl(Callback):
    """The dashboard's stop / pause / checkpoint-now for a Lightning fit (rank zero decides;
    with several processes the stop is broadcast from rank zero)."""

    def __init__(self, logger: "TuidlLogger"):
        self.logger = logger

    def _run(self, trainer: Any) -> sdk.Run | None:
        return self.logger.experiment if trainer.is_global_zero else None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        run = self._run(trainer)
        if run is not None and run.on_checkpoint is None and run.dir is not None:
            path = run.dir / "checkpoints" / "asked.ckpt"
            run.on_checkpoint = lambda: trainer.save_checkpoint(path)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        run = self._run(trainer)
        if run is not None:
            run.wait_if_paused()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        run = self._run(trainer)
        stop = bool(run is not None and run.should_stop)
        if trainer.world_size > 1:
            stop = trainer.strategy.broadcast(stop, src=0)
        if stop:
            trainer.should_stop = True

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        run = self._run(trainer)
        if run is not None:
            run._ended_by(type(exception), exception)  # noqa: SLF001 - the sdk's one mapping of an exception to a status


class TuidlLogger(Logger):
    """A Lightning logger that writes a tuidl run. ``name``: the run's name (default
    ``"lightning"``); ``project``, ``dir`` (the runs root), ``config`` and the rest as
    :func:`tuidl.init`."""

    def __init__(self, name: str = "lightning", project: str | None = None, dir: Any = None,
                 config: Mapping | None = None, **init_kwargs: Any):
        super().__init__()
        self._name = name
        self._project = project
        self._dir = dir
        self._config = dict(config or {})
        self._init_kwargs = init_kwargs
        self._run: sdk.Run | None = None
        self.control = TuidlControl(self)

    # -- what Lightning asks of a logger ------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str | None:
        """The run's id (``None`` on ranks other than zero, where nothing is written)."""
        if rank_zero_only.rank != 0:
            return None
        return self._run.id if self._run is not None else self.experiment.id

    @property
    def save_dir(self) -> str | None:
        return None  # checkpoints stay where the trainer puts them (default_root_dir)

    @property
    @rank_zero_experiment
    def experiment(self) -> sdk.Run:
        """The :class:`tuidl.sdk.Run` (made on first use; a fit after a finished one, or a
        ``trainer.test`` after ``fit``, writes a new run)."""
        if self._run is None or self._run.finished:
            self._run = sdk.init(project=self._project, name=self._name, config=self._config, dir=self._dir,
                                 **self._init_kwargs)
        return self._run

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.experiment.log(metrics, step=step)

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        params = _sanitize_callable_params(_flatten_dict(_convert_params(params)))
        self.experiment.config.update(sdk._jsonable(params))  # noqa: SLF001 - the sdk's own JSON cleaning

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Lightning calls this on every logger as a fit starts: the moment to add
        :class:`TuidlControl` to the module's trainer (once)."""
        trainer = getattr(model, "_trainer", None)
        if trainer is not None and not any(isinstance(cb, TuidlControl) and cb.logger is self
                                           for cb in trainer.callbacks):
            trainer.callbacks.append(self.control)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """``success``: the run ends ``completed`` (``stopped`` after a stop);
        ``failed``: ``failed`` (the exception's line, from the control callback)."""
        if self._run is None or self._run.finished:
            return
        if status == "failed" and self._run._failure is None:  # noqa: SLF001
            self._run._failure = ("failed", "Lightning reported the fit failed")  # noqa: SLF001
        self._run.finish()
