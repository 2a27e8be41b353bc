"""The ``tuidl`` command. Thin: parsing, messages and exit codes; the work is in core.

Exit codes: 0 success, 1 training failed (or diverged), 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError

EXAMPLES = """\
examples:
  tuidl                                   open the dashboard on the default preset (spiral)
  tuidl digits-cnn                        open the dashboard on a preset (name or .toml path)
  tuidl presets                           list the built-in presets
  tuidl train spiral                      train headless, Keras-style progress
  tuidl train digits-cnn --set train.epochs=3 --set train.optimizer.lr=0.01
  tuidl train my.toml --device cuda --precision bf16
  tuidl train --resume RUN                continue a stopped or interrupted run
  tuidl train digits-cnn --gpus 4         data-parallel on 4 GPUs (--nproc 2: 2 processes, CPU or GPU)
  tuidl show digits-cnn                   the fully resolved preset as TOML
  tuidl summary digits-cnn                the model summary, without training
  tuidl runs                              the runs so far
  tuidl runs --filter 'lr>=1e-3 status:completed tag:baseline' --group preset --sort best
  tuidl tag RUN +baseline -old            tag runs; tuidl note RUN "..." keeps a note with one
  tuidl diff RUN RUN...                   the config keys that differ, side by side, and the summaries
  tuidl sweep xor --grid train.optimizer.lr=1e-3,1e-2 --grid model.layers.0.units=8,16
  tuidl sweep xor --search train.optimizer.lr=log:1e-4:1e-1 --trials 30 --parallel 2
  tuidl sweep --show SWEEP | --stop SWEEP  a sweep's ranked trials; stop a sweep (its trials checkpoint)
  tuidl queue add spiral xor | list | cancel ID | work   runs waiting for a free GPU or CPU slot
  tuidl attach [RUN]                      reattach the dashboard to a live run
  tuidl run [--name N] -- python train.py  any command as a detached run (its output, exit status, figures)
  tuidl run --again RUN                   a logged run's command or script again, where it ran
  tuidl stop|pause|resume|checkpoint RUN  control a live run (a trainer's, a script's, a command's)
  tuidl --remote gpu1 --remote user@gpu2  the runs and GPUs of other machines too, over ssh (docs/remote.md)
  tuidl stream                            the remote side of --remote (ssh HOST tuidl stream): JSON lines
  tuidl serve [PRESET] [--port 8000]      the dashboard in a web browser (127.0.0.1; ssh -L to reach it)
  tuidl alerts [--notify URL] [--test]    alerts on every run without a dashboard (NaN, stalls, ends...)
  tuidl replay RUN [--speed N] [--headless]  play a finished run's events
  tuidl export RUN                        metrics as CSV and a Markdown report
  tuidl export RUN --format tensorboard   the run as TensorBoard event files (tensorboard --logdir OUT)
  tuidl import tensorboard LOGDIR         a TensorBoard logdir's runs as tuidl runs (one per run folder)
  tuidl tensorboard LOGDIR                the dashboard on a live TensorBoard logdir (new scalars, new runs)
  tuidl lr-find digits-mlp                the learning-rate range test: loss by lr, a suggested lr
  tuidl landscape RUN                     the loss around a run's weights (two random directions)
  tuidl adversarial RUN --eps 0,0.1,0.3   a run's test accuracy under FGSM / PGD attacks
  tuidl probe RUN                         what a run's codes are worth: a linear probe and k-means vs raw / random
  tuidl export-model RUN --format onnx    the model as safetensors, ONNX or TorchScript, checked, with a card
  tuidl predict RUN images/ [--top 3]     the model on new inputs (.npz, .csv, images), the run's normalisation
"""


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with one clear line, as for bad presets
        raise UsageError(f"{self.prog}: {message}")


def add_preset_args(p: argparse.ArgumentParser, optional: bool = False) -> None:
    p.add_argument("preset", nargs="?" if optional else None, help="built-in preset name or path to a .toml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset key, e.g. --set train.epochs=3 (repeatable)")


def add_lab_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: the preset's train.device)")
    add_allow_code(p)


def add_allow_code(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-code", action="append", default=[], metavar="MODULE:CLASS",
                   help="allow the preset's model.custom class to run (presets never run code on their own)")


def parser_for(command: str) -> Parser:
    prog = f"tuidl {command}"
    p = Parser(prog=prog)
    if command == "train":
        add_preset_args(p, optional=True)
        p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides train.device)")
        p.add_argument("--precision", choices=P.PRECISIONS, help="overrides train.precision")
        p.add_argument("--epochs", type=int, help="overrides train.epochs")
        p.add_argument("--resume", metavar="RUN", help="continue a run (id or directory) from its last checkpoint")
        p.add_argument("--telemetry", action="store_true", help="write GPU / host telemetry into the event stream")
        add_allow_code(p)
        p.add_argument("--runs-dir", help="runs root (default: $TUIDL_RUNS or a per-user folder)")
        p.add_argument("--quiet", action="store_true", help="only the final line")
        par = p.add_argument_group("data-parallel (torchrun; the batch size is global)")
        many = par.add_mutually_exclusive_group()
        many.add_argument("--gpus", type=int, metavar="N", help="train on N GPUs of this machine, one process each")
        many.add_argument("--nproc", type=int, metavar="N",
                          help="train on N processes of this machine (one GPU each on CUDA, else the CPU)")
        par.add_argument("--nnodes", type=int, default=1, metavar="M",
                         help="machines in the run; each runs the same command with its own --node-rank")
        par.add_argument("--node-rank", type=int, default=0, metavar="K", help="this machine, 0..M-1 (0 writes the run)")
        par.add_argument("--master", metavar="ADDR:PORT", help="machine 0's address and a free port (several machines)")
    elif command in ("show", "summary"):
        add_preset_args(p)
        if command == "summary":
            add_allow_code(p)
    elif command == "runs":
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--filter", "-f", metavar="EXPR", default="",
                       help="only the runs that match, e.g. 'lr>=0.001 preset~mnist status:completed tag:baseline' "
                            "(docs/runs.md)")
        p.add_argument("--sort", metavar="COL", help="sort by a column, a config key or a metric (-COL or COL:desc: "
                                                     "descending); default: oldest first")
        p.add_argument("--group", metavar="KEY", help="group by preset, project, sweep, status, host, tag, kind, "
                                                      "or a config key; a group's line has its count and best run")
        p.add_argument("--columns", metavar="COLS", help="the columns, e.g. id,preset,status,best,lr,val_acc,tags "
                                                         "(any config key or metric)")
    elif command == "diff":
        p.add_argument("runs", nargs="+", metavar="RUN", help="two or more runs (ids or directories)")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "tag":
        p.add_argument("run", help="run id or directory")
        p.add_argument("changes", nargs=argparse.REMAINDER, metavar="+TAG|-TAG",
                       help="+TAG (or TAG) adds a tag, -TAG removes one; none: print the tags")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "note":
        p.add_argument("run", help="run id or directory")
        p.add_argument("text", nargs="?", help="the note (\"\" removes it); none: print the note")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "sweep":
        add_preset_args(p, optional=True)
        p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                       help="run every combination of these values (repeatable)")
        p.add_argument("--search", action="append", default=[], metavar="KEY=RANGE",
                       help="log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B: Optuna's TPE picks (repeatable)")
        p.add_argument("--trials", type=int, help="a search's trials in all (default: the preset's sweep.trials, 20)")
        p.add_argument("--parallel", type=int, metavar="K", help="trials at once: one per GPU, or CPU processes")
        p.add_argument("--metric", help="val_loss (default), val_acc or val_mae: ranks the trials")
        p.add_argument("--no-prune", dest="prune", action="store_const", const=False,
                       help="let every trial of a search run to its end")
        p.add_argument("--storage", metavar="URL", help="an Optuna database URL shared by workers on several "
                                                        "machines (default: SQLite in RUNS/sweeps/ID/study.db)")
        p.add_argument("--study", metavar="NAME", help="the sweep's id and study name: workers that give the same "
                                                       "one share the study")
        p.add_argument("--detach", action="store_true", help="run the sweep's driver in the background, in its "
                                                             "own session (it outlives this terminal)")
        p.add_argument("--queue", action="store_true", help="add the sweep to the queue (it starts when slots "
                                                            "are free)")
        p.add_argument("--json", action="store_true", help="one JSON object per finished trial, then the summary")
        p.add_argument("--show", metavar="SWEEP", help="a sweep's trials ranked, the best, the importances")
        p.add_argument("--stop", metavar="SWEEP", help="stop a sweep: its trials checkpoint and end as stopped")
        p.add_argument("--runs-dir", help="runs root")
        add_allow_code(p)
    elif command == "queue":
        p.add_argument("action", choices=("add", "list", "cancel", "work"))
        p.add_argument("items", nargs="*", metavar="PRESET|ID", help="add: presets; cancel: entry ids")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="add: override a preset key of every run added (repeatable)")
        p.add_argument("--slots", type=int, metavar="N", help="work: runs at once (default: the GPUs, else 1)")
        p.add_argument("--no-worker", action="store_true", help="add: don't start a worker (tuidl queue work later)")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "export":
        p.add_argument("run", help="run id or directory")
        p.add_argument("--format", choices=("csv", "tensorboard"), default="csv",
                       help="csv: the metrics as CSV and a Markdown report (default); tensorboard: event files "
                            "(needs: pip install 'tuidl[tensorboard]')")
        p.add_argument("--out", help="folder for the files (default: the run directory; tensorboard: RUN/tensorboard)")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "import":
        p.add_argument("kind", choices=("tensorboard",), help="what to import: tensorboard (a logdir)")
        p.add_argument("logdir", help="the TensorBoard logdir: one run per folder holding event files")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "tensorboard":
        p.add_argument("logdir", help="the TensorBoard logdir to follow (a program may still be writing it)")
        p.add_argument("--every", type=float, default=1.0, help="seconds between looks at the logdir (default 1)")
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--low-bandwidth", action="store_true", help="fewer frames, no animations")
    elif command == "replay":
        p.add_argument("run", help="run id or directory")
        p.add_argument("--speed", type=float, default=0.0, help="N× real time (default: as fast as possible)")
        p.add_argument("--headless", action="store_true", help="no dashboard: read the events, print the summary")
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--low-bandwidth", action="store_true", help="fewer frames, no animations")
    elif command == "lr-find":
        add_preset_args(p)
        p.add_argument("--steps", type=int, default=100, help="minibatches at most (default 100)")
        p.add_argument("--lr-min", type=float, default=1e-7, help="the first learning rate (default 1e-7)")
        p.add_argument("--lr-max", type=float, default=1.0, help="the last learning rate (default 1)")
        p.add_argument("--json", action="store_true", help="print the curve and suggestions as one JSON object")
        p.add_argument("--yes", action="store_true",
                       help="write the suggested lr into the preset file without asking (tomli-w rewrites the "
                            "file: its comments are not kept); a built-in preset is never changed")
        add_lab_args(p)
    elif command in ("landscape", "adversarial", "export-model", "predict"):
        p.add_argument("run", help="run id or directory")
        which = p.add_mutually_exclusive_group()
        which.add_argument("--best", dest="which", action="store_const", const="best",
                           help="the best epoch's weights (the default, when written)")
        which.add_argument("--last", dest="which", action="store_const", const="last", help="the last weights")
        if command == "export-model":
            from tuidl.core.serve.formats import FORMATS

            p.add_argument("--format", required=True, choices=FORMATS,
                           help="safetensors (weights), onnx (needs: pip install 'tuidl[onnx]') or torchscript")
            p.add_argument("--out", help="folder for the model, preset.toml and card (default: RUN/export)")
            p.add_argument("--json", action="store_true", help="print the result as one JSON object")
            p.add_argument("--runs-dir", help="runs root")
            add_allow_code(p)
            return p
        if command == "predict":
            p.add_argument("input", help=".npz / .npy array, .csv rows, an image file or a folder of images")
            p.add_argument("--out", metavar="FILE.csv", help="write the predictions as CSV instead of a table")
            p.add_argument("--top", type=int, default=5, metavar="K", help="the K most likely classes (default 5)")
            p.add_argument("--runs-dir", help="runs root")
            p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
            add_allow_code(p)
            return p
        if command == "landscape":
            p.add_argument("--steps", type=int, default=21, help="grid points per side, odd (default 21)")
            p.add_argument("--span", type=float, default=1.0, help="the grid covers -span..span (default 1)")
        else:
            p.add_argument("--eps", help="attack sizes ε, comma-separated, in standard deviations of the input "
                                         "(default: the preset's train.instruments.adversarial_eps)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object (the event)")
        p.add_argument("--runs-dir", help="runs root")
        add_lab_args(p)
    elif command == "probe":
        p.add_argument("run", help="run id or directory")
        which = p.add_mutually_exclusive_group()
        which.add_argument("--best", dest="which", action="store_const", const="best",
                           help="the best epoch's weights (the default, when written)")
        which.add_argument("--last", dest="which", action="store_const", const="last", help="the last weights")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object")
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    elif command == "run":
        p.add_argument("--name", help="the run's name (default: the script's or the command's)")
        p.add_argument("--project", help="a project to file the run under")
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--again", metavar="RUN", help="run a logged run's command or script again (a new run, in "
                                                       "the directory it ran in, under its name and project)")
        p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    elif command in CONTROL_COMMANDS:
        p.add_argument("run", help="run id or directory")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "alerts":
        p.add_argument("--notify", action="append", default=[], metavar="URL",
                       help="also send alerts to this webhook (repeatable): ntfy, Slack or Discord (docs/alerts.md)")
        p.add_argument("--test", action="store_true", help="send one test alert by every way, say which worked")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "stream":
        p.description = ("The remote side of `tuidl --remote HOST`: JSON lines on stdout (the runs, their new "
                         "events, this machine's telemetry), commands on stdin; ends when stdin closes.")
        p.add_argument("--runs-dir", help="runs root")
    elif command == "attach":
        p.add_argument("run", nargs="?", help="run id or directory (default: the newest live run)")
        p.add_argument("--runs-dir", help="runs root")
        p.add_argument("--low-bandwidth", action="store_true", help="fewer frames, no animations")
    return p


CONTROL_COMMANDS = ("stop", "pause", "resume", "checkpoint")


def cmd_run(args) -> int:
    from tuidl.core.run import command as C

    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.again:
        if cmd:
            raise UsageError("tuidl run: --again RUN runs that run's own command: give no other command")
        from tuidl.core.run import rundir as R

        try:
            cmd, cwd, name, project = C.again_of(R.open_run(args.again, args.runs_dir))
        except ValueError as e:
            raise UsageError(f"tuidl run --again: {e}") from None
        run = C.start(cmd, name=args.name or name, project=args.project or project, runs_root=args.runs_dir, cwd=cwd)
    elif not cmd:
        raise UsageError("tuidl run: no command given (tuidl run [--name N] -- COMMAND ...)")
    else:
        run = C.start(cmd, name=args.name, project=args.project, runs_root=args.runs_dir)
    print(f"run {run.id} started: {' '.join(cmd)} (supervisor pid {run.process.pid})")
    print(f"  follow it:  tuidl attach {run.id}")
    print(f"  its output: {run.output_path}")
    print(f"  stop it:    tuidl stop {run.id}")
    return 0


def cmd_stream(args) -> int:
    from tuidl.core.remote import stream

    return stream.main(args.runs_dir)


def cmd_control(args, command: str) -> int:
    from tuidl.core.run import rundir as R

    run = R.open_run(args.run, args.runs_dir)
    if not run.is_live():
        raise UsageError(f"tuidl {command}: run {run.id} is not running ({run.status().get('status', 'unknown')})")
    run.send(command)
    print(f"asked run {run.id} to {command}")
    return 0


def flag_overrides(args) -> list[P.Override]:
    """``--device`` / ``--precision`` / ``--epochs`` as typed overrides: their values set as
    argparse read them, each named by the flag as typed (what an error names)."""
    return [P.Override(key, value, f"--{flag} {value}")
            for flag, key in (("device", "train.device"), ("precision", "train.precision"), ("epochs", "train.epochs"))
            if (value := getattr(args, flag, None)) is not None]


def load_preset(args) -> P.Preset:
    return P.load(args.preset, [*args.overrides, *flag_overrides(args)])


def cmd_presets(args) -> int:
    names = P.builtin_names()
    width = max(len(n) for n in names)
    for name in names:
        try:
            preset = P.load(name)
            print(f"{name:<{width}}  {preset.description}")
        except ConfigError as e:
            print(f"{name:<{width}}  (invalid: {e})")
    return 0


def cmd_show(args) -> int:
    preset = load_preset(args)
    P.resolve(preset)
    sys.stdout.write(P.dumps(preset))
    return 0


def cmd_summary(args) -> int:
    preset = load_preset(args)
    resolved = P.resolve(preset)
    if preset.model.custom:  # its modules are known once the class is built (needs --allow-code)
        from tuidl.core.train.custom import real_summary

        real_summary(resolved, tuple(args.allow_code))
    print(resolved.summary.render())
    info = resolved.info
    what = f"{info.num_classes} classes" if info.task == "classification" else f"{info.targets} target(s)"
    print(f" Data: {preset.data.dataset}, input {tuple(info.input_shape)}, {what}; loss {resolved.loss}")
    return 0


def parallel_args(args) -> int:
    """Check the data-parallel flags; the number of processes on this machine."""
    nproc = args.gpus if args.gpus is not None else (args.nproc if args.nproc is not None else 1)
    if nproc < 1:
        raise UsageError(f"tuidl train: --{'gpus' if args.gpus is not None else 'nproc'} must be at least 1")
    if args.nnodes < 1:
        raise UsageError("tuidl train: --nnodes must be at least 1")
    if not 0 <= args.node_rank < args.nnodes:
        raise UsageError(f"tuidl train: --node-rank must be 0..{args.nnodes - 1} with --nnodes {args.nnodes}")
    if args.nnodes > 1 and not args.master:
        raise UsageError("tuidl train: a run on several machines needs --master ADDR:PORT (machine 0's address)")
    if args.master:
        from tuidl.core.system.distributed import parse_master

        try:
            parse_master(args.master)
        except ValueError as e:
            raise UsageError(f"tuidl train: --master: {e}") from None
    if args.gpus is not None and args.device and not args.device.startswith("cuda"):
        raise UsageError("tuidl train: --gpus trains on CUDA GPUs; use --nproc N for processes on the CPU")
    return nproc


def check_devices(preset: P.Preset, nproc: int, gpus: bool) -> None:
    """Enough GPUs here for one process each, when the run trains on CUDA."""
    import torch

    device = preset.train.device
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if gpus and not cuda:
        raise ConfigError(f"--gpus: this run trains on {device!r}; use --nproc {nproc} to run it on the CPU")
    if cuda:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count < nproc:
            why = "no CUDA GPU is visible" if not count else f"only {count} CUDA GPU(s) are visible"
            raise ConfigError(f"{'--gpus' if gpus else '--nproc'} {nproc}: one GPU per process, but {why} here"
                              + ("" if gpus else "; add --device cpu to train on the CPU"))
    elif device == "mps":
        raise ConfigError("train.device: data-parallel training runs on CUDA GPUs or the CPU, not on 'mps'")


def resumable(args, check: bool = True):
    """The run ``--resume`` names and its saved preset, refused with a clear message if
    it cannot be resumed (still live, already completed, no checkpoint). ``--set
    train.epochs=N`` (or ``--epochs N``) trains it longer, a completed run too: the saved
    preset is updated (on machine 0, ``check``); any other override is refused, by name."""
    from tuidl.core.run import rundir as R

    if args.preset:
        raise UsageError("tuidl train: --resume continues a run with its own saved preset; don't also give a preset")
    if args.device or args.precision:
        raise UsageError("tuidl train: --resume keeps the run's device and precision")
    run = R.open_run(args.resume, args.runs_dir)
    preset = P.load(run.require_preset("tuidl train --resume"))
    st = run.status()
    state = st.get("status")
    overrides = [*args.overrides, *flag_overrides(args)]
    if overrides:
        preset = P.resume_overrides(preset, overrides, int(st.get("epoch") or 0))
    if check:
        if state in R.LIVE:
            raise ConfigError(f"run {run.id} is still running (pid {st.get('pid')})")
        if state == "completed" and not overrides:
            raise ConfigError(f"run {run.id} already completed; nothing to resume (to train it longer, add "
                              f"--set train.epochs=N with N over {st.get('epoch') or 0})")
        if not run.checkpoint("last").is_file():
            raise ConfigError(f"run {run.id} has no checkpoint to resume from")
        if overrides:  # the run's preset is what it trains: it says how long now
            R.write_atomic(run.preset_path, P.dumps(preset).encode())
    return run, preset


def cmd_train(args) -> int:
    from tuidl.core.run import rundir as R
    from tuidl.progress import ConsoleProgress

    nproc = parallel_args(args)
    if args.gpus is not None and not args.device and not args.resume:
        args.device = "cuda"
    world = nproc * args.nnodes
    if world > 1:
        return train_parallel(args, nproc, world)
    if args.resume:
        run, preset = resumable(args)
    else:
        if not args.preset:
            raise UsageError("tuidl train: give a preset name or .toml path (see `tuidl presets`), or --resume RUN")
        preset = load_preset(args)
        resolved = P.resolve(preset)
        P.check_code(preset, tuple(args.allow_code))  # a refusal leaves no run behind
        if preset.model.custom:  # nor does a class that cannot be imported or does not fit the data
            from tuidl.core.train.custom import real_summary

            real_summary(resolved, tuple(args.allow_code))
        run = R.create(R.runs_root(args.runs_dir), P.run_name(preset), P.dumps(preset), preset=preset.name)
    from tuidl.core.train import Trainer

    listeners = [] if args.quiet else [ConsoleProgress()]
    trainer = Trainer(preset, run, resume=bool(args.resume), listeners=listeners, telemetry=args.telemetry,
                      allow_code=tuple(args.allow_code))
    status = trainer.run()
    if status == "completed" and preset.train.objective != "supervised" and not args.quiet:
        print_probe(run)
    print(f"Run directory: {run.path}")
    if status == "stopped":
        print(f"Resume with: tuidl train --resume {run.path}")
    return 0 if status in ("completed", "stopped", "pruned") else 1


def train_parallel(args, nproc: int, world: int) -> int:
    """``tuidl train`` on several processes (and machines): this command runs torchrun's
    launcher (tuidl.core.system.distributed.launch) and prints rank 0's events as they come."""
    import tempfile

    from tuidl.core.system import distributed as D
    from tuidl.core.run import rundir as R
    from tuidl.core.run.runview import RunView
    from tuidl.progress import ConsoleProgress

    first = args.node_rank == 0
    if args.resume:
        run, preset = resumable(args, check=first)  # machine 0 owns the run; the others read its preset
    else:
        if not args.preset:
            raise UsageError("tuidl train: give a preset name or .toml path (see `tuidl presets`), or --resume RUN")
        preset = load_preset(args)
        P.resolve(preset)
        P.check_code(preset, tuple(args.allow_code))
    D.check_world(preset.data.batch_size, world)
    check_devices(preset, nproc, args.gpus is not None)
    if not args.resume and first:
        run = R.create(R.runs_root(args.runs_dir), P.run_name(preset), P.dumps(preset), preset=preset.name)
    elif not args.resume:  # machine 0 writes the run; the ranks here need the preset and a place for their logs
        run = R.RunDir(tempfile.mkdtemp(prefix=f"tuidl-node{args.node_rank}-"))
        (run.path / "preset.toml").write_text(P.dumps(preset))
    where = f"{nproc} process{'es' if nproc > 1 else ''}" + (f" on each of {args.nnodes} machines"
                                                           if args.nnodes > 1 else "")
    if not args.quiet:
        print(f"Data-parallel: {where}, {world} ranks in all; global batch {preset.data.batch_size} "
              f"({preset.data.batch_size // world} per rank)")
        if not first:
            lo, hi = args.node_rank * nproc, (args.node_rank + 1) * nproc - 1
            print(f"Machine {args.node_rank}: rank{f's {lo}..{hi}' if hi > lo else f' {lo}'}; machine 0 "
                  f"({args.master}) writes the run. Logs of the ranks here: {run.path}")
    console = None if args.quiet else ConsoleProgress()
    view = console.view if console is not None else RunView()  # rank 0's events, as they come

    def listener(ev: dict) -> None:
        if console is not None:
            console(ev)
        else:
            view.apply([ev])

    outcome = D.launch(run, nproc, nnodes=args.nnodes, node_rank=args.node_rank, master=args.master,
                       resume=bool(args.resume), telemetry=args.telemetry, listener=listener, quiet=True,
                       allow_code=tuple(args.allow_code))
    if not first:
        print(f"Machine {args.node_rank}: {outcome.message}")
        return outcome.code
    if outcome.code and (args.quiet or view.ended is None):  # (the console printed the run's end)
        print(f"error: {outcome.message}", file=sys.stderr)
    print(f"Run directory: {run.path}")
    if outcome.status == "stopped":
        flag = f"--gpus {nproc}" if args.gpus is not None else f"--nproc {nproc}"
        print(f"Resume with: tuidl train --resume {run.path} {flag}"
              + (" (or any number of processes)" if args.nnodes == 1 else ""))
    return outcome.code


def cmd_runs(args) -> int:
    from tuidl.core.run import rundir as R
    from tuidl.core.run import runtable as T
    from tuidl.core.run.runfilter import parse
    from tuidl.core.run.runlist import scan_runs
    from tuidl.core.run.units import columns

    found = parse(args.filter)  # a bad expression, sort key or column fails before the runs are read
    sort = T.parse_sort(args.sort) if args.sort else None
    cols = T.parse_columns(args.columns) if args.columns else None
    group = T.column_key(args.group) if args.group else None
    rows = scan_runs(args.runs_dir)
    if not rows:
        print(f"no runs yet in {R.runs_root(args.runs_dir)}")
        return 0
    if found:
        total = len(rows)
        rows = found.apply(rows)
        if not rows:
            print(f"no run of {total} matches {args.filter!r}")
            return 0
    if cols is None:  # TAGS, NOTE, SWEEP only where some run has them
        cols = list(T.DEFAULT_COLUMNS) + [c for c, has in (("tags", any(R.tags_of(r.status_data) for r in rows)),
                                                           ("note", any(r.status_data.get("note") for r in rows)),
                                                           ("sweep", any(r.sweep_text for r in rows))) if has]
    # oldest first by default: the newest is printed last, next to the prompt
    rows = T.sort_rows(rows, *sort) if sort else sorted(rows, key=lambda r: r.id)

    def cells(row) -> tuple:
        out = []
        for c in cols:
            text = T.cell(row, c)
            out.append(text if c != "note" or len(text) <= 40 else text[:39] + "…")
        return tuple(out)

    head = tuple(T.header(c) for c in cols)
    if group is None:
        print("\n".join(columns([head] + [cells(r) for r in rows])))
        return 0
    groups = T.group_rows_by(rows, group, sort)  # by the sort, the group of its first run first
    table = [head] + [cells(r) for g in groups for r in g.rows]
    lines = columns(table)
    print("  " + lines[0])
    at = 1
    for g in groups:
        print(f"── {g.title}")
        for _ in g.rows:
            print("  " + lines[at])
            at += 1
    return 0


def cmd_diff(args) -> int:
    """``tuidl diff RUN RUN...``: the config keys that differ, side by side, then the summaries."""
    from tuidl.core.run import rundir as R
    from tuidl.core.run import runtable as T
    from tuidl.core.run.runlist import run_label, run_row
    from tuidl.core.run.units import columns

    if len(args.runs) < 2:
        raise UsageError("tuidl diff: give two runs or more")
    rows = [run_row(R.open_run(ref, args.runs_dir)) for ref in args.runs]
    head = ("",) + tuple(run_label(r.id, r.preset) for r in rows)
    diff = T.config_diff(rows)
    table = [head] + [(k, *v) for k, v in diff]
    summary = T.summary_rows(rows)
    lines = columns(table + [("── summary", *([""] * len(rows)))] + [(k, *v) for k, v in summary])
    print(lines[0])
    print("── config: " + (f"{len(diff)} keys differ" if len(diff) > 1 else "1 key differs" if diff else "the same"))
    print("\n".join(lines[1:]))
    return 0


def cmd_tag(args) -> int:
    """``tuidl tag RUN +baseline -old``: a run's tags changed (or shown)."""
    from tuidl.core.run import rundir as R

    changes = list(args.changes)
    if "--runs-dir" in changes:  # REMAINDER took it: `tuidl tag RUN +a --runs-dir D`
        at = changes.index("--runs-dir")
        if at + 1 >= len(changes):
            raise UsageError("tuidl tag: --runs-dir needs a folder")
        args.runs_dir = changes[at + 1]
        del changes[at:at + 2]
    run = R.open_run(args.run, args.runs_dir)
    add = [c[1:] if c.startswith("+") else c for c in changes if not c.startswith("-")]
    remove = [c[1:] for c in changes if c.startswith("-")]
    tags = run.tag(add, remove) if changes else R.tags_of(run.read_status())
    print(f"{run.id}: " + (" ".join(tags) if tags else "no tags"))
    return 0


def cmd_note(args) -> int:
    """``tuidl note RUN "..."``: a run's note set (or shown)."""
    from tuidl.core.run import rundir as R

    run = R.open_run(args.run, args.runs_dir)
    if args.text is not None:
        run.set_note(args.text)
    note = run.read_status().get("note")
    print(f"{run.id}: {note}" if note else f"{run.id}: no note")
    return 0


def cmd_sweep(args) -> int:
    """``tuidl sweep PRESET --grid/--search ...``: a sweep's driver here (trial lines as they
    end, then the ranked table), or detached, or queued; ``--show`` / ``--stop`` a sweep."""
    import json

    from tuidl.core.run import rundir as R
    from tuidl.core.sweep import spec as S
    from tuidl.core.sweep import text as T
    from tuidl.core.sweep.driver import Driver, gpu_slots, start_detached
    from tuidl.core.sweep.sweepdir import SweepDir
    from tuidl.core.sweep.study import sweep_summary

    if args.show or args.stop:
        if args.preset:
            raise UsageError("tuidl sweep: --show and --stop take a sweep id, not a preset")
        if args.show:
            view = sweep_summary(args.runs_dir, args.show)
            print(json.dumps(view.to_json()) if args.json else T.table(view))
        else:
            sweep = SweepDir.open(args.runs_dir, args.stop)
            sweep.request_stop()
            print(f"asked sweep {sweep.id} to stop: its trials checkpoint and end as stopped"
                  + ("" if sweep.live() else " (no worker of it runs on this machine)"))
        return 0
    if not args.preset:
        raise UsageError("tuidl sweep: give a preset name or .toml path, e.g. tuidl sweep xor --grid "
                         "train.optimizer.lr=1e-3,1e-2")
    preset = load_preset(args)
    P.resolve(preset)
    spec = S.build(preset, args.grid, args.search, trials=args.trials, parallel=args.parallel, metric=args.metric,
                   prune=args.prune)
    if not args.queue:
        gpu_slots(preset, spec.parallel)  # enough GPUs for --parallel, before anything is made
    sweep = SweepDir.create(args.runs_dir, args.study or R.new_id(preset.name), preset, spec, args.storage,
                            tuple(args.allow_code))
    if args.queue:  # the sweep is ready; the queue's worker starts its driver when it has the slots
        from tuidl.core.sweep import queue as Q

        entry = Q.add_sweep(args.runs_dir, sweep.id, spec.parallel)
        pid = Q.ensure_worker(args.runs_dir)
        print(f"queued sweep {sweep.id} as {entry.id} ({spec.size} trials, {spec.parallel} at a time)"
              + (f"; queue worker started (pid {pid})" if pid else ""))
        return 0
    if args.detach:
        proc = start_detached(sweep, spec.parallel)
        print(f"sweep {sweep.id} runs in the background (pid {proc.pid}; log: {sweep.path / 'driver.out'})\n"
              f"Its trials: tuidl sweep --show {sweep.id}; stop it: tuidl sweep --stop {sweep.id}")
        return 0
    metric = sweep.spec.metric
    if not args.json:
        print(f"Sweep {sweep.id}: {spec.mode}, {spec.size} trials, {spec.parallel} at a time, ranked by {metric} "
              f"(study in {sweep.storage_url})", flush=True)

    def listener(ev: dict) -> None:
        if ev["type"] == "trial_ended":
            print(json.dumps(ev) if args.json else T.trial_line(ev, metric), flush=True)

    view = Driver(sweep, spec.parallel, listener).run()
    print(json.dumps(view.to_json()) if args.json else T.table(view))
    return 0


def cmd_queue(args) -> int:
    """``tuidl queue add PRESET... | list | cancel ID... | work``."""
    import time

    from tuidl.core.sweep import queue as Q
    from tuidl.core.run.units import columns

    if args.slots is not None and args.slots < 1:
        raise UsageError(f"tuidl queue: --slots must be at least 1, got {args.slots}")
    if args.action == "add":
        if not args.items:
            raise UsageError("tuidl queue add: give one or more presets (a sweep: tuidl sweep PRESET ... --queue)")
        presets = []
        for name in args.items:  # every preset checked before any is added
            preset = P.load(name, args.overrides)
            P.resolve(preset)
            presets.append(preset)
        for preset in presets:
            entry = Q.add_run(args.runs_dir, preset)
            print(f"queued {entry.id}: {preset.name}")
        if not args.no_worker:
            pid = Q.ensure_worker(args.runs_dir, args.slots)
            if pid:
                print(f"queue worker started (pid {pid}); tuidl queue list shows the queue")
        return 0
    if args.action == "cancel":
        if not args.items:
            raise UsageError("tuidl queue cancel: give the id of an entry (tuidl queue list)")
        for entry_id in args.items:
            entry = Q.Queue(args.runs_dir).cancel(entry_id)
            print(f"cancelled {entry.id}: {entry.name}" + (" (stopping it)" if entry.started else ""))
        return 0
    if args.action == "work":
        return Q.work(args.runs_dir, args.slots, say=lambda line: print(line, flush=True))
    q = Q.Queue(args.runs_dir)
    entries = q.entries()
    if not entries:
        print(f"the queue is empty ({q.path})")
        return 0
    rows = [("ID", "KIND", "NAME", "STATUS", "SLOTS", "ADDED", "RUN")]
    for e in entries:
        added = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.added))
        rows.append((e.id, e.kind, e.name, e.status, str(e.slots), added, e.run_id or e.message or "—"))
    print("\n".join(columns(rows)))
    worker = Q.worker_alive(args.runs_dir)
    print(f"worker: pid {worker['pid']}, {len(worker['slots'])} slot(s)" if worker else "worker: none runs")
    return 0


