"""`python -m sandbox serve`: the lessons (or the whole app) in the browser, one app process per tab.

textual-serve runs each browser tab's Textual app as its own process and streams its screen over
a websocket. This server adds what a classroom needs around it: a page listing the lessons; an
access token in every URL (made per server, printed once at start, never logged: the access log is
off); a cap on concurrent sessions, with a clear page when it is reached; and every app started in
classroom mode (oracle prior, writes only under saves/, one thread). The page loads nothing from
the internet: textual-serve's own template fetches a web font, so ours uses its bundled copy.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import secrets
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from envs.games import GAMES_DIR_ENV_VAR

TEMPLATES = Path(__file__).parent / "web_templates"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# One thread per app process: 2 cores serve many students only if no process spreads over both.
THREAD_LIMITS = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCH_NUM_THREADS")}

log = logging.getLogger("sandbox.web")


@dataclass(frozen=True)
class Target:
    """One thing a tab can open: a lesson or the whole app, and the command that runs it in classroom mode."""

    name: str
    title: str
    summary: str
    command: str


def lesson_targets(lessons: Mapping[str, tuple[str, str]], saves: Path, only: str | None = None) -> dict[str, Target]:
    """Each lesson (name → (title, summary)) as a classroom-mode `demo` process; `only` serves one lesson."""
    python = shlex.quote(sys.executable)
    return {
        name: Target(name, title, summary, f"{python} -m sandbox demo {shlex.quote(name)} --classroom --saves {shlex.quote(str(saves))}")
        for name, (title, summary) in lessons.items()
        if only is None or name == only
    }


def app_target(saves: Path, prior_model: str) -> dict[str, Target]:
    """The whole sandbox app in classroom mode: the oracle prior, no prompt templates to write, no prior cache file."""
    python = shlex.quote(sys.executable)
    command = (
        f"{python} -m sandbox play --saves {shlex.quote(str(saves))} --prior-model {shlex.quote(prior_model)} "
        "--templates-dir none --prior-cache none --threads 1"
    )
    return {"app": Target("app", "The sandbox", "the whole app: watch, steer and take over an agent", command)}


class ClassroomServer(Server):
    """textual-serve's server with a lesson list, an access token and a session cap."""

    def __init__(
        self,
        targets: dict[str, Target],
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        token: str | None = None,
        max_sessions: int = 8,
        saves: Path = Path("saves"),
        title: str = "LLM-prior sandbox · lessons",
    ) -> None:
        super().__init__(command="", host=host, port=port, title=title, templates_path=TEMPLATES)
        self.targets = targets
        self.token = token or secrets.token_urlsafe(16)
        self.max_sessions = max_sessions
        self.sessions = 0  # app processes running now
        self.saves = saves  # the only folder the apps write to
        self.site_title = title

    @property
    def url(self) -> str:
        """The address to open, token included: printed once at start, never logged."""
        return f"{self.public_url}/?token={self.token}"

    # ----- access --------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        """The token from the address: in the query, or in the path of the websocket (the page's script appends
        its own query to that address)."""
        given = request.match_info.get("token") or request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _refuse(self) -> web.Response:
        return page(
            "Access refused",
            "<p>This address needs the access token the server printed when it started "
            "(<code>?token=…</code> in the address). Ask the person who runs it for the full address.</p>",
            status=403,
        )

    @property
    def full(self) -> bool:
        return self.sessions >= self.max_sessions

    # ----- routes ----------------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/run/{name}", self.handle_run, name="run"),
                web.get("/ws/{token}/{name}", self.handle_websocket, name="websocket"),
                # An export the app hands the browser: its key is a one-time random id, asked for by the page's script.
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        return app

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        if not self._authorised(request):
            return self._refuse()
        token = html.escape(self.token)
        items = "".join(
            f'<li><a href="/run/{html.escape(target.name)}?token={token}">{html.escape(target.title)}</a>'
            f" <span>{html.escape(target.summary)}</span></li>"
            for target in self.targets.values()
        )
        room = f"{self.max_sessions - self.sessions} of {self.max_sessions} places free"
        return page(self.site_title, f"<p>Pick a lesson; each tab runs its own copy ({room}).</p><ul>{items}</ul>")

    async def handle_run(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse()
        target = self.targets.get(request.match_info["name"])
        if target is None:
            return page("No such lesson", f"<p>Lessons here: {html.escape(', '.join(self.targets))}.</p>", status=404)
        if self.full:
            return full_page(self.max_sessions)
        websocket = f"ws://{request.host}/ws/{self.token}/{target.name}"
        context = {
            "font_size": 16,
            "app_websocket_url": websocket,
            "config": {"static": {"url": "/static/"}},
            "application": {"name": target.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if not self._authorised(request):
            return self._refuse()
        target = self.targets.get(request.match_info["name"])
        if target is None:
            raise web.HTTPNotFound(text="no such lesson")
        if self.full:
            return full_page(self.max_sessions)
        self.sessions += 1
        try:
            return await self._run_app(request, target)
        finally:
            self.sessions -= 1

    async def _run_app(self, request: web.Request, target: Target) -> web.WebSocketResponse:
        """textual-serve's websocket loop, for this target's command, with one thread per process."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = bounded(request.query.get("width", "80"), 80)
        height = bounded(request.query.get("height", "24"), 24)
        service: AppService | None = None
        try:
            await websocket.prepare(request)
            service = ClassroomAppService(
                target.command,
                saves=self.saves,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=False,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a broken tab must not take the server down
            log.warning("a session ended with an error: %s", type(error).__name__)
        finally:
            if service is not None:
                await service.stop()
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; ours prints the address (with the token) once, from `serve`."""

    def serve(self, debug: bool = False) -> None:
        """Run until Ctrl+C, with no access log: a logged request line would carry the token."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        web.run_app(self._make_app(), host=self.host, port=self.port, access_log=None, print=lambda *args: None, loop=loop)


class ClassroomAppService(AppService):
    """An app process with one thread for torch, BLAS and OpenMP, whose generated games go under saves/."""

    def __init__(self, command: str, *, saves: Path, **options: Any) -> None:
        super().__init__(command, **options)
        self.saves = saves

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment.update(THREAD_LIMITS)
        environment[GAMES_DIR_ENV_VAR] = str(self.saves / "games")
        return environment


def bounded(value: str, default: int) -> int:
    """A terminal size from the browser, kept to what a screen can show."""
    try:
        return min(max(int(value), 20), 400)
    except ValueError:
        return default


def page(title: str, body: str, status: int = 200) -> web.Response:
    """A plain page with no outside resources."""
    text = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>"
        "body{{font-family:monospace;background:#0c181f;color:#e6edf3;margin:3em;max-width:60em}}"
        "a{{color:#79c0ff}} li{{margin:.6em 0}} span{{color:#8b949e}}</style></head>"
        "<body><h1>{title}</h1>{body}</body></html>"
    ).format(title=html.escape(title), body=body)
    return web.Response(text=text, content_type="text/html", status=status)


def full_page(capacity: int) -> web.Response:
    return page(
        "The class is full",
        f"<p>All {capacity} places are taken: this server runs at most {capacity} lessons at once so that each "
        "stays quick. Close a tab you no longer use, or try again in a minute.</p>",
        status=503,
    )


def check_host(host: str, allow_remote: bool) -> None:
    """Loopback unless asked: another host exposes the lessons to the network."""
    from sandbox.errors import SandboxError

    if host not in LOOPBACK and not allow_remote:
        raise SandboxError(
            f"--host {host} would let other machines reach the lessons; add --allow-remote to confirm "
            "(they will still need the access token in the address)"
        )

