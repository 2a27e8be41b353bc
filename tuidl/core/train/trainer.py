"""The trainer process: ``python -m tuidl.core.train.trainer RUN_DIR [--resume] [--telemetry]``,
or ``python -m tuidl.core.train.trainer --standby`` (warm up, then read the arguments of a run
from stdin: see ``tuidl.core.run.launch.Standby``), or :func:`forked` from a warm fork server
(a sweep's trials on the CPU: ``tuidl.core.run.launch.TrialForks``).

Trains the run directory's own ``preset.toml``. Started by the dashboard (see
``tuidl.core.run.launch``) in its own session with stdin closed and stdout/stderr going to
files in the run directory, so a closing terminal or a dropped SSH link does not end
it. SIGTERM saves a checkpoint and ends the run as ``stopped``.
Started by ``torchrun`` it is one rank of a data-parallel run (``tuidl.core.system.distributed``);
only rank 0 writes the run directory.
Exit codes: 0 completed, stopped or pruned, 1 failed or diverged, 2 bad input, 3 (a rank of a
data-parallel run) lost contact with another rank.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tuidl.core.system import distributed as D
from tuidl.core.preset import preset as P
from tuidl.core.run.rundir import RunDir
from tuidl.core.preset.schema import ConfigError


def exit_code(status: str) -> int:
    return 0 if status in ("completed", "stopped", "pruned") else 1


def standby() -> int:
    """``--standby``: a trainer started ahead of its run (see ``launch.Standby``). Import
    PyTorch and the training package and build a throwaway optimizer (PyTorch loads its compiler
    stack, over a second, at the first one), then wait for one line on stdin: the run's
    arguments as a JSON list. Then stdin comes from /dev/null and the output goes to the
    run's files, as for a trainer started cold, and the run trains. End of input (the
    dashboard quit or closed the pipe) ends the process without a run."""
    from tuidl.core.train.runtime import warm_up

    warm_up()
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    argv = json.loads(line)
    to_run_files(RunDir(argv[0]))
    return main(argv)


def to_run_files(run: RunDir) -> None:
    """Input from /dev/null, output to the run's ``trainer.out`` and ``trainer.err``: as
    for a trainer started cold (``launch``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, name in ((1, "trainer.out"), (2, "trainer.err")):
        f = os.open(run.path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(f, fd)
        os.close(f)


def forked(argv: list[str], env: dict[str, str] | None = None) -> None:
    """A trainer forked from the warm fork server (``launch.TrialForks``): its own
    session, like a trainer started cold, its environment, its run's files, then ``main``.
    Its exit status is ``main``'s (``SystemExit``, which multiprocessing turns into the
    process's exit code)."""
    os.setsid()
    os.environ.update(env or {})
    to_run_files(RunDir(argv[0]))
    sys.exit(main(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--standby"]:
        return standby()
    parser = argparse.ArgumentParser(prog="python -m tuidl.core.train.trainer")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--telemetry", action="store_true")
    parser.add_argument("--allow-code", action="append", default=[], metavar="MODULE:CLASS")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    try:
        preset = P.load(run.preset_path)
        from tuidl.core.train import Trainer

        status = Trainer(preset, run, resume=args.resume, telemetry=args.telemetry, allow_code=tuple(args.allow_code)).run()
    except ConfigError as e:
        if D.main_process():  # under torchrun, rank 0 alone writes the run directory
            run.write_status(status="failed", message=str(e), ended=time.time())
        print(f"error: {e}", file=sys.stderr)
        return 2
    except D.PeerLost as e:  # a data-parallel rank whose collective failed: another rank is gone
        if D.main_process() and not D.supervised():  # nobody else will end the run
            run.write_status(status="failed", message=f"rank 0: {e}", ended=time.time())
        print(f"rank {os.environ.get('RANK', '0')} stops: {e}", file=sys.stderr)
        return D.PEER_LOST
    return exit_code(status)


if __name__ == "__main__":
    sys.exit(main())
