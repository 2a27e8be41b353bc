"""Alert rules on a run's events (tuidl.core.alerts): each fires once per condition, from
recorded and generated events; history fires nothing; the monitor finds runs in any runs root."""

import json
import math
import os

import pytest
from helpers import append, live_run, FIXTURES, copy_fixture, ended, epoch, logged_run, started, step

from tuidl.core.alerts.rules import AlertRules, RuleError, from_table, parse_threshold, to_table
from tuidl.core.alerts.watch import AlertMonitor, RunAlerts
from tuidl.core.run import events as E
from tuidl.core.run import rundir as R
from tuidl.core.run.runview import RunView


def kinds(alerts):
    return [a.kind for a in alerts]


def test_nan_loss_fires_once_and_again_after_a_resume():
    w = RunAlerts(AlertRules(), "r1")
    assert w.feed([started(), step(1, 1, 1, loss=0.7)], now=101) == []
    got = w.feed([step(1, 2, 2, loss="nan", t=102), step(1, 3, 3, loss="inf", t=103)], now=103)
    assert kinds(got) == ["nan"] and got[0].level == "error" and "nan" in got[0].title
    assert got[0].run_id == "r1"
    assert w.feed([step(1, 4, 4, loss="nan", t=104)], now=104) == []  # once, not every batch
    resumed = w.feed([started(resumed_from=1, t=105), step(2, 11, 1, loss="-inf", t=106)], now=106)
    assert kinds(resumed) == ["nan"]  # a new trainer start: the condition is news again


def test_nan_in_a_logged_runs_loss_named_freely():
    w = RunAlerts(AlertRules())
    evs = [{"type": "run_started", "time": 1.0, "run_id": "s", "source": "script"}]
    evs += [{"type": "metrics", "time": 2.0 + i, "step": i, "values": {"train/loss": 1.0 / (i + 1), "acc": 0.5}}
            for i in range(5)]
    assert w.feed(evs, now=10) == []
    got = w.feed([{"type": "metrics", "time": 8.0, "step": 5, "values": {"train/loss": "nan", "acc": "nan"}}], now=11)
    assert [(a.kind, a.extra["metric"]) for a in got] == [("nan", "train/loss")]  # acc is no loss


def test_nan_rule_off():
    w = RunAlerts(AlertRules(nan=False))
    assert w.feed([started(), step(1, 1, 1, loss="nan")], now=101) == []


def test_stall_with_a_fake_clock_fires_once_then_rearms_after_progress():
    w = RunAlerts(AlertRules(stall_minutes=10))
    w.feed([started(), step(1, 1, 1)], now=1000)
    assert w.tick(1000 + 9 * 60) == []
    got = w.tick(1000 + 10 * 60)
    assert kinds(got) == ["stall"] and "10 min" in got[0].text
    assert w.tick(1000 + 30 * 60) == []  # no repeat each tick
    w.feed([step(1, 2, 2, t=200)], now=5000)  # progress clears it
    assert w.tick(5000 + 5 * 60) == []
    assert kinds(w.tick(5000 + 11 * 60)) == ["stall"]


def test_stall_of_a_logged_run_counts_once_it_logged():
    w = RunAlerts(AlertRules(stall_minutes=1))
    w.feed([{"type": "run_started", "time": 0.0, "run_id": "c", "source": "command"}], now=0)
    assert w.tick(3600) == []  # tuidl run -- CMD whose command logs nothing: no progress to miss
    w.feed([{"type": "metrics", "time": 1.0, "step": 0, "values": {"loss": 1.0}}], now=3600)
    assert w.tick(3630) == [] and kinds(w.tick(3661)) == ["stall"]


def test_no_stall_while_paused_or_after_the_end():
    w = RunAlerts(AlertRules(stall_minutes=1))
    w.feed([started(), step(1, 1, 1), {"type": "control", "time": 102, "action": "paused"}], now=0)
    assert w.tick(3600) == []
    w.feed([{"type": "control", "time": 103, "action": "resumed"}], now=3600)
    assert w.tick(3600 + 30) == []  # the pause is not a stall: the clock restarts at the resume
    assert kinds(w.tick(3600 + 61)) == ["stall"]
    w2 = RunAlerts(AlertRules(stall_minutes=1, ended=()))
    w2.feed([started(), step(1, 1, 1), ended()], now=0)
    assert w2.tick(3600) == []


