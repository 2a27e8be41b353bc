"""The learning lab's analyses (docs/instruments.md): what a network does, measured.

``lrfind``       the learning-rate range test (``tuidl lr-find PRESET``): a fresh model
                 trained while the learning rate grows; tuidl's and Lightning's suggestions
``landscape``    the loss around the weights along two filter-normalised random
                 directions (``landscape`` events, ``tuidl landscape RUN``)
``adversarial``  test accuracy under FGSM and PGD attacks of growing size ε
                 (``adversarial`` events, ``tuidl adversarial RUN``)
``prepare``      a preset's model and data built by the Trainer's own set-up, without a
                 run and without touching the global random state; a run's checkpoint
``live``         what the Trainer calls: the control folder's requests, the end of a run
``runs``         an ended run's checkpoint analysed; results kept as ``RUN/lab/<name>.json``
``text``         the results as text for the command line and reports (plotext)

Nothing here imports a UI library.
"""
