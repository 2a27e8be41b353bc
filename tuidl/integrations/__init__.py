"""Hooks for the frameworks people already train with: each writes a tuidl logged run
(``tuidl.sdk``) and obeys the dashboard's stop and pause (docs/integrations.md).

* ``tuidl.integrations.lightning.TuidlLogger``: a Lightning logger (``tuidl[lightning]``)
* ``tuidl.integrations.transformers.TuidlCallback``: a Hugging Face ``TrainerCallback`` (``tuidl[transformers]``)
* ``tuidl.integrations.keras.TuidlCallback``: a Keras 3 callback (``tuidl[keras]``)

Nothing here is imported by ``import tuidl``; each module imports its framework, and
without it ends the program with one line naming the pip command.
"""
