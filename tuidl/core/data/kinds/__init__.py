"""The dataset kinds, one class in one file, and their registry.

A kind (:class:`~tuidl.core.data.kinds.base.DatasetKind`) holds everything tuidl knows
about a dataset a preset can name: its parameters (``data.params``), its info without
loading, its loading, its sample count before loading and what a served model's raw
inputs are. Each file here defines a kind's class and lists its instances in ``KINDS``
(one per ``data.dataset`` name):

``playground``   circle, xor, gauss, spiral, plane, multi-gauss (TensorFlow Playground)
``digits``       scikit-learn's bundled 8×8 digits
``mnist1d``      MNIST-1D, generated
``vision``       the torchvision sets: mnist, fashion-mnist, kmnist, cifar10, cifar100
``imagefolder``  image-folder: your images, one subfolder per class
``table``        csv and npz: your own table

A new kind is a new file here with its class and ``KINDS``, added to :data:`MODULES`
(or, from your own code, :func:`register`). Importing this package imports neither numpy
nor torch: a kind imports what loading needs when it loads.
"""

from __future__ import annotations

from tuidl.core.data.kinds import digits, imagefolder, mnist1d, playground, table, vision
from tuidl.core.data.kinds.base import DatasetKind

MODULES = (playground, digits, mnist1d, vision, imagefolder, table)  # the order the dataset list shows

#: every dataset a preset can name, by name
REGISTRY: dict[str, DatasetKind] = {}


def register(kind: DatasetKind) -> DatasetKind:
    """Add ``kind`` under its name (a name already taken is refused: ValueError)."""
    if kind.name in REGISTRY:
        raise ValueError(f"dataset {kind.name!r} is registered twice ({REGISTRY[kind.name]!r}, {kind!r})")
    REGISTRY[kind.name] = kind
    return kind


for _module in MODULES:
    for _kind in _module.KINDS:
        register(_kind)
