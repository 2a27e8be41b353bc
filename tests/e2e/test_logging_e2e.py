"""The logging API and ``tuidl run`` with real processes (docs/logging.md): what a script's
end does to its run (exit, exception, Ctrl+C, SIGTERM, SIGKILL, a file-size limit), the
import staying light, a stop through the control folder ending a user's loop, and a
``tuidl run`` command outliving whoever started it. In-process tests: tests/unit/test_sdk.py."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R
from helpers import ROOT, end_process, tuidl, wait_until


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(body))
    return path


def start(path: Path, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def only_run() -> R.RunDir:
    runs = R.list_runs()
    assert len(runs) == 1, runs
    return runs[0]


def metrics(run: R.RunDir) -> list[dict]:
    return [ev for ev in E.read_events(run.events_path) if ev["type"] == "metrics"]


LOOP = """
    import sys, time, tuidl
    run = tuidl.init(name="loop")
    i = 0
    while True:
        {control}
        run.log({{"t": time.time(), "loss": 1.0 / (i + 1)}})
        i += 1
        time.sleep(0.01)
        if i == 20:
            print("logging", flush=True)
    print("left the loop", flush=True)
"""


def test_import_tuidl_to_log_loads_no_torch_textual_plotext_or_framework(tmp_path):
    path = script(tmp_path, """
        import sys, tuidl
        run = tuidl.init(project="p")
        run.log({"x": 1.0})
        tuidl.alert("light", "an alert loads nothing more", level=tuidl.AlertLevel.INFO)
        run.finish()
        print(sorted(m for m in ("torch", "textual", "plotext", "rich", "numpy", "lightning", "transformers",
                                 "keras", "tensorboard", "tuidl.integrations") if m in sys.modules))
    """)
    proc = start(path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "[]"
    assert only_run().status()["status"] == "completed"
    assert [ev["title"] for ev in E.read_events(only_run().events_path) if ev["type"] == "alert"] == ["light"]


def test_a_big_run_has_its_columns_cache_when_the_script_ends_without_numpy(tmp_path):
    """A run of more than 2,000 metrics events ended by the script's end (atexit): its
    columns cache is there before anyone reads the run, written without importing numpy."""
    path = script(tmp_path, """
        import atexit, os, sys, tuidl
        def check():
            print("numpy" in sys.modules, os.path.exists(str(run.run_dir.events_path) + ".columns.npz"), flush=True)
        atexit.register(check)  # registered before tuidl's finish: runs after it (last in, first out)
        run = tuidl.init(project="p")
        for i in range(2100):
            run.log({"loss": 1.0 / (i + 1), "acc": i / 2100})
        run.summary["best"] = 0.5
    """)
    proc = start(path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "False True"
    run = only_run()
    from tuidl.core.run import columns as C
    from tuidl.core.run.runview import RunView, load

    got = C.cached(run.events_path)
    assert got is not None and run.status()["status"] == "completed"
    view, parsed = RunView(got[0]), RunView(E.read_events(run.events_path))
    assert view.scalars["loss"].values.tolist() == parsed.scalars["loss"].values.tolist()
    assert len(view.scalars["acc"]) == 2100 and view.summary() == parsed.summary() == load(run).summary()


def test_a_sigkilled_script_loses_at_most_its_last_second(tmp_path):
    proc = start(script(tmp_path, LOOP.format(control="")))
    try:
        assert proc.stdout.readline().strip() == "logging"
        time.sleep(1.5)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        end_process(proc.pid)
    run = only_run()
    logged = [m["values"]["t"] for m in metrics(run)]
    assert killed_at - logged[-1] <= 1.0, f"the last second kept ends {killed_at - logged[-1]:.2f} s before the kill"
    assert [m["step"] for m in metrics(run)] == list(range(len(logged)))  # whole lines, in order
    assert run.status()["status"] == "interrupted"  # its process is gone, nobody said how it ended


@pytest.mark.parametrize("how, status, message", [
    ("raise RuntimeError('CUDA out of memory. Tried to allocate 2 GiB')", "failed",
     "RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"),
    ("raise KeyboardInterrupt", "stopped", "KeyboardInterrupt (Ctrl+C)"),
    ("run.finish(exit_code=3); sys.exit(3)", "failed", "exit status 3"),  # docs/logging.md: SystemExit is not seen
    ("pass", "completed", "3 steps"),
])
def test_how_a_script_ends_is_how_its_run_ends(tmp_path, how, status, message):
    proc = start(script(tmp_path, f"""
        import sys, tuidl
        run = tuidl.init()
        for i in range(3):
            run.log({{"x": i}})
        {how}
    """))
    proc.communicate(timeout=60)
    run = only_run()
    st = run.status()
    assert (st["status"], st["message"]) == (status, message)
    assert E.read_events(run.events_path)[-1]["status"] == status
    assert len(metrics(run)) == 3


@pytest.mark.parametrize("cooperative", [True, False])
def test_sigterm_stops_the_run(tmp_path, cooperative):
    control = "if run.should_stop: break" if cooperative else ""
    proc = start(script(tmp_path, LOOP.format(control=control)))
    try:
        assert proc.stdout.readline().strip() == "logging"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        end_process(proc.pid)
    run = only_run()
    st = run.status()
    assert st["status"] == "stopped" and "SIGTERM" in st["message"]
    # a loop that reads should_stop leaves it; one that does not is interrupted as by Ctrl+C
    assert ("left the loop" in out) is cooperative
    # interrupted: Python ends as for an uncaught Ctrl+C (killed by SIGINT, or status 1 when the
    # interrupt lands outside the main module's frames)
    assert proc.returncode == 0 if cooperative else proc.returncode in (1, -signal.SIGINT)


def test_a_stop_through_the_control_folder_ends_a_users_loop(tmp_path):
    proc = start(script(tmp_path, LOOP.format(control="run.wait_if_paused()\n        if run.should_stop: break")))
    try:
        assert proc.stdout.readline().strip() == "logging"
        run = only_run()
        run.send("stop")  # what the dashboard's stop and `tuidl stop RUN` do
        out, err = proc.communicate(timeout=30)
    finally:
        end_process(proc.pid)
    assert "left the loop" in out and proc.returncode == 0
    st = run.status()
    assert st["status"] == "stopped" and st["message"] == "stop requested"
    assert any(ev.get("action") == "stop_requested" for ev in E.read_events(run.events_path))


def test_a_file_size_limit_warns_once_and_the_script_goes_on(tmp_path):
    """A full disk as the kernel gives it to a process: RLIMIT_FSIZE makes every write
    past the limit fail (EFBIG)."""
    proc = start(script(tmp_path, """
        import tuidl
        run = tuidl.init()
        for i in range(20000):
            run.log({"loss": 0.5, "acc": 0.25, "step_time": 0.001})
        run.finish()
        print("finished", flush=True)
    """), preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10)))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "finished" in out
    warnings = [line for line in err.splitlines() if line.startswith("tuidl: cannot write")]
    assert len(warnings) == 1 and "File too large" in warnings[0], err
    run = only_run()
    assert 0 < len(metrics(run)) < 20000
    assert run.events_path.stat().st_size <= 256 << 10


def test_tuidl_run_outlives_the_process_that_started_it(tmp_path):
    path = script(tmp_path, """
        import sys, time
        for i in range(30):
            print("line", i, flush=True)
            time.sleep(0.1)
        print("oops", file=sys.stderr)
        sys.exit(4)
    """)
    # the starter: a shell in a session of its own, killed (with its whole group) as soon as it printed
    starter = subprocess.Popen([sys.executable, "-m", "tuidl", "run", "--name", "job", "--", sys.executable, str(path)],
                               stdout=subprocess.PIPE, text=True, start_new_session=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    first = starter.stdout.readline()
    os.killpg(starter.pid, signal.SIGKILL)
    starter.wait(timeout=30)
    assert first.startswith("run ") and "-job-" in first
    run = only_run()
    assert run.is_live()
    wait_until(lambda: not run.is_live(), timeout=60, what="the command's end", run=run)
    st = run.status()
    assert (st["status"], st["message"], st["exit_code"]) == ("failed", "oops (exit status 4)", 4)
    log = run.output_path.read_text()
    assert "line 29" in log and "oops" in log
    evs = E.read_events(run.events_path)
    assert evs[0]["type"] == "run_started" and evs[0]["source"] == "command"
    assert evs[0]["command"] == [sys.executable, str(path)]
    assert any(ev["type"] == "telemetry" and ev["process"]["rss_bytes"] > 0 for ev in evs)
    assert evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "failed"


def test_a_big_script_run_under_tuidl_run_has_its_columns_cache_when_the_command_ends(tmp_path):
    """A script that joined `tuidl run`'s run leaves the run's end to it; the run's end then
    keeps the metrics as the columns cache, so its first opening reads no JSON either."""
    path = script(tmp_path, """
        import tuidl
        with tuidl.init(project="p") as run:
            for i in range(2100):
                run.log({"loss": 1.0 / (i + 1), "acc": i / 2100})
    """)
    started = tuidl("run", "--", sys.executable, str(path), env={"PYTHONPATH": str(ROOT)})
    assert started.returncode == 0, started.stderr
    run = only_run()
    wait_until(lambda: run.status().get("status") == "completed" and not run.is_live(), timeout=60,
               what="the command's end", run=run)
    from tuidl.core.run import columns as C
    from tuidl.core.run.runview import RunView

    wait_until(lambda: C.cached(run.events_path) is not None, timeout=30, what="the columns cache", run=run)
    view, parsed = RunView(C.cached(run.events_path)[0]), RunView(E.read_events(run.events_path))
    assert len(view.scalars["loss"]) == 2100 and view.summary() == parsed.summary()
    assert view.scalars["acc"].values.tolist() == parsed.scalars["acc"].values.tolist()


def test_tuidl_run_stops_a_command_and_a_script_inside_joins_the_run(tmp_path):
    plain = tuidl("run", "--", sys.executable, "-c", "import time\nwhile True: time.sleep(0.1)",
                  env={"PYTHONPATH": str(ROOT)})
    assert plain.returncode == 0, plain.stderr
    run = only_run()
    wait_until(lambda: run.status().get("status") == "running", timeout=30, what="running", run=run)
    stop = tuidl("stop", run.id, env={"PYTHONPATH": str(ROOT)})
    assert stop.returncode == 0, stop.stderr
    wait_until(lambda: not run.is_live(), timeout=30, what="the stop", run=run)
    assert run.status()["status"] == "stopped"

    path = script(tmp_path, LOOP.format(control="run.wait_if_paused()\n        if run.should_stop: break"))
    joined = tuidl("run", "--name", "joined", "--", sys.executable, str(path), env={"PYTHONPATH": str(ROOT)})
    assert joined.returncode == 0, joined.stderr
    second = next(r for r in R.list_runs() if "-joined-" in r.id)
    wait_until(lambda: "logging" in second.output_path.read_text(), timeout=60, what="the loop", run=second)
    second.send("stop")
    wait_until(lambda: not second.is_live(), timeout=60, what="the stop", run=second)
    assert len(R.list_runs()) == 2  # the script logged into the command's run
    st = second.status()
    assert st["status"] == "stopped" and st["script_status"] == "stopped"
    assert "left the loop" in second.output_path.read_text()
    assert len(metrics(second)) >= 20


WRITES_HERE = "import os, pathlib; n = len(list(pathlib.Path('.').glob('out*'))); pathlib.Path(f'out{n}').write_text(os.getcwd())"


def test_tuidl_run_again_runs_a_command_and_a_script_where_they_ran(tmp_path):
    env = {"PYTHONPATH": str(ROOT)}
    work = tmp_path / "work"
    work.mkdir()
    first = tuidl("run", "--name", "job", "--project", "p", "--", sys.executable, "-c", WRITES_HERE, cwd=work, env=env)
    assert first.returncode == 0, first.stderr
    job = only_run()
    wait_until(lambda: not job.is_live(), timeout=60, what="the command", run=job)
    assert (work / "out0").read_text() == str(work.resolve())

    again = tuidl("run", "--again", job.id, env=env)  # from another directory (ROOT): it runs in work/ again
    assert again.returncode == 0, again.stderr
    second = next(r for r in R.list_runs() if r.id != job.id)
    wait_until(lambda: not second.is_live(), timeout=60, what="the command again", run=second)
    st = second.status()
    assert st["status"] == "completed" and st["command"] == job.status()["command"]
    assert st["name"] == "job" and st["project"] == "p" and st["cwd"] == str(work.resolve())
    assert (work / "out1").read_text() == str(work.resolve())

    # a script that logged by itself (no tuidl run): its interpreter, argv and directory
    path = script(work, 'import tuidl\nrun = tuidl.init(name="solo")\nrun.log({"x": 1.0})\nrun.finish()\n')
    proc = start(path, cwd=work)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    solo = next(r for r in R.list_runs() if "-solo-" in r.id)
    again = tuidl("run", "--again", solo.id, env=env)
    assert again.returncode == 0, again.stderr
    third = next(r for r in R.list_runs() if r.id not in (job.id, second.id, solo.id))
    wait_until(lambda: not third.is_live(), timeout=60, what="the script again", run=third)
    assert third.status()["status"] == "completed" and third.status()["command"] == [sys.executable, str(path)]
    assert [m["values"] for m in metrics(third)] == [{"x": 1.0}]  # the script joined the new run
    assert "-solo-" in third.id
