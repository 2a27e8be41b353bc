"""Importing this module warms the process up for training (``runtime.warm_up``: PyTorch,
tuidl's data and model modules, PyTorch's compiler stack). The trial fork server
(``tuidl.core.run.launch.TrialForks``) preloads it once; every trial forked from it starts
warm. Its warm-up is a few numbers on the CPU: no CUDA, and no thread pool that a fork
would break."""

from tuidl.core.train.runtime import warm_up

warm_up()