@pytest.mark.parametrize("status,level", [("completed", "info"), ("failed", "error"), ("diverged", "error"),
                                          ("stopped", "warn")])
def test_run_finished_or_failed(status, level):
    w = RunAlerts(AlertRules(), "r1")
    w.feed([started(), step(1, 1, 1)], now=101)
    got = w.feed([ended(status)], now=110)
    assert [(a.kind, a.title, a.level) for a in got] == [("ended", f"Run {status}", level)]
    assert "trained 4 epochs" in got[0].text and "best val_loss 0.3 at epoch 2" in got[0].text
    assert w.feed([ended(status)], now=111) == []  # the same event again (re-read) fires nothing


def test_ended_statuses_are_chosen():
    w = RunAlerts(AlertRules(ended=("failed",)))
    assert w.feed([started(), ended("completed")], now=1) == []
    w = RunAlerts(AlertRules(ended=("failed",)))
    assert kinds(w.feed([started(), ended("failed")], now=1)) == ["ended"]


def test_threshold_crossing_fires_on_the_edge_only():
    rules = AlertRules(thresholds=(parse_threshold("val_loss < 0.3"), parse_threshold("acc >= 0.9")))
    w = RunAlerts(rules)
    w.feed([started()], now=0)
    assert w.feed([epoch(1, 10, val_loss=0.5)], now=1) == []
    got = w.feed([epoch(2, 20, val_loss=0.25)], now=2)
    assert [a.title for a in got] == ["val_loss < 0.3"] and got[0].extra["value"] == 0.25
    assert w.feed([epoch(3, 30, val_loss=0.2)], now=3) == []  # still below: no repeat
    assert w.feed([epoch(4, 40, val_loss=0.4)], now=4) == []  # back above: re-armed
    assert [a.title for a in w.feed([epoch(5, 50, val_loss=0.1)], now=5)] == ["val_loss < 0.3"]
    got = w.feed([step(5, 51, 1, acc=0.95)], now=6)
    assert [a.title for a in got] == ["acc >= 0.9"]


def telemetry(t, util, proc_mem=None, index=0):
    gpus = [{"index": 0, "uuid": "GPU-a", "name": "H100", "util": 90.0, "proc_mem": None},
            {"index": 1, "uuid": "GPU-b", "name": "H100", "util": 90.0, "proc_mem": None}]
    gpus[index] = {**gpus[index], "util": util, "proc_mem": proc_mem}
    return {"type": "telemetry", "time": t, "gpus": gpus}


def test_gpu_idle_while_training_on_its_own_gpu():
    w = RunAlerts(AlertRules(gpu_idle_minutes=2, gpu_idle_util=5))
    w.feed([started(device="cuda:1", t=0), step(1, 1, 1, t=1)], now=1)
    assert w.feed([telemetry(10, 0.0, index=0)], now=10) == []  # GPU 0 is not the run's
    assert w.feed([telemetry(10, 1.0, index=1), telemetry(100, 2.0, index=1)], now=100) == []
    got = w.feed([telemetry(131, 0.0, index=1)], now=131)
    assert kinds(got) == ["gpu_idle"] and got[0].title == "GPU 1 idle" and "2 min" in got[0].text
    assert w.feed([telemetry(400, 0.0, index=1)], now=400) == []  # once
    w.feed([telemetry(401, 80.0, index=1)], now=401)  # busy again: re-armed
    w.feed([telemetry(402, 0.0, index=1)], now=402)
    assert kinds(w.feed([telemetry(530, 0.0, index=1)], now=530)) == ["gpu_idle"]


def test_gpu_idle_not_while_paused_nor_on_cpu():
    w = RunAlerts(AlertRules(gpu_idle_minutes=1))
    w.feed([started(device="cuda:0"), {"type": "control", "time": 100, "action": "paused"}], now=0)
    assert w.feed([telemetry(100, 0.0), telemetry(500, 0.0)], now=500) == []
    w = RunAlerts(AlertRules(gpu_idle_minutes=1))
    w.feed([started(device="cpu")], now=0)
    assert w.feed([telemetry(100, 0.0), telemetry(500, 0.0)], now=500) == []


