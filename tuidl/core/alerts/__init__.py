"""Alerts (docs/alerts.md): rules read from a run's events through its :class:`RunView`
(:mod:`.rules`, :mod:`.watch`), watched over every run directory of one or more runs roots
(:class:`.watch.AlertMonitor`), and delivered by webhooks (:mod:`.webhooks`) and by
terminal escape sequences (:mod:`.terminal`: bell, title, OSC 9 / OSC 777). No UI code:
the dashboard writes what :mod:`.terminal` makes."""
