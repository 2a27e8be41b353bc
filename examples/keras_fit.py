"""Keras 3 (torch backend) with tuidl's callback: python examples/keras_fit.py (pip install 'tuidl[keras]')."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tuidl.integrations.keras import TuidlCallback  # noqa: E402

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(256, 2)).astype("float32")
y = (x[:, 0] * x[:, 1] > 0).astype("int32")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="tanh"),
                          keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0,
          callbacks=[TuidlCallback(name="keras-fit", project="examples")])