def cmd_export(args) -> int:
    from tuidl.core.run import report
    from tuidl.core.run import rundir as R

    run = R.open_run(args.run, args.runs_dir)
    if args.format == "tensorboard":
        from tuidl.core.run import tbexport, tbimport

        try:
            folder, written = tbexport.export(run, args.out)
        except tbimport.MissingExtra as e:
            raise UsageError(f"tuidl export: {e}") from None
        print(f"wrote {written} scalars to {folder} (open it: tensorboard --logdir {folder})")
        return 0
    done = report.export(run, args.out)
    print(done.message())
    return 1 if done.problems else 0


def cmd_import(args) -> int:
    from tuidl.core.run import rundir as R
    from tuidl.core.run import tbimport

    try:
        sources = tbimport.import_logdir(args.logdir, R.runs_root(args.runs_dir))
    except tbimport.MissingExtra as e:
        raise UsageError(f"tuidl import: {e}") from None
    except FileNotFoundError as e:
        raise UsageError(f"tuidl import: {e}") from None
    if not sources:
        raise UsageError(f"tuidl import: no TensorBoard event files (events.out.tfevents.*) under {args.logdir}")
    for source in sources:
        if source.run is None:
            print(f"{'(no run)':<32}  {source.name}: no scalars")
        else:
            print(f"{source.run.id:<32}  {source.name}: {source.steps} steps")
    return 0


