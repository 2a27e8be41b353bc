"""Data-parallel training on this machine's CPU: real torchrun launches of 2 processes
(gloo), compared with one plain process; stop, resume across world sizes, a dying rank."""

import os
import signal
import subprocess
import sys
import time
import types

import pytest
import torch

from tuidl.core import distributed as D
from tuidl.core import events as E
from tuidl.core import launch
from tuidl.core import preset as P
from tuidl.core import rundir as R
from tuidl.core.data import Part
from tuidl.core.train import Trainer, load_checkpoint
from tuidl.core.faults import Faults
from tuidl.core.schema import ConfigError
from helpers import ROOT
from helpers import of, run_cli, tuidl

# xor without dropout or batch norm; 231 samples leave 161 for training: ten batches of 16
# and a last one of 1, so rank 0 carries that batch alone (weight 2) and rank 1 none (weight 0)
# (deterministic=false only spares each process the import that torch.use_deterministic_algorithms costs)
XOR = ["data.params.n_samples=231", "train.device='cpu'", "train.deterministic=false"]


def xor(epochs: int) -> P.Preset:
    return P.load("xor", [f"train.epochs={epochs}", *XOR])


def xor_args(epochs: int) -> list[str]:
    return ["xor", "--set", f"train.epochs={epochs}", *[a for s in XOR for a in ("--set", s)]]


def single(tmp_path, preset):
    """The reference: the same preset in one plain process."""
    run = R.create(tmp_path / "single", preset.name, P.dumps(preset))
    assert Trainer(preset, run, handle_signals=False).run() == "completed"
    return run, E.read_events(run.events_path)


def assert_same_metrics(a, b, tol=1e-5):
    ea, eb = of(a, "epoch"), of(b, "epoch")
    assert [e["epoch"] for e in ea] == [e["epoch"] for e in eb]
    for x, y in zip(ea, eb):
        for part in ("train", "val"):
            assert x[part].keys() == y[part].keys()
            for key in x[part]:
                assert y[part][key] == pytest.approx(x[part][key], abs=tol), (x["epoch"], part, key)
    ta, tb = of(a, "test")[-1]["metrics"], of(b, "test")[-1]["metrics"]
    assert tb == pytest.approx(ta, abs=tol)


