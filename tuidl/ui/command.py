"""A ``tuidl`` command run by the dashboard as its own process (``tuidl export-model``,
``tuidl sweep``, ``tuidl lr-find``): the heavy or long work stays out of the UI's process,
and the command's own checks and messages are the ones the user gets.

* :func:`run_tuidl`: the command, waited for (in a worker thread), its output captured;
  :func:`run_tuidl_async` the same in an async worker (the UI's event loop waits);
* :func:`problem`: what went wrong, in one line, from what the command printed;
* :func:`preset_file`: the preset as the dashboard has it (edits included), as a TOML file
  the command can read, removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from tuidl.core.preset.preset import Preset, dumps


def run_tuidl(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """``python -m tuidl ARGS``, no input, its output as text. Raises
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds (the process is ended)."""
    return subprocess.run([sys.executable, "-m", "tuidl", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


async def run_tuidl_async(args: list[str]) -> tuple[int, str, str]:
    """``python -m tuidl ARGS``, no input, awaited: ``(exit status, stdout, stderr)``."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tuidl", *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


def problem(output: str, code: int) -> str:
    """The last ``error: ...`` line of a command's output (the prefix left off), else its
    last line, else its exit status."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return (errors or lines[-1:] or [f"exit status {code}"])[-1]


@contextlib.contextmanager
def preset_file(preset: Preset, prefix: str) -> Iterator[Path]:
    """``NAME.toml`` holding ``preset`` in a temporary folder (so messages about it name
    the preset), for as long as the block runs."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        path = Path(folder) / f"{preset.name}.toml"
        path.write_text(dumps(preset))
        yield path