def cmd_alerts(args) -> int:
    from tuidl.core.alerts import headless as H
    from tuidl.core.run import rundir as R

    rules = alert_rules(args.notify).with_notify(args.notify)
    deliver = H.Deliver(rules)
    if args.test:
        return H.test(rules, deliver)
    root = R.runs_root(args.runs_dir)
    print(f"watching the runs in {root} (Ctrl+C stops)", flush=True)
    try:
        H.watch(rules, [root], deliver)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_tensorboard(args) -> int:
    from tuidl.core.run import rundir as R
    from tuidl.core.run import tbimport

    if not os.path.isdir(args.logdir):
        raise UsageError(f"tuidl tensorboard: {args.logdir}: no such folder")
    if args.every <= 0:
        raise UsageError("tuidl tensorboard: --every must be more than 0")
    try:
        follower = tbimport.Follower(args.logdir, R.runs_root(args.runs_dir), every=args.every).start()
    except tbimport.MissingExtra as e:
        raise UsageError(f"tuidl tensorboard: {e}") from None
    from tuidl.ui.app import run as run_app

    try:
        runs = [s.run for s in follower.sources.values() if s.run is not None]  # folders with scalars
        if not runs:
            print(f"waiting for scalars in {args.logdir} (Ctrl+C to give up) ...", flush=True)
        while not runs:
            import time

            time.sleep(args.every)
            runs = [s.run for s in follower.sources.values() if s.run is not None]
        live = [r for r in runs if r.is_live()]
        newest = max(live or runs, key=lambda r: r.status().get("started") or 0)
        return run_app(P.load("spiral"), runs_root=args.runs_dir, attach=newest if newest in live else None,
                       replay=newest if newest is not None and newest not in live else None,
                       low_bandwidth=args.low_bandwidth) or 0
    finally:
        follower.stop()


