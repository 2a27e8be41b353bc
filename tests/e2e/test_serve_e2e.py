"""`tuidl serve` in a real browser: headless Chromium (Debian's package, driven by
Playwright) opens the page, sees the panes, presses 3 then s, and sees the epoch counter
advance and the charts draw; x stops the run, Ctrl+C stops the server.

The browser reaches the server as through ``ssh -L A:127.0.0.1:B``: a TCP forwarder in
the test listens on another port (A) than the server's (B), and the page is opened at A.
Every request the page makes must go to A (the others are refused and the test fails),
the websocket included, and the font must come from the server itself.

textual-serve's page draws the terminal with xterm.js on a canvas (WebGL, else 2-D), so the
text is in no DOM element. The test reads it where xterm.js keeps it: the terminal's
buffer (``terminal.buffer.active``, xterm.js's public API), one string per row. The page
does not expose its ``Terminal``: an init script notes the object that textual-serve's
page assigns ``webglAddon`` to (its terminal wrapper, which holds ``terminal``).

Chromium is a system package, not a wheel: ``apt-get install chromium`` (Debian, Ubuntu)
or ``TUIDL_CHROMIUM=/path/to/chrome``. ``.ci/run`` installs it. Without it the test fails
saying so; it is never skipped."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tuidl.core.run import rundir as R
from helpers import end_process, kinds, wait_until

EPOCHS = 2000  # far more than the test waits for: x stops the run

# Notes the object that receives ``webglAddon`` (textual-serve's terminal wrapper), then
# lets the property be an ordinary one on it.
HOOK = """
Object.defineProperty(Object.prototype, 'webglAddon', {
  configurable: true,
  set(value) {
    window.__tuidlTerminal = this;
    Object.defineProperty(this, 'webglAddon', {value, writable: true, configurable: true, enumerable: true});
  },
});
"""
READ = """() => {
  const holder = window.__tuidlTerminal;
  if (!holder || !holder.terminal) return null;
  const term = holder.terminal, buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""
EPOCH = re.compile(r"epoch (\d+)/(\d+)")


def chromium() -> str:
    path = os.environ.get("TUIDL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("the browser test needs Chromium, which is a system package: `apt-get install chromium` "
                    "(Debian, Ubuntu; .ci/run does it), or set TUIDL_CHROMIUM to a Chrome or Chromium binary")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forwarder:
    """A tiny TCP forwarder, ``ssh -L`` in miniature: connections to ``port`` are piped to
    127.0.0.1:``target`` (in a thread of its own, with its own event loop)."""

    def __init__(self, target: int) -> None:
        import asyncio

        self.target = target
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(asyncio.start_server(self._pipe, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _pipe(self, reader, writer) -> None:
        import asyncio

        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return

        async def copy(src, dst) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_in_a_real_browser_trains_and_stops(tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright: pip install -e '.[test]'")
    browser_path = chromium()
    runs = tmp_path / "runs"
    port = free_port()
    base = f"http://127.0.0.1:{port}"  # what tuidl serve prints
    log_path = tmp_path / "serve.log"
    shots = tmp_path / "page.png"
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "tuidl", "serve", "xor", "--port", str(port), "--runs-dir", str(runs),
             "--set", f"train.epochs={EPOCHS}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    trainer_pid = None
    screen = ""
    try:
        def served() -> bool:
            assert server.poll() is None, f"tuidl serve ended ({server.returncode}):\n{log_path.read_text()}"
            return f"tuidl dashboard in the browser: {base}" in log_path.read_text()

        wait_until(served, timeout=60, what="tuidl serve's URL line")
        banner = log_path.read_text()
        assert f"ssh -L {port}:127.0.0.1:{port} " in banner
        assert f"-m tuidl xor --set train.epochs={EPOCHS} --runs-dir {runs}" in banner

        tunnel = Forwarder(port)  # as `ssh -L A:127.0.0.1:B`: the browser knows port A only
        forwarded = f"http://127.0.0.1:{tunnel.port}"
        refused: list[str] = []
        sockets: list[str] = []
        fonts: list[str] = []

        def route(r) -> None:
            if r.request.url.startswith(forwarded + "/"):
                r.continue_()
            else:  # another host (a font server) or the server's own port: it would fail through a tunnel
                refused.append(r.request.url)
                r.abort()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.route("**/*", route)
                page.on("websocket", lambda ws: sockets.append(ws.url))
                page.on("response", lambda r: fonts.append(f"{r.status} {r.url}") if "/fonts/" in r.url else None)
                page.add_init_script(HOOK)
                page.goto(forwarded + "/")

                def read() -> str:
                    nonlocal screen
                    screen = page.evaluate(READ) or ""
                    return screen

                def shows(*texts: str) -> bool:
                    return all(t in read() for t in texts)

                def fail(what: str) -> None:
                    page.screenshot(path=str(shots))
                    raise AssertionError(f"{what}; the page as it looks: {shots}; the terminal's text:\n{screen}"
                                         f"\ntuidl serve's output:\n{log_path.read_text()[-3000:]}")

                try:
                    # every pane, the Training pane's charts waiting for a run
                    wait_until(lambda: shows("Model builder", "Dataset & split", "Training", "GPU / system", "Runs",
                                             "Start [s]", "waiting for data"),
                               timeout=120, what="the dashboard's panes in the page")
                except AssertionError:
                    if page.evaluate("() => !window.__tuidlTerminal"):
                        fail("the page's xterm.js terminal was not found (textual-serve's page changed?)")
                    fail("the dashboard's panes did not show")
                opened = time.monotonic() - t0
                assert not refused, f"the page asked for what a tunnel or an offline server cannot give: {refused}"
                assert sockets and all(u.startswith(f"ws://127.0.0.1:{tunnel.port}/ws") for u in sockets), sockets
                assert fonts and all(f.startswith("200 " + forwarded + "/static/fonts/") for f in fonts), fonts
                loaded = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded')"
                                       ".map(f => f.family)")
                assert any("Roboto Mono" in family for family in loaded), f"Roboto Mono not loaded: {loaded}"

                page.locator("textarea.xterm-helper-textarea").focus()
                page.keyboard.press("3")  # the Training pane
                page.keyboard.press("s")  # Start
                seen: set[int] = set()

                def advancing() -> bool:
                    seen.update(int(n) for n, total in EPOCH.findall(read()) if int(total) == EPOCHS)
                    return (len([n for n in seen if n >= 1]) >= 2 and "waiting for data" not in screen
                            and "┤" in screen)

                try:
                    wait_until(advancing, timeout=180, what="epochs advancing and the charts drawing")
                except AssertionError:
                    fail(f"after 3 and s: epochs seen {sorted(seen)}")
                run = R.list_runs(runs)[0]
                trainer_pid = run.status().get("pid")
                assert kinds(run, "epoch"), "the page showed epochs the run did not log"

                page.keyboard.press("x")  # Stop: the trainer checkpoints and ends
                try:
                    wait_until(lambda: run.status().get("status") == "stopped" and "stopped" in read(),
                               timeout=90, what="the run stopped from the browser", run=run)
                except AssertionError:
                    fail(f"after x: status {run.status()}")
                trained = time.monotonic() - t0
            finally:
                browser.close()
                tunnel.close()
        assert tunnel.connections >= 2, tunnel.connections  # the page and its websocket came through it

        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C in the terminal that runs tuidl serve
        assert server.wait(timeout=60) == 0, log_path.read_text()
        wait_until(lambda: not group_alive(server.pid), timeout=30, what="the dashboards to end")
        out = log_path.read_text()
        assert "a browser tab opened from 127.0.0.1" in out and out.rstrip().endswith("tuidl serve: stopped")
        assert "Traceback" not in out, out
        print(f"page with panes after {opened:.1f} s, run stopped after {trained:.1f} s, "
              f"epochs seen {sorted(seen)}, all ended after {time.monotonic() - t0:.1f} s")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        end_process(trainer_pid)


async def test_the_server_waits_for_a_closing_dashboard_and_ends_one_that_hangs():
    """A dashboard whose output has ended may still be closing when the server stops: the
    server's loop must take its exit before it closes (else, after `tuidl serve: stopped`,
    asyncio printed a warning and a `RuntimeError: Event loop is closed` traceback; seen in
    the browser test). One that hangs is ended."""
    import asyncio

    import psutil

    from tuidl.ui.serve import end_dashboards

    async def dashboard(code: str):
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import os, sys, time; " + code,
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert await proc.stdout.read() == b""  # its output ended, as textual-serve sees a closing dashboard
        return proc

    closing = await dashboard("os.close(1); time.sleep(1.0)")
    hanging = await dashboard("os.close(1); time.sleep(60)")
    t0 = time.monotonic()
    await end_dashboards([psutil.Process(closing.pid), psutil.Process(hanging.pid)], timeout=2.0)
    waited = time.monotonic() - t0
    # both exits reached the loop before end_dashboards returned: nothing is left for a closed loop
    assert closing.returncode == 0 and hanging.returncode == -signal.SIGTERM, (closing.returncode, hanging.returncode)
    assert waited >= 2.0, waited  # the hanging one was given the whole timeout first
