"""``tuidl serve``: the dashboard in a web browser, through textual-serve.

textual-serve runs a small web server. Each browser tab that opens the page gets its own
dashboard process (the command in :attr:`ServePlan.command`, the same ``tuidl`` dashboard
with the same preset and flags), whose screen it sends to xterm.js in the page.

What is decided before anything starts (the command, the address, the URL, the lines
printed, whether the port is free) is plain functions, so the CLI's handling can be
tested without a server. textual-serve has no authentication: whoever reaches the port
can start training and read every run, hence 127.0.0.1 by default. On any other
``--host`` the page needs a random token (``secrets.token_urlsafe``) in its URL, printed
once at start: an aiohttp middleware in front of every route of textual-serve's (the page,
its websocket, downloads, static files) answers 403 without it. The first request with
the token sets a cookie (HttpOnly, SameSite=Strict, named for the port), which the
page's own requests (its scripts, its websocket) then carry."""

from __future__ import annotations

import contextlib
import errno
import getpass
import ipaddress
import secrets
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WILDCARDS = ("0.0.0.0", "::", "")


class ServeError(Exception):
    """The server cannot start here (a busy port, an unknown address): one line for the user."""


def parse_port(text: str) -> int:
    """A TCP port, 1..65535, for ``--port`` (argparse's ``type=``)."""
    import argparse

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, got {port}")
    return port


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it goes in a URL (an IPv6 address in brackets)."""
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class ServePlan:
    command: list[str]  # the dashboard process each browser tab gets
    host: str
    port: int
    public_url: str  # what the banner prints (the page itself uses relative URLs)
    hostname: str  # this machine's name, for the ssh line
    user: str
    token: str | None = None  # the page's key in its URL (any --host but 127.0.0.1), None: none needed

    @property
    def page_url(self) -> str:
        """The URL to open: :attr:`public_url`, with the token when one is needed."""
        return f"{self.public_url}/?token={self.token}" if self.token else self.public_url

    @property
    def cookie(self) -> str:
        """The cookie that carries the token after the first request (one per port: two
        servers on one host keep theirs)."""
        return f"tuidl_token_{self.port}"

    @property
    def exposed(self) -> bool:
        """Bound beyond this machine: anyone who reaches the port can use the dashboard."""
        return not is_loopback(self.host)

    @property
    def shell_command(self) -> str:
        return shlex.join(self.command)

    def ssh_line(self) -> str:
        """The tunnel that brings the port to a laptop. The same port on both ends keeps the
        URL printed above right; any local port works (the page's URLs are relative)."""
        target = url_host(self.host) if self.host.lower() != "localhost" else DEFAULT_HOST
        return f"ssh -L {self.port}:{target}:{self.port} {self.user}@{self.hostname}"

    def warning(self) -> str:
        return (f"warning: --host {self.host} serves the dashboard beyond this machine; textual-serve has no "
                f"authentication, so the token in the URL above is the only key: whoever has the URL can start "
                f"training and read every run (over plain http it crosses the network in clear). Bind 127.0.0.1 "
                f"(the default) and use an SSH tunnel unless this network is yours alone.")

    def banner(self) -> list[str]:
        """What ``tuidl serve`` prints before it serves (the only place the token is shown)."""
        lines = [f"tuidl dashboard in the browser: {self.page_url}",
                 "each browser tab runs its own dashboard: " + self.shell_command]
        if self.exposed:
            lines.append(self.warning())
        else:
            lines += ["from another machine, open an SSH tunnel there, then the URL above:",
                      "  " + self.ssh_line()]
        lines.append("Ctrl+C stops the server (and the dashboards; runs that train go on)")
        return lines


def plan(dashboard_args: list[str], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
         public_url: str | None = None, hostname: str | None = None, user: str | None = None) -> ServePlan:
    """Decide everything about a ``tuidl serve`` without starting it. ``dashboard_args``:
    the ``tuidl`` dashboard's own arguments (preset, ``--set``, ``--runs-dir``...). Any
    ``host`` but 127.0.0.1 gets a new random token."""
    hostname = hostname or socket.gethostname()
    if public_url is None:
        shown = hostname if host in WILDCARDS else url_host(host)
        public_url = f"http://{shown}:{port}"
    if not public_url.startswith(("http://", "https://")):
        raise ServeError(f"--public-url must start with http:// or https://, got {public_url!r}")
    if user is None:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no name for this uid: the ssh line says "user"
            user = "user"
    token = None if host == DEFAULT_HOST else secrets.token_urlsafe(24)
    return ServePlan(command=[sys.executable, "-m", "tuidl", *dashboard_args], host=host, port=port,
                     public_url=public_url.rstrip("/"), hostname=hostname, user=user, token=token)


FORBIDDEN = ("403: this tuidl serve needs the token in its URL (printed by tuidl serve when it started: "
             "http://HOST:PORT/?token=...)\n")


def token_middleware(token: str, cookie: str):
    """An aiohttp middleware in front of every route: a request passes with ``?token=``
    or the cookie equal to ``token`` (compared in constant time), else 403 and nothing of
    the dashboard. A request that brought the token in its URL gets the cookie."""
    from aiohttp import web

    expected = token.encode()

    def matches(value: str | None) -> bool:
        return value is not None and secrets.compare_digest(value.encode(), expected)

    @web.middleware
    async def check_token(request, handler):
        in_url = matches(request.query.get("token"))
        if not (in_url or matches(request.cookies.get(cookie))):
            raise web.HTTPForbidden(text=FORBIDDEN)
        response = await handler(request)
        if in_url and isinstance(response, web.StreamResponse) and not response.prepared:
            response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
        return response

    return check_token


def check_port(host: str, port: int) -> None:
    """Raise :class:`ServeError` with the reason if the server could not listen on
    ``host:port`` (a port in use, an address not of this machine, a name not known)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"--host {host}: not an address or a known name ({e.strerror})") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                s.bind(address)
            except OSError as e:
                raise ServeError(bind_problem(host, port, e)) from None


def bind_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (another tuidl serve or program listens there): choose another with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return f"no permission to listen on port {port} (ports below 1024 need root): choose another with --port"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def serve(the_plan: ServePlan) -> None:
    """Serve until Ctrl+C (or SIGTERM). Raises :class:`ServeError` if it cannot listen."""
    server = dashboard_server(the_plan)
    try:
        server.serve()
    except OSError as e:  # the port was taken between the check and the bind
        raise ServeError(bind_problem(the_plan.host, the_plan.port, e)) from None


PAGE = Path(__file__).with_name("serve_page")  # tuidl's page (index.html) in place of textual-serve's


def dashboard_server(the_plan: ServePlan):
    """textual-serve's ``Server`` for ``the_plan``, with five changes: the token check
    (:func:`token_middleware`) when the plan has a token, tuidl's own page
    (every URL in it relative, the font and scripts served from here: see
    ``serve_page/index.html``), no logo (the CLI printed its lines), a line per browser
    tab instead of a log line per HTTP request, and on shutdown each tab's dashboard is
    told to quit at once (aiohttp would otherwise wait for open websockets to end by
    themselves).

    textual-serve's own page writes ``public_url`` into every link (``http://127.0.0.1:8000/static/...``
    and ``ws://127.0.0.1:8000/ws``) and asks fonts.googleapis.com for its font: through a
    tunnel on another port, or without internet, it broke."""
    import asyncio
    import logging

    import aiohttp_jinja2
    from textual_serve.server import Server, to_int

    class DashboardServer(Server):
        tabs: set[asyncio.Task]

        @aiohttp_jinja2.template("index.html")
        async def handle_index(self, request):
            return {"title": self.title, "font_size": to_int(request.query.get("fontsize", "16"), 16)}

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app) -> None:
            self.tabs = set()
            if the_plan.token:  # (on_startup runs before aiohttp freezes the app's middlewares)
                app.middlewares.append(token_middleware(the_plan.token, the_plan.cookie))

        async def handle_websocket(self, request):
            task = asyncio.current_task()
            self.tabs.add(task)
            print(f"a browser tab opened from {request.remote}: a dashboard started ({len(self.tabs)} open)",
                  flush=True)
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.discard(task)
                print(f"a browser tab closed: its dashboard ended ({len(self.tabs)} open)", flush=True)

        async def on_shutdown(self, app) -> None:
            tabs = set(self.tabs)
            for task in tabs:
                task.cancel()  # textual-serve then sends the dashboard "quit" and waits for it
            if tabs:
                await asyncio.wait(tabs, timeout=15)
            await end_dashboards()

    return DashboardServer(the_plan.shell_command, host=the_plan.host, port=the_plan.port, title="tuidl",
                           public_url=the_plan.public_url, templates_path=PAGE)


async def end_dashboards(children: list | None = None, timeout: float = 10.0) -> None:
    """Wait for the dashboards' processes to end, while the event loop still runs.

    textual-serve stops reading a tab's dashboard when its output ends, and it never waits
    for the process itself. A dashboard still closing when the server's loop closed left
    asyncio's child watcher a closed loop: a warning, and a traceback from the process's
    transport when it was freed (``RuntimeError: Event loop is closed``) after ``tuidl
    serve: stopped``. This waits for ``children`` (``psutil.Process`` objects; by default
    this process's children: the dashboards, told to quit; their runs train in sessions
    of their own and go on) without reaping them (the child watcher does, and hands each
    exit to the loop), and ends those still there after ``timeout`` seconds."""
    import asyncio

    import psutil

    if children is None:
        children = psutil.Process().children()

    def running() -> list[psutil.Process]:
        alive = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    alive.append(child)
        return alive

    async def until_ended(seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        while running() and asyncio.get_running_loop().time() < until:
            await asyncio.sleep(0.05)

    await until_ended(timeout)
    for child in running():
        with contextlib.suppress(psutil.Error):
            child.terminate()
    await until_ended(3.0)
    for _ in range(3):  # the exits the watcher reaped last reach their transports
        await asyncio.sleep(0.05)
