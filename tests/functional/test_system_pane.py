"""The system pane, driven with recorded NVML fakes and real psutil."""

from __future__ import annotations

import asyncio
import os
import re
import time

import psutil
import pytest
from textual.containers import VerticalScroll

from tuidl.core.run.runview import RunView
from tuidl.core.system.telemetry import format_bytes
from tuidl.ui.panes.system import HISTORY, GpuCard, SystemPane

from helpers import FIXTURES, Host, screen_text, started
from recorded_gpu import RecordedSource

FIX = FIXTURES / "nvml"
ME = os.getpid()
NO_SUCH_PID = 99_999_999  # above Linux's pid_max


def recorded(name: str):
    return lambda: RecordedSource(FIX / name, pids={4242: ME})


def host(factory=None, interval=None) -> Host:
    return Host(lambda: SystemPane(source_factory=factory, interval=interval, id="system"), footer=False)


async def ticks(pilot, pane: SystemPane, n: int) -> None:
    """n polling ticks, each after the last, spaced so CPU % has a window."""
    for _ in range(n):
        pane.poll()
        await pilot.pause()
        await asyncio.sleep(0.11)
    await pilot.pause()


def host_ok(text: str) -> None:
    vm = psutil.virtual_memory()
    assert f"/ {format_bytes(vm.total)}" in text
    assert re.search(r"CPU\s+[█░]+ \d+%", text), text


async def test_real_values_two_h100():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.set_trainer_pid(ME)
        await ticks(pilot, pane, 3)
        text = pane.text()
        assert text.splitlines()[0] == "2 GPUs · NVML ok"
        assert "GPU 0 · NVIDIA H100 80GB HBM3" in text and "GPU 1 · NVIDIA H100 80GB HBM3" in text
        # tick 3 of the recording
        assert "97%" in text
        assert "21.1 GiB / 79.6 GiB" in text
        assert "temp 51 °C  power 588 / 700 W  SM 1980 MHz  trainer 20.6 GiB" in text
        assert "temp 31 °C  power 71 / 700 W  SM 345 MHz" in text
        assert "driver  20.6 GiB on GPU 0" in text
        assert f"training process · pid {ME}" in text
        host_ok(text)
        assert re.search(r"trainer CPU \d+% · RSS [\d.]+ [MG]iB", text)
        cards = list(app.query(GpuCard))
        assert len(cards) == 2
        assert cards[0].util_spark.data == [0.0, 87.0, 97.0]
        assert len(cards[0].mem_spark.data) == 3
        assert not cards[0].has_class("stale")
        shown = screen_text(app)
        assert "GPU 0 · NVIDIA H100 80GB HBM3" in shown and "2 GPUs · NVML ok" in shown
        # the history keeps the last HISTORY samples
        for _ in range(HISTORY + 5):
            pane.poll()
        await pilot.pause()
        assert len(cards[0].util_spark.data) == HISTORY


@pytest.mark.parametrize(
    "visible, names",
    [("GPU-a3c91f7e", ["GPU 1"]), ("1,0", ["GPU 1", "GPU 0"]), ("0", ["GPU 0"])],
)
async def test_cuda_visible_devices(monkeypatch, visible, names):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        await ticks(pilot, pane, 1)
        titles = [str(c.border_title).split(" · ")[0] for c in app.query(GpuCard)]
        assert titles == names