def cmd_lr_find(args) -> int:
    import json

    from tuidl.core.lab import text
    from tuidl.core.lab.lrfind import lr_find

    if args.steps < 2:
        raise UsageError(f"tuidl lr-find: --steps must be at least 2, got {args.steps}")
    if not 0 < args.lr_min < args.lr_max < float("inf"):
        raise UsageError(f"tuidl lr-find: the range must have 0 < --lr-min < --lr-max, got {args.lr_min:g} and "
                         f"{args.lr_max:g}")
    preset = load_preset(args)
    P.resolve(preset)
    result = lr_find(preset, steps=args.steps, lr_min=args.lr_min, lr_max=args.lr_max, device=args.device,
                     allow_code=tuple(args.allow_code))
    lr = preset.train.optimizer.lr
    if args.json:
        print(json.dumps(result.to_json(preset.name, lr)))
    else:
        print(text.lr_find_text(result, lr))
    offer_lr(args, float(f"{result.suggestion:.3g}"))
    return 0


def offer_lr(args, lr: float) -> None:
    """Write the suggested lr into the preset file (``--yes``, or a yes at the prompt on
    a terminal); a built-in preset is never written: the ``--set`` to use is printed."""
    path = P.find(args.preset)
    if path.resolve().parent == P.PRESETS_DIR.resolve():
        if not args.json:
            print(f"To train with it: tuidl train {args.preset} --set train.optimizer.lr={lr:g}")
        return
    if not args.yes:
        if args.json or not sys.stdin.isatty():
            if not args.json:
                print(f"To use it: --set train.optimizer.lr={lr:g}, or write it into {path} with --yes")
            return
        if input(f"Apply lr={lr:g} to {path}? [y/N] ").strip().lower() not in ("y", "yes"):
            return
    from tuidl.core.lab.lrfind import apply_lr

    apply_lr(path, lr)
    if not args.json:
        print(f"wrote train.optimizer.lr = {lr:g} into {path}")


