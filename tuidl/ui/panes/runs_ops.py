"""What the Runs pane does with one run, each with its key: tags and note (``t``), re-run (``r``),
resume (``u``), export (``e``), export the model (``m``) and delete (``d``; on a queued entry: out
of the queue), with their dialogs.

The file work (export, model export, delete) runs in thread workers; what concerns the app's run
(re-run, resume) is posted to the app as the pane's messages.
"""

from __future__ import annotations

import json
import subprocess

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run.rundir import RunDir, check_tag, tags_of
from tuidl.core.run.runlist import RESUMABLE, RunRow, delete_run, run_row
from tuidl.core.serve.formats import FORMATS, ONNX_INSTALL, missing_onnx
from tuidl.core.sweep.queue import Entry
from tuidl.ui.command import problem, run_tuidl
from tuidl.ui.screens.confirm import Choice, ConfirmationModal

EXPORT_TIMEOUT_S = 600.0  # a model export (a process of its own) that takes longer is ended
FORMAT_LABELS = {"safetensors": ("safetensors [s]", "s", "weights only: rebuild the model from preset.toml"),
                 "onnx": ("ONNX [o]", "o", "for onnxruntime and other runtimes; dynamic batch"),
                 "torchscript": ("TorchScript [t]", "t", "model.pt, loads with torch.jit.load, no tuidl needed")}


class ConfirmDeleteScreen(ConfirmationModal):
    """Delete a run for good? Returns True to delete."""

    BINDINGS = [
        Binding("escape,n", "choose(1)", "Cancel"),
        Binding("y", "choose(0)", "Delete"),
    ]

    def __init__(self, row: RunRow) -> None:
        super().__init__("Delete this run?", Text.assemble(
            ("Run ", ""), (row.id, "bold"), (f" ({row.preset}, {row.status}, {row.epochs_text} epochs) "
                                             "and everything in its directory (events, checkpoints, "
                                             "reports) are removed for good.", "")),
            [Choice(Text("Delete [y]"), True, "delete-yes", "error"), Choice(Text("Cancel [n]"), False, "delete-no")],
            focus=1, box_id="delete-box")
        self.row = row