def wait_for_events(tail, seen, predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        seen.extend(tail.poll())
        if any(predicate(e) for e in seen):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------
# Real runs (about 10 s each: torch starts in three processes)

@pytest.mark.timeout(150)
def test_two_processes_train_like_one_and_only_rank_0_writes(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "tuidl", "train", *xor_args(4), "--nproc", "2",
                             "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Data-parallel: 2 processes" in out and "Run completed" in out and "Traceback" not in out + err
    run = R.list_runs(runs)[0]
    evs = E.read_events(run.events_path)

    # one writer: the event stream of a single run
    assert [e["type"] for e in evs].count("run_started") == 1 and [e["type"] for e in evs].count("run_ended") == 1
    assert evs[0]["type"] == "run_started" and evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "completed"
    started = evs[0]
    assert started["world_size"] == 2 and started["batch_size"] == 16 and started["steps_per_epoch"] == 11
    assert started["data"]["sizes"]["train"] == 161
    assert [e["epoch"] for e in of(evs, "epoch")] == [1, 2, 3, 4]
    assert len(of(evs, "test")) == 1
    saves = [(c["epoch"], c["kind"], c["reason"]) for c in of(evs, "checkpoint")]
    assert len(saves) == len(set(saves))
    steps = of(evs, "step")
    # samples/s over a window of the last seconds: the first sync only starts it
    assert steps and "samples_per_s" not in steps[0] and all(s["samples_per_s"] > 0 for s in steps[1:])
    assert [s["step"] for s in steps] == sorted({s["step"] for s in steps})
    status = run.status()
    assert status["status"] == "completed" and status["pid"] == proc.pid  # the torchrun agent: this command
    assert set(os.listdir(run.path)) <= {"preset.toml", "events.jsonl", "status.json", "checkpoints", "control",
                                         "rank1.err"}
    assert sorted(os.listdir(run.checkpoints)) == ["best.pt", "last.pt"]

    # the same numbers as one process with the same global batch
    ref_run, ref = single(tmp_path, xor(4))
    assert_same_metrics(ref, evs)
    # and the same checkpoint format (the bare model's weights)
    mine, theirs = load_checkpoint(run.checkpoint("last")), load_checkpoint(ref_run.checkpoint("last"))
    assert mine["model"].keys() == theirs["model"].keys()
    assert mine["progress"] == pytest.approx(theirs["progress"], abs=1e-5)
    for key in theirs["model"]:
        torch.testing.assert_close(mine["model"][key], theirs["model"][key], atol=1e-5, rtol=1e-4)


@pytest.mark.timeout(150)
def test_control_and_sigterm_on_two_processes_then_resume_on_one(tmp_path):
    preset = xor(16)
    run = launch.start(preset, runs_root=tmp_path / "runs", telemetry=False, nproc=2)
    proc = run.process
    assert os.getsid(proc.pid) == proc.pid
    tail, seen = E.EventTail(run.events_path), []
    try:
        assert wait_for_events(tail, seen, lambda e: e["type"] == "epoch")
        assert run.read_status()["pid"] == proc.pid  # the supervisor (torchrun agent): the run dies with it
        run.send("pause")
        assert wait_for_events(tail, seen, lambda e: e.get("action") == "paused", 20)
        assert run.status()["status"] == "paused"
        run.send("checkpoint")
        assert wait_for_events(tail, seen, lambda e: e["type"] == "checkpoint" and e["reason"] == "requested", 20)
        run.send("resume")
        assert wait_for_events(tail, seen, lambda e: e.get("action") == "resumed", 20)
        run.send("pause")
        assert wait_for_events(tail, seen, lambda e: [x.get("action") for x in seen].count("paused") == 2, 20)
        os.kill(proc.pid, signal.SIGTERM)  # reaches both ranks through torchrun; they stop while paused
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    seen += tail.poll()
    assert seen[-1]["type"] == "run_ended" and seen[-1]["status"] == "stopped" and "SIGTERM" in seen[-1]["message"]
    assert any(e["type"] == "checkpoint" and e["reason"] == "stop" for e in seen)
    assert run.status()["status"] == "stopped"
    stopped_at = load_checkpoint(run.checkpoint("last"))["progress"]["epoch"]
    assert stopped_at < 16

    # the checkpoint of two processes resumes on one, and ends where one process alone would
    assert Trainer(P.load(run.preset_path), run, resume=True, handle_signals=False).run() == "completed"
    evs = E.read_events(run.events_path)
    assert [e["world_size"] for e in of(evs, "run_started")] == [2, 1]
    assert [e["epoch"] for e in of(evs, "epoch")] == list(range(1, 17))
    assert [e["status"] for e in of(evs, "run_ended")] == ["stopped", "completed"]
    _, ref = single(tmp_path, preset)
    assert_same_metrics(ref, evs)


@pytest.mark.timeout(150)
def test_one_process_stopped_by_sigterm_resumes_on_two(tmp_path):
    preset = xor(12)
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))

    def sigterm_in_epoch_4(ev):
        if ev["type"] == "epoch" and ev["epoch"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal, to the trainer's own handler

    assert Trainer(preset, run, listeners=[sigterm_in_epoch_4]).run() == "stopped"
    assert load_checkpoint(run.checkpoint("last"))["progress"]["epoch"] == 3
    out = tuidl("train", "--resume", str(run.path), "--nproc", "2", "--quiet")
    assert out.returncode == 0, out.stderr
    assert f"Run directory: {run.path}" in out.stdout
    evs = E.read_events(run.events_path)
    assert [e["world_size"] for e in of(evs, "run_started")] == [1, 2]
    assert [e["resumed_from"] for e in of(evs, "run_started")] == [0, 3]
    assert [e["epoch"] for e in of(evs, "epoch")] == list(range(1, 13))
    assert run.status()["status"] == "completed"
    _, ref = single(tmp_path, preset)
    assert_same_metrics(ref, evs)


@pytest.mark.timeout(150)
def test_a_rank_that_dies_fails_the_run_naming_it(tmp_path):
    runs = tmp_path / "runs"
    t0 = time.monotonic()
    out = tuidl("train", *xor_args(20), "--nproc", "2", "--runs-dir", str(runs), "--quiet",
                env={"TUIDL_FAULT": "die@4:1"}, timeout=120)  # rank 1 is killed (SIGKILL) at step 4
    assert time.monotonic() - t0 < 90
    assert out.returncode == 1
    assert "rank 1 died (SIGKILL)" in out.stderr and "Traceback" not in out.stdout + out.stderr
    run = R.list_runs(runs)[0]
    status = run.status()
    assert status["status"] == "failed" and "rank 1" in status["message"]
    evs = E.read_events(run.events_path)
    assert len(of(evs, "run_started")) == 1 and len(of(evs, "run_ended")) == 1
    assert evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "failed" and "rank 1" in evs[-1]["message"]


# ---------------------------------------------------------------------------
# The pieces, without launching

def test_shards_make_up_the_global_batches():
    gen = torch.Generator().manual_seed(3)
    part = Part(torch.arange(37, dtype=torch.float32).reshape(37, 1), torch.arange(37))
    for world in (3, 6):
        state = gen.get_state()
        whole = [y.tolist() for _, y in part.batches(8, shuffle=True, generator=torch.Generator().manual_seed(3))]
        per_rank = []
        for rank in range(world):
            g = torch.Generator().manual_seed(0)
            g.set_state(state)
            shard = D.Shard(part, rank, world, per_batch=True)
            assert len(shard) == 37 and shard.num_batches(8) == 5
            per_rank.append([(y.tolist(), shard.weight) for _, y in shard.batches(8, shuffle=True, generator=g)])
        for i, batch in enumerate(whole):
            got = [per_rank[r][i] for r in range(world)]
            mine = [ys for ys, w in got if w > 0]
            assert sum(mine, []) == batch  # the ranks' slices, in order, are the global batch
            for ys, w in got:  # weight = share × world, 0 for a rank without a sample
                assert w == (len(ys) * world / len(batch) if w else 0.0)
        if world == 6:  # the last batch has 5 samples: rank 5 runs it with no weight
            assert per_rank[5][-1] == (whole[-1], 0.0)
    for world in (2, 5):  # evaluation: contiguous parts covering the split once
        rows = []
        for rank in range(world):
            rows += sum((y.tolist() for _, y in D.Shard(part, rank, world, per_batch=False).batches(4, False)), [])
        assert rows == list(range(37))


def test_image_folder_shards_read_the_same_images(tmp_path):
    from PIL import Image

    from tuidl.core import data as Data

    rng = torch.Generator().manual_seed(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(11):
            pixels = torch.randint(0, 256, (6, 5, 3), generator=rng, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    preset = P.from_dict({"data": {"dataset": "image-folder", "params": {"path": "imgs", "image_size": [6, 5]},
                                   "split": {"train": 0.6, "val": 0.2, "test": 0.2}}},
                         source=str(tmp_path / "p.toml"))
    part = Data.load(preset).train
    state = torch.Generator().manual_seed(4).get_state()

    def gen():
        g = torch.Generator()
        g.set_state(state)
        return g

    whole = list(part.batches(5, shuffle=True, generator=gen()))
    shards = [list(D.Shard(part, r, 2, per_batch=True).batches(5, shuffle=True, generator=gen())) for r in (0, 1)]
    for i, (x, y) in enumerate(whole):
        torch.testing.assert_close(torch.cat([shards[0][i][0], shards[1][i][0]]), x)
        assert torch.cat([shards[0][i][1], shards[1][i][1]]).tolist() == y.tolist()
    ys = [y for r in (0, 1) for _, y in D.Shard(part, r, 2, per_batch=False).batches(4, shuffle=False)]
    assert torch.cat(ys).tolist() == part.y.tolist()


def test_weigh_gives_the_global_mean_gradient():
    dist = D.Dist(rank=1, world_size=2, local_rank=1, local_world_size=2, supervised=False, timeout_s=10)
    dist.train = types.SimpleNamespace(weight=0.0)
    loss = torch.tensor(0.7, requires_grad=True)
    out, y = torch.zeros(3, 2), torch.zeros(3, dtype=torch.long)
    total, out0, y0 = dist.weigh(loss, loss * 1.0, out, y)
    total.backward()
    assert loss.grad == 0.0 and out0.shape[0] == 0 and y0.shape[0] == 0
    dist.train.weight = 2.0
    loss.grad = None
    total, out2, _ = dist.weigh(loss, loss + 0.0, out, y)
    total.backward()
    assert loss.grad == pytest.approx(2.0) and out2.shape[0] == 3


def test_batch_size_must_split_over_the_processes(tmp_path):
    with pytest.raises(ConfigError, match="does not split evenly over 3 processes"):
        launch.start(xor(1), runs_root=tmp_path, telemetry=False, nproc=3)
    assert not (tmp_path / "runs").exists() and not list(tmp_path.iterdir())
    out = run_cli("train", *xor_args(1), "--nproc", "3", "--runs-dir", str(tmp_path))
    assert out.returncode == 2 and "data.batch_size: 16 does not split evenly over 3 processes" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args,needle", [
    (["--nnodes", "2"], "needs --master ADDR:PORT"),
    (["--nnodes", "2", "--node-rank", "2", "--master", "10.0.0.1:29500"], "--node-rank must be 0..1"),
    (["--nproc", "2", "--master", "nohost"], "expected ADDR:PORT"),
    (["--nproc", "0"], "--nproc must be at least 1"),
    (["--gpus", "2", "--nproc", "2"], "not allowed with argument"),
    (["--gpus", "2", "--device", "cpu"], "use --nproc N"),
])
def test_bad_parallel_flags_exit_2(args, needle, tmp_path):
    out = run_cli("train", "xor", *args, "--runs-dir", str(tmp_path))
    assert out.returncode == 2 and needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_torchrun_arguments():
    one = D.torchrun_args("/runs/a", 4, resume=True)
    assert one[:3] == ["--nproc-per-node=4", "--max-restarts=0", "--standalone"]
    assert one[-4:] == ["--module", "tuidl.core.trainer", "/runs/a", "--resume"]
    two = D.torchrun_args("/runs/a", 8, nnodes=2, node_rank=1, master="10.0.0.5:29500", telemetry=True)
    assert {"--nnodes=2", "--node-rank=1", "--master-addr=10.0.0.5", "--master-port=29500"} <= set(two)
    assert "--standalone" not in two and two[-1] == "--telemetry"
    assert D.parse_master("[::1]:1234") == ("::1", 1234)
    for bad in ("host", "host:", ":80", "host:99999"):
        with pytest.raises(ValueError):
            D.parse_master(bad)


def test_faults_can_target_one_rank(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert Faults.from_env("die@5:1,error@3:0,nan@7").at == {"die": 5, "nan": 7}
    monkeypatch.setenv("RANK", "0")
    assert Faults.from_env("die@5:1,error@3:0").at == {"error": 3}
    monkeypatch.delenv("RANK")
    assert Faults.from_env("error@3:0").at == {"error": 3}
    with pytest.raises(ValueError):
        Faults.from_env("die@5:x")


def test_the_supervisor_names_the_rank_that_failed_first(tmp_path):
    preset = xor(1)
    run = R.create(tmp_path, preset.name, P.dumps(preset))
    (run.path / "rank1.err").write_text("error: an earlier attempt's failure\n")
    logs = D._log_sizes(run.path)
    with open(run.path / "rank1.err", "a") as f:
        f.write("some warning\nerror: out of GPU memory with batch size 16\n")

    def failure(code, when):
        return types.SimpleNamespace(exitcode=code, timestamp=when)

    assert D.describe({0: failure(D.PEER_LOST, 10), 1: failure(1, 10)}, run.path, logs) == \
        "rank 1 failed (exit code 1): out of GPU memory with batch size 16"
    assert D.describe({0: failure(-9, 40), 2: failure(-9, 10)}, run.path, logs) == "rank 2 died (SIGKILL)"
    started = time.time()
    with E.EventWriter(run.events_path) as w:
        w.emit(E.RUN_STARTED, world_size=2)
    logs = D._log_sizes(run.path)  # nothing new in rank1.err: the earlier lines don't count
    outcome = D.finish(run, started, {1: failure(-9, 10), 0: failure(D.PEER_LOST, 10)}, logs=logs)
    assert (outcome.status, outcome.code) == ("failed", 1) and outcome.message == "rank 1 died (SIGKILL)"
    evs = E.read_events(run.events_path)
    assert [e["type"] for e in evs] == ["run_started", "run_ended"] and evs[-1]["status"] == "failed"
    assert run.status()["status"] == "failed" and run.status()["message"] == "rank 1 died (SIGKILL)"
    # when rank 0 ended the run itself, its word stands and nothing is added
    assert D.finish(run, started, {1: failure(-9, 10)}).status == "failed"
    assert len(of(E.read_events(run.events_path), "run_ended")) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without a GPU")
def test_ddp_check_says_clearly_that_it_needs_a_gpu():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "ddp_check.py")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert "cannot run here" in out.stderr and "GPU" in out.stderr and "Traceback" not in out.stderr