def parse_eps(text: str | None) -> list[float] | None:
    """``--eps 0,0.1,0.3`` as numbers ≥ 0; None when not given."""
    if text is None:
        return None
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"tuidl adversarial: --eps: {part.strip()!r} is not a number") from None
        if not value >= 0 or value == float("inf"):
            raise UsageError(f"tuidl adversarial: --eps: {part.strip()} is not a size ≥ 0 (in standard deviations "
                             "of the input)")
        out.append(value)
    return out


def cmd_lab(args, name: str) -> int:
    """``tuidl landscape RUN`` / ``tuidl adversarial RUN``: computed from the run's
    checkpoint, printed, and kept as RUN/lab/<name>.json."""
    from tuidl.core.run import events as E
    from tuidl.core.run import rundir as R
    from tuidl.core.lab import kept, runs, text

    options: dict = {"which": args.which, "device": args.device, "allow_code": tuple(args.allow_code)}
    if name == "landscape":
        if args.steps < 3 or args.steps % 2 == 0:
            raise UsageError("tuidl landscape: --steps must be an odd number, at least 3 (the weights are the "
                             "grid's centre)")
        if not 0 < args.span < float("inf"):
            raise UsageError("tuidl landscape: --span must be a number greater than 0")
        options.update(steps=args.steps, span=args.span)
    else:
        options.update(eps=parse_eps(args.eps))
    run = R.open_run(args.run, args.runs_dir)
    ev = runs.analyse(run, name, **options)
    if args.json:
        print(E.dumps(ev))
        return 0
    print(text.landscape_text(ev) if name == "landscape" else text.adversarial_text(ev))
    print(f"From the {ev['checkpoint']} checkpoint; kept in {kept.path(run, name)}")
    return 0