def test_gpu_idle_of_a_logged_run_reads_the_gpus_its_process_holds():
    w = RunAlerts(AlertRules(gpu_idle_minutes=1))
    w.feed([{"type": "run_started", "time": 0.0, "run_id": "s", "source": "script"}], now=0)
    assert w.feed([telemetry(10, 0.0), telemetry(100, 0.0)], now=100) == []  # holds no memory there
    got = w.feed([telemetry(110, 0.0, proc_mem=2 << 30), telemetry(200, 0.0, proc_mem=2 << 30)], now=200)
    assert kinds(got) == ["gpu_idle"]


def test_script_alert_events_go_through_runview():
    ev = {"type": "alert", "time": 5.0, "title": "val acc low", "text": "0.3 after 200 steps", "level": "ERROR"}
    view = RunView([ev])
    assert view.alerts == [ev]
    w = RunAlerts(AlertRules())
    got = w.feed([started(), ev], now=6)
    assert [(a.kind, a.title, a.text, a.level) for a in got] == [("script", "val acc low", "0.3 after 200 steps",
                                                                   "error")]
    assert RunAlerts(AlertRules(script=False)).feed([started(), ev], now=6) == []
    bad = RunView([{"type": "alert", "time": 1.0, "title": ["x"]}])
    assert bad.bad_events == 1 and bad.alerts == []


def test_history_before_since_fires_nothing_but_sets_the_conditions():
    w = RunAlerts(AlertRules())
    old = [started(t=100), step(1, 1, 1, loss="nan", t=101), {"type": "alert", "time": 102, "title": "old"}]
    assert w.feed(old + [step(1, 2, 2, loss="nan", t=300)], now=300, since=200) == []
    assert w.feed([ended("failed", t=301)], now=301, since=200)[0].title == "Run failed"


def test_recorded_runs_fire_their_end(tmp_path):
    for name, expect in (("spiral-demo", "ended"), ("logged-demo", "ended")):
        src = FIXTURES / "runs" / name / "events.jsonl"
        w = RunAlerts(AlertRules())
        got = w.feed(E.EventTail(src), now=0)
        assert kinds(got) == [expect], name


# -- rules in the config file ------------------------------------------------------------

def test_rules_round_trip_through_the_table():
    rules = AlertRules(nan=False, stall_minutes=2.5, ended=("failed",), thresholds=(parse_threshold("loss<0.1"),),
                       notify=("https://ntfy.sh/t",))
    assert from_table(to_table(rules)) == rules
    assert from_table(None) == AlertRules()


@pytest.mark.parametrize("table,message", [
    ({"stall": 3}, "config.toml: alerts.stall is not a known key"),
    ({"nan": "yes"}, "alerts.nan must be true or false"),
    ({"stall_minutes": -1}, "alerts.stall_minutes must be a number >= 0"),
    ({"ended": ["done"]}, "alerts.ended: 'done' is not one of"),
    ({"thresholds": ["val_acc ~ 3"]}, "alerts.thresholds: 'val_acc ~ 3' is not METRIC > VALUE"),
    ({"thresholds": ["val_acc > x"]}, "'x' is not a number"),
    ({"notify": ["ftp://x"]}, "alerts.notify:"),
    ({"notify": "https://x"}, "alerts.notify must be a list of strings"),
])
def test_bad_rules_name_the_key(table, message):
    with pytest.raises(RuleError) as e:
        from_table(table, "config.toml")
    assert message in str(e.value) and str(e.value).startswith("config.toml: ")


# -- the monitor over runs roots ----------------------------------------------------------

class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def test_monitor_watches_every_root_and_skips_old_runs(tmp_path):
    clock = Clock(1000.0)
    old = copy_fixture(tmp_path / "a", "spiral-demo", "old-run")
    os.utime(old.events_path, (1, 1))
    os.utime(old.status_path, (1, 1))
    mon = AlertMonitor(AlertRules(stall_minutes=1), [tmp_path / "a"], clock=clock)
    mirror = tmp_path / "remote-mirror"  # a second root: runs mirrored from another host
    mon.add_root(mirror)
    run = live_run(mirror)
    append(run, started(t=990), step(1, 1, 1, t=995))  # before the monitor started: history
    assert mon.poll() == []
    assert list(mon.watches) == [str(run.path)]  # the old, untouched run is not read
    clock.t += 30
    append(run, step(1, 2, 2, loss="nan", t=1030))
    got = mon.poll()
    assert kinds(got) == ["nan"] and got[0].run_id == run.id
    clock.t += 61
    assert kinds(mon.poll()) == ["stall"]
    assert mon.poll() == []
    append(run, ended("failed", t=clock.t))
    run.write_status(status="failed")
    assert [a.title for a in mon.poll()] == ["Run failed"]
    mon.poll()
    assert str(run.path) not in mon.watches  # ended and quiet: dropped


