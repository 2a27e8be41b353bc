"""A run's model outside training: export it (``tuidl export-model``: safetensors, ONNX or
TorchScript, with the run's preset and a card) and run it on new inputs (``tuidl
predict``), with the run's own normalisation. See docs/export.md.

* :mod:`.runmodel`: a run's checkpoint in its model, on the data set-up of its run (the
  normalisation fitted on its training split, its test samples);
* :mod:`.export`: the three formats, each reloaded and checked against PyTorch, and the card;
* :mod:`.inputs`: new inputs read from ``.npz`` / ``.npy``, CSV, image files or a folder of them;
* :mod:`.predict`: predictions as a table or CSV;
* :mod:`.touch`: one input at a time from a drawing or a point (the dashboard's "try the model").
"""