def cmd_probe(args) -> int:
    """``tuidl probe RUN``: the linear probe and k-means on the run's codes, printed and
    kept as RUN/lab/probe.json."""
    from tuidl.core.lab import kept
    from tuidl.core.lab.probe import probe_run, probe_text
    from tuidl.core.run import events as E
    from tuidl.core.run import rundir as R

    run = R.open_run(args.run, args.runs_dir)
    result = probe_run(run, args.which, args.device)
    kept.save(run, "probe", result)
    if args.json:
        print(E.dumps(result))
        return 0
    print(probe_text(result))
    print(f"From the {result['checkpoint']} checkpoint; kept in {kept.path(run, 'probe')}")
    return 0


def print_probe(run) -> None:
    """After a self-supervised run of ``tuidl train``: what its codes are worth."""
    from tuidl.core.lab import kept
    from tuidl.core.lab.probe import probe_run, probe_text

    try:
        result = probe_run(run)
    except ConfigError as e:
        print(f"No linear probe: {e}")
        return
    kept.save(run, "probe", result)
    print(probe_text(result))


def cmd_export_model(args) -> int:
    import json

    from tuidl.core.run import rundir as R
    from tuidl.core.serve.export import CheckFailed, check_format, export_model

    check_format(args.format)  # before anything heavy: ONNX without its packages says what to install
    run = R.open_run(args.run, args.runs_dir)
    try:
        done = export_model(run, args.format, which=args.which, out=args.out, allow_code=tuple(args.allow_code))
    except CheckFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(done.to_json()) if args.json else done.message())
    return 0