def test_monitor_tells_of_a_run_whose_process_vanished(tmp_path):
    clock = Clock(1000.0)
    mon = AlertMonitor(AlertRules(), [tmp_path], clock=clock)
    run = live_run(tmp_path)
    append(run, started(t=1001))
    mon.poll()
    data = json.loads(run.status_path.read_text())
    data["pid"] = 2 ** 22 + 12345  # no such process
    run.status_path.write_text(json.dumps(data))
    got = mon.poll()
    assert [(a.kind, a.extra.get("status")) for a in got] == [("ended", "interrupted")]
    assert mon.poll() == []


def test_the_config_file_holds_the_rules(tmp_path, monkeypatch):
    from tuidl.core import config as C
    from tuidl.core.preset.schema import ConfigError

    path = tmp_path / "config.toml"
    assert C.config_path() == path  # $TUIDL_CONFIG (conftest)
    assert C.alert_rules() == AlertRules()  # no file: the defaults
    path.write_text('[other]\nkeep = 1\n\n[alerts]\nstall_minutes = 3\nthresholds = ["val_acc > 0.9"]\n')
    rules = C.alert_rules()
    assert rules.stall_minutes == 3 and [str(t) for t in rules.thresholds] == ["val_acc > 0.9"]
    C.save_alert_rules(AlertRules(nan=False))
    assert C.load()["other"] == {"keep": 1} and C.alert_rules() == AlertRules(nan=False)
    path.write_text("[alerts]\nnan = 3\n")
    with pytest.raises(ConfigError, match=f"^{path}: alerts.nan must be true or false"):
        C.alert_rules()
    path.write_text("[alerts\n")
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        C.alert_rules()
    monkeypatch.delenv("TUIDL_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert C.config_path() == tmp_path / "xdg" / "tuidl" / "config.toml"


def test_monitor_reads_an_end_written_after_the_status(tmp_path):
    """The status file may say the run ended before its run_ended event is read: the
    watcher keeps the run until a look brings nothing new."""
    clock = Clock(1000.0)
    mon = AlertMonitor(AlertRules(), [tmp_path], clock=clock)
    run = live_run(tmp_path)
    append(run, started(t=1001))
    mon.poll()
    append(run, step(1, 1, 1, t=1002))
    run.write_status(status="completed")
    assert mon.poll() == [] and str(run.path) in mon.watches
    append(run, ended("completed", t=1003))
    assert [a.title for a in mon.poll()] == ["Run completed"]
    assert mon.poll() == [] and str(run.path) not in mon.watches
    run.write_status(status="completed", note="x")  # a later status change of an ended run: nothing new
    assert mon.poll() == []


def test_gpu_idle_on_the_samplers_own_payloads():
    """Telemetry as the real sampler writes it (a recorded 2×H100: a trainer on GPU 0,
    GPU 1 idle), a tick a minute: a run on cuda:1 trains on an idle GPU, a run on cuda:0
    does not."""
    from recorded_gpu import RecordedSource

    from tuidl.core.system.telemetry import Sampler

    def payloads():
        sampler = Sampler(RecordedSource(FIXTURES / "nvml" / "h100x2.json", pids={4242: os.getpid()}), env={})
        return [{"type": "telemetry", "time": 60.0 * (i + 1), **sampler.sample(os.getpid())} for i in range(8)]

    fired = {}
    for device in ("cuda:0", "cuda:1"):
        w = RunAlerts(AlertRules(gpu_idle_minutes=2, gpu_idle_util=5))
        w.feed([started(device=device, t=0.0)], now=0)
        fired[device] = [(a.title, a.text) for a in w.feed(payloads(), now=500)]
    assert fired["cuda:0"] == []
    assert fired["cuda:1"] == [("GPU 1 idle", "NVIDIA H100 80GB HBM3 at 0% for 2 min while the run trains")]
    w = RunAlerts(AlertRules(gpu_idle_minutes=2))  # a logged run: the GPU its process holds memory on (GPU 0)
    w.feed([{"type": "run_started", "time": 0.0, "run_id": "s", "source": "script"}], now=0)
    assert w.feed(payloads(), now=500) == []
