"""Keras 3 to tuidl: ``model.fit(..., callbacks=[TuidlCallback()])`` (``pip install 'tuidl[keras]'``).

Each batch's logs become ``run.log`` at the step (``batch/loss``, ``batch/accuracy``:
Keras's running means over the epoch), each epoch's at the same step (``loss``,
``val_loss``, ``accuracy``, ``val_accuracy``, ``epoch``: train and validation on one
chart). The fit's parameters (epochs, steps) and the optimizer's settings are the config.
A stop from the dashboard sets ``model.stop_training`` (the fit ends after the batch and
the run ends ``stopped``); a pause holds training between batches. Any backend.
"""

from __future__ import annotations

from typing import Any

from tuidl.integrations._extra import need

keras = need("keras", "keras", "tuidl.integrations.keras")

from tuidl import sdk  # noqa: E402

__all__ = ["TuidlCallback"]


class TuidlCallback(keras.callbacks.Callback):
    """A Keras callback that writes a tuidl run. ``log_batches=False``: epochs only.
    ``name``, ``project``, ``dir`` and the rest as :func:`tuidl.init`."""

    def __init__(self, name: str = "keras", project: str | None = None, dir: Any = None,
                 log_batches: bool = True, **init_kwargs: Any):
        super().__init__()
        self.name, self.project, self.dir, self.init_kwargs = name, project, dir, init_kwargs
        self.log_batches = log_batches
        self.run: sdk.Run | None = None
        self.step = 0

    def on_train_begin(self, logs=None):
        config = dict(self.params or {})
        try:
            config["optimizer"] = self.model.optimizer.get_config()
        except Exception:  # noqa: BLE001 - not compiled with an optimizer keras can describe
            pass
        self.run = sdk.init(project=self.project, name=self.name, config=sdk._jsonable(config),  # noqa: SLF001
                            dir=self.dir, **self.init_kwargs)
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.run is not None:
            self.run.wait_if_paused()

    def on_train_batch_end(self, batch, logs=None):
        run = self.run
        if run is None:
            return
        if self.log_batches and logs:
            run.log({f"batch/{k}": v for k, v in logs.items()}, step=self.step)
        self.step += 1
        if run.should_stop:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.run is not None:
            self.run.log({**(logs or {}), "epoch": epoch + 1}, step=max(self.step - 1, 0))

    def on_train_end(self, logs=None):
        if self.run is not None:
            self.run.finish()