def cmd_predict(args) -> int:
    from pathlib import Path

    from tuidl.core.run import rundir as R
    from tuidl.core.run.rundir import write_atomic
    from tuidl.core.serve.predict import predict

    if args.top < 1:
        raise UsageError(f"tuidl predict: --top must be at least 1, got {args.top}")
    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        raise UsageError(f"tuidl predict: --out {out} is a folder; give a file name (predictions.csv)")
    run = R.open_run(args.run, args.runs_dir)
    done = predict(run, args.input, which=args.which, device=args.device, top=args.top,
                   allow_code=tuple(args.allow_code))
    for note in done.notes:  # on stderr: the table (or --out's file) stays the predictions alone
        print(f"note: {note}", file=sys.stderr)
    what = f"{len(done)} input{'s' if len(done) != 1 else ''}, the {done.checkpoint} checkpoint (epoch {done.epoch})"
    if out is None:
        print(done.table())
        print(what)
        return 0
    try:
        write_atomic(out, done.to_csv().encode())
    except OSError as e:
        raise ConfigError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote {out}: {what}")
    return 0


def cmd_replay(args) -> int:
    from tuidl.core.run import report
    from tuidl.core.run import rundir as R

    run = R.open_run(args.run, args.runs_dir)
    if args.speed < 0:
        raise UsageError("tuidl replay: --speed must be 0 (as fast as possible) or more")
    if args.headless:
        print(report.summary_text(run, report.load_history(run)))
        return 0
    from tuidl.ui.app import run as run_app

    preset = run_preset(run)
    return run_app(preset, runs_root=args.runs_dir, replay=run, replay_speed=args.speed,
                   low_bandwidth=args.low_bandwidth) or 0


def run_preset(run) -> P.Preset:
    """The preset the dashboard's panes show for a run: its own; for a logged run (no
    preset: tuidl.init / tuidl run) the default one, which its charts do not use."""
    return P.load("spiral") if run.logged else P.load(run.preset_path)


def cmd_attach(args) -> int:
    from tuidl.core.run import rundir as R

    if args.run:
        run = R.open_run(args.run, args.runs_dir)
    else:
        live = [r for r in R.list_runs(args.runs_dir) if r.is_live()]
        if not live:
            raise ConfigError(f"no live runs in {R.runs_root(args.runs_dir)}; `tuidl runs` lists them all")
        run = live[-1]
    from tuidl.ui.app import run as run_app

    preset = run_preset(run)
    return run_app(preset, runs_root=args.runs_dir, attach=run, low_bandwidth=args.low_bandwidth,
                   alerts=alert_rules([])) or 0


