"""`tuidl serve`'s arguments, lines and errors, decided before any server starts (in this
process). The server itself, in a real browser, is tests/e2e/test_serve_e2e.py."""

from __future__ import annotations

import socket
import sys

import pytest

from tuidl import cli
from tuidl.ui import serve as S
from helpers import run_cli


@pytest.fixture(autouse=True)
def _never_serve(monkeypatch):
    """No test here may start the server: a check that passed by mistake fails instead of hanging."""
    def refuse(plan):
        raise AssertionError(f"the server would have started: {plan}")

    monkeypatch.setattr(S, "serve", refuse)


def test_defaults_bind_this_machine_only_and_print_the_tunnel():
    plan = cli.serve_plan([])
    assert (plan.host, plan.port, plan.public_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert plan.command == [sys.executable, "-m", "tuidl"] and not plan.exposed
    lines = plan.banner()
    assert lines[0] == "tuidl dashboard in the browser: http://127.0.0.1:8000"
    assert f"  ssh -L 8000:127.0.0.1:8000 {plan.user}@{socket.gethostname()}" in lines
    assert not any("authentication" in line for line in lines)


def test_the_port_is_the_one_in_the_url_and_the_tunnel():
    plan = S.plan(["xor"], port=8123, hostname="gpu1", user="ada")
    assert plan.public_url == "http://127.0.0.1:8123"
    assert plan.ssh_line() == "ssh -L 8123:127.0.0.1:8123 ada@gpu1"
    assert S.plan([], host="::1", hostname="gpu1", user="ada").ssh_line() == "ssh -L 8000:[::1]:8000 ada@gpu1"
    assert S.plan([], host="::1").public_url == "http://[::1]:8000"
    assert S.plan([], host="localhost", hostname="gpu1", user="ada").ssh_line() == "ssh -L 8000:127.0.0.1:8000 ada@gpu1"


def test_any_other_address_needs_a_token_and_warns():
    plan = cli.serve_plan(["--host", "0.0.0.0", "--port", "9000"])
    assert plan.exposed and len(plan.token) >= 32
    assert plan.public_url == f"http://{socket.gethostname()}:9000"  # what a browser elsewhere can open
    assert plan.page_url == f"http://{socket.gethostname()}:9000/?token={plan.token}"
    warning = plan.warning()
    assert warning.startswith("warning: --host 0.0.0.0 serves the dashboard beyond this machine")
    assert "textual-serve has no authentication, so the token in the URL above is the only key" in warning
    lines = plan.banner()
    assert lines[0] == f"tuidl dashboard in the browser: {plan.page_url}"  # the token, printed once
    assert sum(plan.token in line for line in lines) == 1
    assert warning in lines and not any("ssh -L" in line for line in lines)
    assert S.plan([], host="192.168.1.5").exposed and not S.plan([], host="127.0.0.2").exposed
    assert S.plan([], host="::1").token and S.plan([], host="localhost").token  # all but 127.0.0.1
    assert cli.serve_plan([]).token is None and cli.serve_plan([]).page_url == "http://127.0.0.1:8000"
    assert S.plan([], host="0.0.0.0").token != S.plan([], host="0.0.0.0").token  # new each start


def test_each_tab_runs_the_same_dashboard_with_the_same_preset_and_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = cli.serve_plan(["xor", "--set", "train.epochs=3", "--set", "train.optimizer.lr=0.1", "--runs-dir", "r",
                           "--low-bandwidth", "--no-warm-trainer", "--port", "8001"])
    assert plan.command == [sys.executable, "-m", "tuidl", "xor", "--set", "train.epochs=3", "--set",
                            "train.optimizer.lr=0.1", "--runs-dir", str(tmp_path / "r"), "--low-bandwidth",
                            "--no-warm-trainer"]
    assert plan.shell_command.startswith(f"{sys.executable} -m tuidl xor --set train.epochs=3")
    # the command parses as the dashboard's own arguments
    p = cli.Parser(prog="tuidl")
    cli.add_dashboard_args(p)
    args = p.parse_args(plan.command[3:])
    assert (args.preset, args.overrides, args.runs_dir) == ("xor", ["train.epochs=3", "train.optimizer.lr=0.1"],
                                                           str(tmp_path / "r"))


@pytest.mark.parametrize("port, why", [("0", "must be from 1 to 65535, got 0"),
                                       ("70000", "must be from 1 to 65535, got 70000"),
                                       ("abc", "must be a whole number from 1 to 65535, got 'abc'"),
                                       ("-5", "must be from 1 to 65535, got -5")])
def test_a_bad_port_is_one_line_and_exit_2(port, why):
    out = run_cli("serve", "--port", port)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"error: tuidl serve: argument --port: {why}\n"


def test_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_cli("serve", "xor", "--port", str(port))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (f"error: tuidl serve: port {port} on 127.0.0.1 is in use (another tuidl serve or "
                          f"program listens there): choose another with --port\n")


@pytest.mark.parametrize("args, why", [
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: not an address or a known name"),
    (["--host", "192.0.2.1"], "--host 192.0.2.1 is not an address of this machine"),
    (["--public-url", "example.org:8000"], "--public-url must start with http:// or https://"),
    (["no-such-preset"], "no preset named 'no-such-preset'"),
    (["xor", "--set", "train.epochs=-1"], "train.epochs"),
    (["--colour"], "unrecognized arguments: --colour"),
])
def test_other_bad_input_is_one_line_and_exit_2(args, why):
    out = run_cli("serve", *args)
    assert out.returncode == 2 and out.stdout == "", out
    assert out.stderr.startswith("error: ") and why in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_help_says_where_it_listens_and_that_nobody_is_asked_who_they_are():
    out = run_cli("serve", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "--host HOST" in text and "default 127.0.0.1" in text and "no authentication" in text
    assert "a random token in its URL" in text
    assert "--runs-dir" in text and "--set KEY=VALUE" in text
    assert "tuidl serve" in run_cli("--help").stdout


def test_check_port_passes_a_free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    S.check_port("127.0.0.1", port)  # no error


def test_the_page_asks_only_its_own_server_with_relative_urls(tmp_path):
    """The page (as a browser behind ``ssh -L 9000:127.0.0.1:PORT`` asks for it) names no
    host, port or outside web font: every link is relative and is served by tuidl serve
    itself (in this process: aiohttp's test server on a free port)."""
    import asyncio
    import re

    from aiohttp.test_utils import TestClient, TestServer

    plan = S.plan(["xor"], port=8123, hostname="gpu1", user="ada")
    server = S.dashboard_server(plan)

    async def fetch_all() -> tuple[str, dict[str, int], int]:
        client = TestClient(TestServer(await server._make_app()))
        await client.start_server()
        try:
            page = await client.get("/?fontsize=14", headers={"Host": "127.0.0.1:9000"})
            html = await page.text()
            links = re.findall(r'(?:href|src)="([^"]+)"', html) + re.findall(r'url\("([^"]+)"\)', html)
            status = {}
            for link in links:
                status[link] = (await client.get("/" + link)).status
            return html, status, client.port
        finally:
            await client.close()

    html, status, port = asyncio.run(fetch_all())
    assert status and all(code == 200 for code in status.values()), status
    assert not [link for link in status if re.match(r"(\w+:|/)", link)], f"not relative: {list(status)}"
    assert "static/fonts/RobotoMono-VariableFont_wght.ttf" in status  # the font is served here
    for absolute in ("http://", "https://", "ws://", "wss://", "//fonts", "googleapis", "8123", str(port), "9000"):
        assert absolute not in html, f"the page names {absolute!r}"
    assert 'data-font-size="14"' in html
    # the websocket is "ws" beside the page, on whatever host and port the browser used
    assert 'new URL("ws", window.location.href)' in html


async def _client(plan):
    from aiohttp.test_utils import TestClient, TestServer

    client = TestClient(TestServer(await S.dashboard_server(plan)._make_app()))
    await client.start_server()
    return client


def test_with_a_token_a_request_without_it_gets_403_and_no_dashboard():
    """textual-serve's routes behind the token check (aiohttp's test server, in this
    process): the page, the websocket that would start a dashboard, static files."""
    import asyncio

    plan = S.plan(["xor"], host="0.0.0.0", port=8124, hostname="gpu1", user="ada")
    assert plan.token

    async def go():
        client = await _client(plan)
        try:
            out = {}
            for path in ("/", "/?token=wrong", "/ws", "/static/js/textual.js", "/download/x",
                         f"/?token={plan.token[:-1]}"):
                r = await client.get(path)
                out[path] = (r.status, await r.text())
            ws = await client.get("/ws", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                 "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "x3JJHMbDL1EzLkh9GBhXDw=="})
            out["ws-upgrade"] = (ws.status, "")
            return out
        finally:
            await client.close()

    got = asyncio.run(go())
    for path, (status, body) in got.items():
        assert status == 403, path
        assert "<html" not in body.lower() and "textual" not in body.lower(), path
    assert "needs the token in its URL" in got["/"][1]


def test_with_the_token_the_page_and_its_files_are_served_and_a_cookie_carries_it():
    import asyncio
    import re

    plan = S.plan(["xor"], host="0.0.0.0", port=8125, hostname="gpu1", user="ada")

    async def go():
        client = await _client(plan)
        try:
            page = await client.get(f"/?token={plan.token}&fontsize=14")
            html = await page.text()
            cookie = page.cookies.get(plan.cookie)
            links = re.findall(r'(?:href|src)="(static/[^"]+)"', html)
            with_cookie = [(await client.get("/" + link)).status for link in links]  # the jar sends it
            client.session.cookie_jar.clear()
            without = (await client.get("/" + links[0])).status
            return page.status, html, cookie, with_cookie, without
        finally:
            await client.close()

    status, html, cookie, with_cookie, without = asyncio.run(go())
    assert status == 200 and 'new URL("ws", window.location.href)' in html and 'data-font-size="14"' in html
    assert cookie is not None and cookie.value == plan.token and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert with_cookie and all(code == 200 for code in with_cookie)
    assert without == 403


def test_on_127_0_0_1_no_token_is_asked():
    import asyncio

    plan = S.plan(["xor"], port=8126, hostname="gpu1", user="ada")

    async def go():
        client = await _client(plan)
        try:
            return (await client.get("/")).status
        finally:
            await client.close()

    assert plan.token is None and asyncio.run(go()) == 200