class TagsScreen(ModalScreen["tuple[list[str], str] | None"]):
    """A run's tags (words, spaces between) and note. Returns (tags, note), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    TagsScreen {
        align: center middle;
    }
    TagsScreen #tags-box {
        width: 70;
        max-width: 100%;
        height: auto;
    }
    TagsScreen Input {
        margin: 0 0 1 0;
    }
    TagsScreen #tags-error {
        color: $error;
        height: auto;
    }
    """

    def __init__(self, row: RunRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        st = self.row.status_data
        with Vertical(id="tags-box", classes="dialog"):
            yield Label(f"Tags and note of {self.row.id}", classes="dialog-title")
            yield Label("Tags (words, spaces between):")
            yield Input(" ".join(tags_of(st)), id="tags-tags", compact=True)
            yield Label("Note:")
            yield Input(str(st.get("note") or ""), id="tags-note", compact=True)
            yield Static("", id="tags-error")
            yield Static(Text("enter saves · tab moves · esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#tags-tags", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        tags = self.query_one("#tags-tags", Input).value.split()
        tags = [t[1:] if t.startswith("#") else t for t in tags]
        try:
            for t in tags:
                check_tag(t)
        except ConfigError as e:
            self.query_one("#tags-error", Static).update(str(e))
            return
        self.dismiss((list(dict.fromkeys(tags)), self.query_one("#tags-note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ModelFormatScreen(ModalScreen["str | None"]):
    """Which format to export a run's model in? Returns the format, or None."""

    BINDINGS = [Binding("escape,n", "choose(None)", "Cancel")] + [
        Binding(key, f"choose('{fmt}')", label.split(" [")[0]) for fmt, (label, key, _) in FORMAT_LABELS.items()]

    DEFAULT_CSS = """
    ModelFormatScreen {
        align: center middle;
    }
    """

    def __init__(self, row: RunRow) -> None:
        super().__init__()
        self.row = row
        self.missing = missing_onnx()

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="model-format-box", classes="dialog"):
            yield Label("Export the model", classes="dialog-title")
            lines = [f"Run {row.id} ({row.preset}): its best checkpoint (else the last) goes into "
                     f"{row.run.path / 'export'}, with preset.toml and a card.", ""]
            for fmt, (label, _key, what) in FORMAT_LABELS.items():
                lines.append(f"{label.split(' [')[0]}: {what}")
            if self.missing:
                lines.append(f"ONNX needs {', '.join(self.missing)}: {ONNX_INSTALL}")
            yield Static("\n".join(lines), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                for fmt, (label, _key, _what) in FORMAT_LABELS.items():
                    yield Button(Text(label), id=f"format-{fmt}", variant="primary" if fmt == "safetensors" else
                                 "default", disabled=fmt == "onnx" and bool(self.missing))
                yield Button(Text("Cancel [esc]"), id="format-cancel")

    def on_mount(self) -> None:
        self.query_one("#format-safetensors", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        fmt = (event.button.id or "").removeprefix("format-")
        self.dismiss(fmt if fmt in FORMATS else None)

    def action_choose(self, fmt: str | None) -> None:
        if fmt == "onnx" and self.missing:
            self.notify(f"ONNX needs {', '.join(self.missing)}: {ONNX_INSTALL}", severity="warning", timeout=6)
            return
        self.dismiss(fmt)


def export_model_process(run: RunDir, fmt: str) -> tuple[int, str, str]:
    """``tuidl export-model RUN --format FMT --json`` as its own process: ``(exit status,
    stdout, stderr)``."""
    try:
        done = run_tuidl(["export-model", str(run.path), "--format", fmt, "--json"], EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 1, "", f"error: the export took more than {EXPORT_TIMEOUT_S:.0f} s and was ended"
    return done.returncode, done.stdout, done.stderr


def export_model_result(code: int, stdout: str, stderr: str) -> tuple[bool, str]:
    """``(ok, message)`` for the notification, from what ``tuidl export-model --json`` said."""
    if code == 0:
        try:
            result = json.loads(stdout.strip().splitlines()[-1])
            return True, (f"{result['path']} ({result['bytes']:,} bytes)\nchecked with {result['runtime']} on "
                          f"{result['samples']} samples: max abs difference {result['max_abs_diff']:.3g} "
                          f"against PyTorch")
        except (ValueError, IndexError, KeyError, TypeError):
            pass
    return False, problem(stderr or stdout, code)


class RunOperations:
    """The Runs pane's operations on the run under the cursor (a part of the pane, kept here
    so the pane's own class stays small). The pane gives ``_need_row()``, ``selected_entry()``,
    ``refresh_runs()``, ``marked``, ``root`` and the ``RerunRun`` and ``ResumeRun`` messages."""

    def action_tags(self) -> None:
        row = self._need_row("tags")
        if row is not None:
            self.app.push_screen(TagsScreen(row), lambda result: self._save_tags(row, result))

    def _save_tags(self, row: RunRow, result: "tuple[list[str], str] | None") -> None:
        if result is None:
            return
        tags, note = result
        old = tags_of(row.status_data)
        try:
            row.run.tag([t for t in tags if t not in old], [t for t in old if t not in tags])
            if note != str(row.status_data.get("note") or ""):
                row.run.set_note(note)
        except (ConfigError, OSError) as e:
            self.notify(f"tags of {row.id}: {e}", severity="error")
            return
        self.refresh_runs()

    def action_rerun(self) -> None:
        row = self._need_row("re-run")
        if row is not None:
            self.post_message(self.RerunRun(row.run))

    def action_resume(self) -> None:
        row = self._need_row("resume")
        if row is None:
            return
        row = run_row(row.run)  # the status now, not at the last scan
        if row.live:
            self.notify(f"{row.id} is still {row.status}: enter attaches to it", severity="warning")
        elif row.logged is not None:
            self.notify(f"{row.id} is a logged run (tuidl.init / tuidl run): nothing of tuidl's to resume; "
                        "r runs its command or script again", severity="warning")
        elif row.status == "completed":
            self.notify(f"{row.id} already completed; r runs its preset again", severity="warning")
        elif row.status not in RESUMABLE:
            self.notify(f"{row.id} is {row.status}: nothing to resume", severity="warning")
        elif not row.has_checkpoint:
            self.notify(f"{row.id} has no checkpoint to resume from", severity="error")
        else:
            self.post_message(self.ResumeRun(row.run))

    def action_export(self) -> None:
        row = self._need_row("export")
        if row is None:
            return
        run = row.run

        def work() -> None:
            from tuidl.core.run import report

            try:
                done = report.export(run)
            except Exception as e:  # noqa: BLE001 - whatever it is, the user hears of it
                self.app.call_from_thread(self.notify, f"could not export {run.id}: {type(e).__name__}: {e}",
                                          title="Export failed", severity="error", timeout=8)
                return
            self.app.call_from_thread(self.notify, done.message(), title=f"Exported {run.id}",
                                      severity="warning" if done.problems else "information", timeout=10)

        self.run_worker(work, name=f"export {run.id}", group="runs-export", thread=True, exit_on_error=False)

    def action_export_model(self) -> None:
        row = self._need_row("export model")
        if row is None:
            return
        if not (row.run.checkpoint("best").is_file() or row.run.checkpoint("last").is_file()):
            self.notify(f"{row.id} has no checkpoint yet: nothing to export", title="No model", severity="warning",
                        timeout=5)
            return
        self.app.push_screen(ModelFormatScreen(row), lambda fmt: self._export_model(row, fmt))

    def _export_model(self, row: RunRow, fmt: str | None) -> None:
        if not fmt:
            return
        run = row.run
        self.notify(f"exporting the model of {run.id} as {fmt}…", timeout=3)

        def work() -> None:
            ok, message = export_model_result(*export_model_process(run, fmt))
            self.app.call_from_thread(self.notify, message, title=f"Model of {run.id}" if ok else "Model export failed",
                                      severity="information" if ok else "error", timeout=12)

        self.run_worker(work, name=f"export model {run.id}", group="runs-model", thread=True, exit_on_error=False)

    def action_delete(self) -> None:
        entry = self.selected_entry()
        if entry is not None:  # a waiting entry: out of the queue (nothing of it exists yet)
            self._cancel(entry)
            return
        row = self._need_row("delete")
        if row is None:
            return
        row = run_row(row.run)
        if row.live:
            self.notify(f"{row.id} is still {row.status}: stop it before deleting it", title="Not deleted",
                        severity="error", timeout=6)
            return
        if row.host:
            self.notify(f"{row.id} is a run of {row.host}: delete it there (this is its copy)", title="Not deleted",
                        severity="warning", timeout=6)
            return
        self.app.push_screen(ConfirmDeleteScreen(row), lambda yes: self._delete(row, bool(yes)))

    def _cancel(self, entry: Entry) -> None:
        from tuidl.core.preset.schema import ConfigError
        from tuidl.core.sweep.queue import Queue

        try:
            Queue(self.root).cancel(entry.id)
        except (ConfigError, OSError) as e:
            self.notify(str(e), title="Not taken out of the queue", severity="error", timeout=6)
        else:
            self.notify(f"{entry.id} ({entry.name}) taken out of the queue", timeout=3)
        self.refresh_runs()

    def _delete(self, row: RunRow, yes: bool) -> None:
        if not yes:
            return
        run = row.run

        def work() -> None:
            try:
                delete_run(run)
            except (RuntimeError, OSError) as e:
                self.app.call_from_thread(self.notify, str(e), title="Not deleted", severity="error", timeout=6)
                return
            self.app.call_from_thread(self._deleted, run)

        self.run_worker(work, name=f"delete {run.id}", group="runs-delete", thread=True, exit_on_error=False)

    def _deleted(self, run: RunDir) -> None:
        self.marked.discard(run.id)
        self.notify(f"deleted {run.id}", timeout=3)
        self.refresh_runs()