def add_dashboard_args(p: argparse.ArgumentParser) -> None:
    """The dashboard's own arguments (``tuidl [PRESET] ...``), which ``tuidl serve`` takes too."""
    add_preset_args(p, optional=True)
    p.add_argument("--runs-dir", help="runs root (default: $TUIDL_RUNS or a per-user folder)")
    p.add_argument("--low-bandwidth", action="store_true", help="fewer frames, no animations (slow SSH links)")
    p.add_argument("--no-warm-trainer", action="store_true",
                   help="don't keep a trainer process warm for Start (it holds PyTorch in memory, about 500 MB "
                        "resident; without it Start waits seconds for PyTorch to load); also TUIDL_WARM_TRAINER=0")
    p.add_argument("--allow-code", action="append", default=[], metavar="MODULE:CLASS",
                   help="allow Start to run the preset's model.custom class (presets never run code on their own)")
    p.add_argument("--remote", action="append", default=[], metavar="HOST",
                   help="also show the runs and GPUs of HOST (as ssh takes it: user@gpu1, an alias of "
                        "~/.ssh/config), through `ssh HOST tuidl stream`; repeat for more hosts")
    p.add_argument("--remote-cmd", metavar="[HOST=]CMD", action="append", default=[],
                   help="the tuidl command on the remote hosts (default: $TUIDL_REMOTE_CMD, else tuidl), "
                        "e.g. ~/venv/bin/tuidl; HOST=CMD for one host")
    p.add_argument("--notify", action="append", default=[], metavar="URL",
                   help="also send alerts to this webhook (repeatable): ntfy, Slack or Discord, by its host or "
                        "by ntfy+https://, slack+https://, discord+https:// (docs/alerts.md)")


def alert_rules(notify: list[str]):
    """The config file's alert rules, with ``--notify`` URLs checked (one line if bad)."""
    from tuidl.core import config as C
    from tuidl.core.alerts.webhooks import check_url

    for url in notify:
        problem = check_url(url)
        if problem:
            raise UsageError(f"--notify: {problem}")
    return C.alert_rules()


def dashboard_argv(args) -> list[str]:
    """The dashboard's arguments back as a command line: what each browser tab of
    ``tuidl serve`` runs."""
    argv = [args.preset] if args.preset else []
    for assignment in args.overrides:
        argv += ["--set", assignment]
    if args.runs_dir:
        argv += ["--runs-dir", os.path.abspath(args.runs_dir)]
    if args.low_bandwidth:
        argv.append("--low-bandwidth")
    if args.no_warm_trainer:
        argv.append("--no-warm-trainer")
    for host in args.remote:
        argv += ["--remote", host]
    for cmd in args.remote_cmd:
        argv += ["--remote-cmd", cmd]
    for name in args.allow_code:
        argv += ["--allow-code", name]
    for url in args.notify:
        argv += ["--notify", url]
    return argv


def cmd_dashboard(argv: list[str]) -> int:
    p = Parser(prog="tuidl", description="A terminal workbench for training neural networks.",
               epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dashboard_args(p)
    args = p.parse_args(argv)
    preset = P.load(args.preset or "spiral", args.overrides)
    P.resolve(preset)
    rules = alert_rules(args.notify)
    from tuidl.ui.app import run

    if args.remote:
        from tuidl.core.remote import client

        try:
            commands = client.commands_for(args.remote, args.remote_cmd)
        except ValueError as e:
            raise UsageError(f"tuidl: {e}") from None
        for host in args.remote:
            client.connect([host], remote_cmd=commands.get(host))
    try:
        return run(preset, runs_root=args.runs_dir, low_bandwidth=args.low_bandwidth,
                   warm_trainer=not args.no_warm_trainer, allow_code=tuple(args.allow_code), alerts=rules,
                   notify=tuple(args.notify)) or 0
    finally:
        if args.remote:
            client.disconnect()


def serve_parser() -> Parser:
    from tuidl.ui import serve as S

    p = Parser(prog="tuidl serve", description="The dashboard in a web browser (textual-serve): each browser "
               "tab runs its own dashboard with this preset and these flags.")
    add_dashboard_args(p)
    p.add_argument("--host", default=S.DEFAULT_HOST,
                   help="address to listen on (default 127.0.0.1: this machine only; reach it through an SSH "
                        "tunnel). On any other address the page needs a random token in its URL, printed once "
                        "at start (a request without it gets 403): textual-serve has no authentication")
    p.add_argument("--port", type=S.parse_port, default=S.DEFAULT_PORT, help="TCP port (default 8000)")
    p.add_argument("--public-url", metavar="URL",
                   help="the URL browsers open, if not http://HOST:PORT (a reverse proxy, another forwarded port)")
    return p


def serve_plan(argv: list[str]):
    """``tuidl serve ARGS`` decided, nothing started: the preset is checked, the plan made."""
    from tuidl.ui import serve as S

    args = serve_parser().parse_args(argv)
    P.resolve(P.load(args.preset or "spiral", args.overrides))  # a bad preset fails here, not in each tab
    alert_rules(args.notify)  # ... and so do bad alert rules or --notify URLs
    try:
        return S.plan(dashboard_argv(args), host=args.host, port=args.port, public_url=args.public_url)
    except S.ServeError as e:
        raise UsageError(f"tuidl serve: {e}") from None


def cmd_serve(argv: list[str]) -> int:
    from tuidl.ui import serve as S

    the_plan = serve_plan(argv)
    try:
        S.check_port(the_plan.host, the_plan.port)
        print("\n".join(the_plan.banner()), flush=True)
        S.serve(the_plan)
    except S.ServeError as e:
        raise UsageError(f"tuidl serve: {e}") from None
    print("tuidl serve: stopped", flush=True)
    return 0


HANDLERS = {"presets": cmd_presets, "show": cmd_show, "summary": cmd_summary, "train": cmd_train,
            "runs": cmd_runs, "tag": cmd_tag, "diff": cmd_diff, "note": cmd_note, "sweep": cmd_sweep, "queue": cmd_queue, "export": cmd_export, "replay": cmd_replay, "attach": cmd_attach,
            "lr-find": cmd_lr_find, "landscape": lambda args: cmd_lab(args, "landscape"),
            "adversarial": lambda args: cmd_lab(args, "adversarial"), "export-model": cmd_export_model,
            "predict": cmd_predict, "probe": cmd_probe, "run": cmd_run, "alerts": cmd_alerts, "import": cmd_import, "tensorboard": cmd_tensorboard, "stream": cmd_stream,
            **{c: (lambda args, c=c: cmd_control(args, c)) for c in CONTROL_COMMANDS}}


def leave(code: int) -> None:
    """End the process now, after the dashboard closed (the terminal is restored by then).
    The interpreter's own teardown, freeing the dashboard's objects module by module, took
    another 0.4-1.2 s before the shell prompt came back. What is registered to run at exit
    still runs; a run that trains is never waited for: it is a process of its own."""
    import atexit

    try:
        atexit._run_exitfuncs()
    except Exception:  # noqa: BLE001 - leaving anyway
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None  # `tuidl ...` itself, not a caller in Python (tests)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in HANDLERS:
            args = parser_for(argv[0]).parse_args(argv[1:])
            code = HANDLERS[argv[0]](args)
            if as_program and argv[0] in ("attach", "replay", "tensorboard") and not getattr(args, "headless", False):
                leave(code)
            return code
        if argv and argv[0] == "serve":
            return cmd_serve(argv[1:])
        code = cmd_dashboard(argv)
        if as_program:
            leave(code)
        return code
    except (ConfigError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
