"""Hugging Face to tuidl: ``Trainer(..., callbacks=[TuidlCallback()])``
(``pip install 'tuidl[transformers]'``; add ``report_to="none"`` to turn the others off).

``on_log`` becomes ``run.log`` at ``state.global_step``: ``loss`` → ``train/loss``,
``eval_loss`` → ``val/loss`` (the dashboard draws them on one chart), the rest under
``train/`` (``train/learning_rate``, ``train/grad_norm``) or ``val/``; the end-of-training
figures (``train_runtime``, ...) go into the run's summary. The training arguments (and
the model's config, under ``model``) are the run's config. A stop from the dashboard sets
``control.should_training_stop`` (the run ends ``stopped``); a pause holds training
between steps. Only the main process writes.
"""

from __future__ import annotations

from typing import Any

from tuidl.integrations._extra import need

need("transformers", "transformers", "tuidl.integrations.transformers")

from transformers import TrainerCallback  # noqa: E402

from tuidl import sdk  # noqa: E402

__all__ = ["TuidlCallback"]

SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss")


def metric_name(key: str) -> str:
    if key.startswith("eval_"):
        return "val/" + key[5:]
    if key.startswith("test_"):
        return "test/" + key[5:]
    return "train/" + key if key != "epoch" else key


class TuidlCallback(TrainerCallback):
    """A ``TrainerCallback`` that writes a tuidl run; ``name``, ``project``, ``dir`` and
    the rest as :func:`tuidl.init`."""

    def __init__(self, name: str = "transformers", project: str | None = None, dir: Any = None, **init_kwargs: Any):
        self.name, self.project, self.dir, self.init_kwargs = name, project, dir, init_kwargs
        self.run: sdk.Run | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        config = {k: v for k, v in args.to_sanitized_dict().items()}
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_diff_dict"):
            config["model"] = model_config.to_diff_dict()
        self.run = sdk.init(project=self.project, name=self.name, config=sdk._jsonable(config),  # noqa: SLF001
                            dir=self.dir, **self.init_kwargs)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.run is not None:
            self.run.wait_if_paused()

    def on_step_end(self, args, state, control, **kwargs):
        if self.run is not None and self.run.should_stop:
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.run is None or not logs:
            return
        values = {}
        for key, value in logs.items():
            if key in SUMMARY_KEYS and "train_runtime" in logs:
                self.run.summary[key] = value
            elif isinstance(value, (int, float)):
                values[metric_name(key)] = value
        if values:
            self.run.log(values, step=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if self.run is not None:
            self.run.finish()
