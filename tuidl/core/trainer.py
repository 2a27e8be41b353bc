"""The trainer process: ``python -m tuidl.core.trainer RUN_DIR [--resume] [--telemetry]``.

Trains the run directory's own ``preset.toml``. Started by the dashboard (see
``tuidl.core.launch``) in its own session with stdin closed and stdout/stderr going to
files in the run directory, so a closing terminal or a dropped SSH link does not end
it. SIGTERM saves a checkpoint and ends the run as ``stopped``.
Exit codes: 0 completed or stopped, 1 failed or diverged, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import preset as P
from .rundir import RunDir
from .schema import ConfigError


def exit_code(status: str) -> int:
    return 0 if status in ("completed", "stopped") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuidl.core.trainer")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--telemetry", action="store_true")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    try:
        preset = P.load(run.preset_path)
        from .engine import Trainer

        status = Trainer(preset, run, resume=args.resume, telemetry=args.telemetry).run()
    except ConfigError as e:
        run.write_status(status="failed", message=str(e), ended=time.time())
        print(f"error: {e}", file=sys.stderr)
        return 2
    return exit_code(status)


if __name__ == "__main__":
    sys.exit(main())
