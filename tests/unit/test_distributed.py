"""Data-parallel training on this machine's CPU: real torchrun launches of 2 processes
(gloo), compared with one plain process; stop, resume across world sizes, a dying rank."""

import time
import types

import pytest
import torch

from tuidl.core.system import distributed as D
from tuidl.core.run import events as E
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.data.data import Part
from tuidl.core.train import Trainer
from tuidl.core.train.faults import Faults
from tuidl.core.preset.schema import ConfigError
from helpers import of, run_cli

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


# ---------------------------------------------------------------------------
# Real runs (about 10 s each: torch starts in three processes)


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

    from tuidl.core.data import data as Data

    rng = torch.Generator().manual_seed(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(11):
            pixels = torch.randint(0, 256, (6, 5, 3), generator=rng, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    preset = P.from_dict({"data": {"dataset": "image-folder",
                                   "params": {"path": str(tmp_path / "imgs"), "image_size": [6, 5]},
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
    assert one[-4:] == ["--module", "tuidl.core.train.trainer", "/runs/a", "--resume"]
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
    # the supervisor starts before its ranks (an event's time is rounded to 0.1 ms: one written
    # within that of `started` read as older, and the test failed once)
    started = time.time() - 1.0
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