async def test_no_gpu_visible(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        await ticks(pilot, pane, 2)
        assert not list(app.query(GpuCard))
        assert "no GPU visible" in pane.text().splitlines()[0]
        host_ok(pane.text())


async def test_missing_driver_shows_reason_and_host():
    app = host(recorded("no_driver.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        await ticks(pilot, pane, 2)
        text = pane.text()
        status = text.splitlines()[0]
        assert status.startswith("⚠ no NVIDIA driver found")
        assert "host figures only" in status
        assert not list(app.query(GpuCard))
        assert "GiB /" not in status
        host_ok(text)
        assert pane.query_one("#sys-status").has_class("-problem")
        assert "no NVIDIA driver found" in screen_text(app)


async def test_real_nvml_on_this_machine_reports_no_driver():
    app = host()  # the default factory: NvmlSource, and there is no driver here
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        await ticks(pilot, pane, 2)
        assert pane.text().startswith("⚠ no NVIDIA driver found")
        host_ok(pane.text())


async def test_nvml_failing_mid_run_keeps_history_and_host_updates():
    app = host(recorded("fails_mid_run.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.set_trainer_pid(ME)
        await ticks(pilot, pane, 2)
        cards = list(app.query(GpuCard))
        assert len(cards) == 2 and cards[0].util_spark.data == [0.0, 87.0]
        cpu_before = len(pane.readings.cpu_hist)
        await ticks(pilot, pane, 3)
        text = pane.text()
        status = text.splitlines()[0]
        assert "NVML failed during the run: GPU is lost" in status
        assert "last readings" in status and "r retries" in status
        cards = list(app.query(GpuCard))
        assert len(cards) == 2, "the last GPU readings stay on screen"
        assert all(c.has_class("stale") for c in cards)
        assert cards[0].util_spark.data == [0.0, 87.0]
        assert "87%" in text and "2.2 GiB / 79.6 GiB" in text
        assert len(pane.readings.cpu_hist) == cpu_before + 3, "host figures keep updating"
        host_ok(text)
        assert "NVML failed during the run: GPU is lost" in screen_text(app)

        # r (with focus in the pane) starts NVML again
        app.query_one(VerticalScroll).focus()
        polls = pane.polls
        await pilot.press("r")
        for _ in range(100):
            await pilot.pause()
            if pane.polls > polls:
                break
            await asyncio.sleep(0.02)
        assert pane.polls > polls
        assert pane.text().splitlines()[0] == "2 GPUs · NVML ok"
        assert not any(c.has_class("stale") for c in app.query(GpuCard))


def run_started(pid, device="cuda:0", **extra):
    return started(t=time.time(), preset="mnist1d-cnn", device=device, device_name=device, pid=pid, **extra)


def telemetry(t, **fields):
    base = {"type": "telemetry", "time": t, "gpus": [], "host": None, "proc": None,
            "problem": None}
    return {**base, **fields}


TORCH = {"allocated": 20 << 30, "reserved": (20 << 30) + (300 << 20), "peak": 21 << 30}


async def test_local_run_torch_figures_next_to_driver():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([run_started(ME), {"type": "step", "time": time.time(), "loss": 1.0}])
        assert pane.trainer_pid == ME and not pane.events_mode
        await ticks(pilot, pane, 3)
        pane.handle_events([telemetry(time.time(), torch=TORCH, torch_cuda="12.4")])
        await pilot.pause()
        text = pane.text()
        assert f"training process · pid {ME} · cuda:0" in text
        assert "PyTorch allocated 20.0 GiB · reserved 20.3 GiB · peak 21.0 GiB" in text
        assert "driver  20.6 GiB on GPU 0" in text
        assert text.splitlines()[0] == "2 GPUs · NVML ok"
        # the run ends: the pane stops measuring the trainer but keeps the figures
        pane.handle_events([{"type": "run_ended", "time": time.time(), "status": "completed"}])
        assert pane.trainer_pid is None
        await ticks(pilot, pane, 1)
        assert "· ended" in pane.text()
        assert "no training process" in pane.text()


def remote_gpu(util, used):
    return {"index": 0, "name": "NVIDIA H200", "uuid": "GPU-1111", "util": util,
            "mem_used": used, "mem_total": 150 << 30, "temp": 50, "power": 500.0,
            "power_limit": 700.0, "sm_clock": 1980, "proc_mem": 30 << 30}


async def test_replay_uses_the_runs_telemetry():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        t0 = time.time() - 3600
        events = [run_started(NO_SUCH_PID) | {"time": t0}]
        for i in range(HISTORY + 10):
            events.append(telemetry(
                t0 + i, gpus=[remote_gpu(i % 100, (10 << 30) + i)],
                host={"cpu": 25.0, "ram_used": 100 << 30, "ram_total": 2000 << 30, "name": "gpu-node-7"},
                proc={"pid": NO_SUCH_PID, "cpu": 99.0, "rss": 3 << 30},
                torch=TORCH, torch_cuda="12.4"))
        pane.handle_events(events)
        assert pane.events_mode and pane.trainer_pid is None
        await pilot.pause()
        pane.poll()  # local polling does not overwrite the run's figures
        await pilot.pause()
        text = pane.text()
        assert "GPU 0 · NVIDIA H200" in text and "H100" not in text
        assert "100.0 GiB / 2000.0 GiB" in text
        assert "host · gpu-node-7" in text
        assert "trainer CPU 99% · RSS 3.0 GiB" in text
        assert "PyTorch allocated 20.0 GiB · reserved 20.3 GiB · peak 21.0 GiB" in text
        assert "driver  30.0 GiB on GPU 0" in text
        assert "from the run's telemetry (gpu-node-7, " in text.splitlines()[0]
        card = app.query_one(GpuCard)
        assert len(card.util_spark.data) == HISTORY
        assert pane.polls == 0
        # following no run any more: back to this machine's figures
        pane.clear_run()
        await ticks(pilot, pane, 1)
        assert "NVIDIA H100" in pane.text() and "gpu-node-7" not in pane.text()


async def test_remote_run_without_telemetry_says_so():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([run_started(NO_SUCH_PID)])
        await pilot.pause()
        status = pane.text().splitlines()[0]
        assert "not running on this machine" in status and "--telemetry" in status


async def test_pytorch_without_cuda():
    app = host(recorded("no_driver.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([run_started(ME, device="cpu"),
                            telemetry(time.time(), torch=None, torch_cuda=None,
                                      problem="PyTorch built without CUDA; no NVIDIA driver found")])
        await ticks(pilot, pane, 2)
        text = pane.text()
        status = text.splitlines()[0]
        assert "PyTorch built without CUDA" in status
        assert "no NVIDIA driver found" in status
        assert status.count("PyTorch built without CUDA") == 1
        assert "the run trains on cpu: no CUDA memory to show" in text
        host_ok(text)


async def test_polls_in_a_worker_while_visible():
    app = host(recorded("h100x2.json"), interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        for _ in range(200):
            await pilot.pause()
            if pane.polls >= 3:
                break
            await asyncio.sleep(0.02)
        assert pane.polls >= 3
        assert len(list(app.query(GpuCard))) == 2
        pane.display = False
        await pilot.pause()
        await asyncio.sleep(0.15)
        await pilot.pause()
        hidden = pane.polls
        await asyncio.sleep(0.3)
        await pilot.pause()
        assert pane.polls <= hidden + 1  # at most one poll was already in flight


async def test_usable_at_80x24():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([run_started(ME)])
        await ticks(pilot, pane, 2)
        shown = screen_text(app)
        assert "GPU 0 · NVIDIA H100 80GB HBM3" in shown
        assert "87%" in shown and "2.2 GiB / 79.6 GiB" in shown  # the gauges fit
        assert "trainer 1.7 GiB" in shown and "driver  1.7 GiB on GPU 0" in shown
        assert "RAM" in shown


async def test_short_terminal_scrolls_by_keyboard():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(80, 14)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([run_started(ME)])
        await ticks(pilot, pane, 2)
        scroll = app.query_one(VerticalScroll)
        assert "RAM" not in screen_text(app)
        scroll.focus()
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y > 0
        assert "RAM" in screen_text(app)


async def test_switching_from_a_live_run_to_a_replay():
    """The app set the live trainer's pid; a replay of another run must not keep it."""
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.set_trainer_pid(ME)
        pane.handle_events([run_started(ME)])
        await ticks(pilot, pane, 1)
        assert pane.trainer_pid == ME and not pane.events_mode
        old = time.time() - 600
        pane.handle_events([
            run_started(NO_SUCH_PID) | {"run_id": "r2", "time": old},
            telemetry(old + 1, gpus=[remote_gpu(50, 10 << 30)],
                      host={"cpu": 5.0, "ram_used": 1 << 30, "ram_total": 8 << 30, "name": "n2"}),
        ])
        await pilot.pause()
        assert pane.events_mode and pane.trainer_pid is None
        assert "GPU 0 · NVIDIA H200" in pane.text() and "H100" not in pane.text()


async def test_telemetry_before_run_started_is_kept():
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        pane.handle_events([telemetry(time.time(), torch=TORCH, torch_cuda="12.4"), run_started(ME)])
        await ticks(pilot, pane, 1)
        assert "PyTorch allocated 20.0 GiB" in pane.text()


async def test_the_pane_shows_the_view_it_is_given():
    """The pane renders the RunView the app follows the run with (its trainer, its end), not
    a reduction of the events of its own: what the view took before the pane was handed it
    shows too."""
    app = host(recorded("h100x2.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SystemPane)
        view = RunView([run_started(NO_SUCH_PID, device="cuda:1", host="gpu-node-9"),
                        telemetry(time.time(), torch=TORCH, torch_cuda="12.4")])
        pane.show_run(view)
        await pilot.pause()
        assert pane.view is view and pane.events_mode and pane.trainer_pid is None
        text = pane.text()
        assert f"training process · pid {NO_SUCH_PID} · cuda:1" in text
        assert "PyTorch allocated 20.0 GiB · reserved 20.3 GiB · peak 21.0 GiB" in text
        pane.take(view.apply([{"type": "run_ended", "time": time.time(), "status": "completed"}]))
        await pilot.pause()
        assert f"pid {NO_SUCH_PID} · cuda:1 · ended" in pane.text()
