"""The Runs pane's filter (``/``): a field above the list takes an expression (``lr>=0.001
status:completed tag:baseline``, :mod:`tuidl.core.run.runfilter`); the list shows the runs that
match as you type, a bad expression is named in the hint line; ``enter`` goes back to the list with
the filter kept, ``escape`` clears it."""

from __future__ import annotations

from rich.text import Text

from tuidl.core.run.runfilter import Filter, FilterError, parse
from tuidl.core.run.runlist import RunRow

FILTER_GROUP = "runs-filter"  # a new filter applied to the listing, in a thread
FILTER_HINT = "filter: lr>=0.001 status:completed tag:baseline (esc clears)"


class FilterActions:
    """The Runs pane's filter (a part of the pane, kept here so the pane's own class stays
    small). The pane gives ``filter``, ``filter_input``, ``table``, ``hint``, ``all_rows``,
    ``show_rows()`` and the last listing's ``_error`` and ``_queued_list``; its field's
    ``Input.Changed`` and ``Input.Submitted`` handlers call :meth:`set_filter`."""

    filter_error = ""  # what is wrong with the expression in the field: the hint line says it until it is fixed

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.filter_input.focus()

    def on_key(self, event) -> None:
        if event.key == "escape" and (self.filter or self.has_class("-filtering")):
            event.stop()
            event.prevent_default()
            self.filter_input.value = ""
            self.set_filter("")
            self.remove_class("-filtering")
            self.table.focus()

    def set_filter(self, text: str) -> bool:
        """Show only the runs that match ``text`` (applied off the UI thread); a bad
        expression is named in the hint line and the list stays as it was. True if taken."""
        try:
            found = parse(text)
        except FilterError as e:
            self.filter_error = f"{e} (the list shows the last good filter)"
            self.hint.update(Text(self.filter_error, style="bold red", no_wrap=True, overflow="ellipsis"))
            return False
        if self.filter_error:
            self.filter_error = ""
            self._show_hint()
        if found.terms == self.filter.terms:
            return True
        self.filter = found
        if not found:
            self.show_rows(self.all_rows, self._error, self._queued_list, count=False)
            return True
        rows = self.all_rows
        self.run_worker(lambda: (found, found.apply(rows)), name="filter runs", group=FILTER_GROUP,
                        thread=True, exclusive=True, exit_on_error=False)
        return True

    def _filtered(self, found: Filter, matched: list[RunRow]) -> None:
        if found is self.filter:
            self.show_rows(self.all_rows, self._error, self._queued_list, matched=matched, count=False)
