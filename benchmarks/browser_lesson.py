"""Drive a served lesson in headless Chromium: two tabs, keys, screenshots, a wrong token.

    .venv/bin/python benchmarks/browser_lesson.py                      # screenshots into docs/images/
    .venv/bin/python benchmarks/browser_lesson.py --out /tmp/shots --lesson alpha

Starts `python -m sandbox serve` on a free loopback port, then Chromium (headless, fresh profile, no
background networking) through the DevTools protocol: opens the lesson in two tabs, presses → in the
first, checks that only the first moved on (each tab has its own app process), saves a screenshot of
each, and checks that an address with a wrong token is refused. Prints one JSON object; exit status 1
if a check fails. tests/app/test_browser.py runs it where Chromium is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Installed before any page script: keeps every websocket frame's arrival time and its text, so a check
# can read what the terminal was sent (xterm.js draws on a canvas) and when.
WEBSOCKET_TAP = """
(() => {
  const Native = window.WebSocket;
  window.__frames = [];
  window.__text = "";
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    const decoder = new TextDecoder();
    socket.addEventListener("message", (event) => {
      window.__frames.push(performance.now());
      const text = typeof event.data === "string" ? event.data : decoder.decode(new Uint8Array(event.data));
      window.__text = (window.__text + text).slice(-2000000);
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""
KEYS = {  # DevTools key events: (key, code, virtual key code)
    "right": ("ArrowRight", "ArrowRight", 39),
    "left": ("ArrowLeft", "ArrowLeft", 37),
}


def chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Headless Chromium over the DevTools protocol: tabs are attached sessions on one browser websocket."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,860", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.profile = profile
        self.next_id = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.http: aiohttp.ClientSession | None = None
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None

    async def start(self, timeout: float = 60.0) -> None:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("Chromium did not start (no DevToolsActivePort)")
            await asyncio.sleep(0.1)
        port = port_file.read_text().splitlines()[0]
        self.http = aiohttp.ClientSession()
        async with self.http.get(f"http://127.0.0.1:{port}/json/version") as response:
            url = (await response.json())["webSocketDebuggerUrl"]
        self.socket = await self.http.ws_connect(url, max_msg_size=0)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            payload = json.loads(message.data)
            future = self.pending.pop(payload.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(payload)

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        assert self.socket is not None
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self.socket.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def tab(self, url: str) -> Tab:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        session = (await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}))["sessionId"]
        tab = Tab(self, session)
        await tab.send("Page.enable")
        await tab.send("Page.addScriptToEvaluateOnNewDocument", {"source": WEBSOCKET_TAP})
        await tab.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": False})
        await tab.send("Page.navigate", {"url": url})
        return tab

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.socket is not None:
            await self.socket.close()
        if self.http is not None:
            await self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Tab:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    async def page_text(self, needle: str, timeout: float = 30.0) -> str:
        """The HTML page's own text (not a terminal's), once it contains `needle` or the time is up."""
        deadline = time.monotonic() + timeout
        while True:
            text = await self.evaluate("document.body ? document.body.innerText : ''") or ""
            if needle in text or time.monotonic() > deadline:
                return text
            await asyncio.sleep(0.2)

    async def text(self) -> str:
        return await self.evaluate("window.__text || ''") or ""

    async def wait_for(self, pattern: str, timeout: float = 120.0) -> None:
        """Until the terminal has been sent text matching `pattern` (escape codes may sit between words)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while not regex.search(plain(await self.text())):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never showed {pattern!r}")
            await asyncio.sleep(0.25)

    async def quiet(self, seconds: float = 1.0, timeout: float = 60.0) -> None:
        """Until no frame has arrived for `seconds` (the app finished drawing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = await self.evaluate(f"(performance.now() - (window.__frames.at(-1) || 0)) > {seconds * 1000}")
            if idle:
                return
            await asyncio.sleep(0.2)

    async def press(self, key: str) -> float:
        """A real key event in the page (xterm.js takes it from its focused textarea); returns the page's clock."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea') && document.querySelector('.xterm-helper-textarea').focus()")
        sent = await self.evaluate("performance.now()")
        name, code, virtual = KEYS[key]
        for kind in ("rawKeyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", {"type": kind, "key": name, "code": code, "windowsVirtualKeyCode": virtual})
        return sent

    async def screenshot(self, path: Path) -> None:
        await self.send("Page.bringToFront")  # headless Chromium paints the tab in front
        await asyncio.sleep(0.5)
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))


ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[PX^_].*?\x1b\\\\|\x1b.")


def plain(text: str) -> str:
    """Terminal output without its escape sequences."""
    return ESCAPES.sub("", text)


def wait_listening(port: int, timeout: float = 60.0) -> None:
    """The server prints its address just before it starts listening: wait for the port to accept."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_server(port: int, saves: Path, lesson: str | None, max_sessions: int) -> tuple[subprocess.Popen, str]:
    """`python -m sandbox serve` on a loopback port; returns the process and the address with its token."""
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--saves", str(saves), "--max-sessions", str(max_sessions)]
    if lesson:
        command.append(lesson)
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert server.stdout is not None
    for line in server.stdout:
        if "token=" in line:
            wait_listening(port)
            return server, line.strip()
    raise RuntimeError("the server exited before printing its address")


def stop(process: subprocess.Popen) -> None:
    """The server and the app processes it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


async def drive(executable: str, lesson: str, out: Path) -> dict[str, Any]:
    from sandbox.ui.lessons import LESSONS

    pages = LESSONS[lesson].pages
    out.mkdir(parents=True, exist_ok=True)
    checks: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        port = free_port()
        server, address = start_server(port, scratch_path / "saves", None, 4)
        token = address.split("token=")[1]
        base = f"http://127.0.0.1:{port}"
        browser = Browser(executable, scratch_path / "profile")
        try:
            await browser.start()
            index = await browser.tab(f"{base}/?token={token}")
            checks["index lists the lessons"] = "Bayes rule on real steps" in await index.page_text("Bayes rule on real steps")
            await index.screenshot(out / "classroom-index.png")

            first = await browser.tab(f"{base}/run/{lesson}?token={token}")
            second = await browser.tab(f"{base}/run/{lesson}?token={token}")
            for tab in (first, second):
                await tab.wait_for(re.escape(f"1/{len(pages)} {pages[0].title}"))
                await tab.quiet(2.0)
            await first.screenshot(out / f"classroom-{lesson}-page1.png")
            third = f"3/{len(pages)} {pages[2].title}"  # the page counter above the lesson's text
            for _ in range(2):
                await first.press("right")
                await first.quiet(1.0)
            await first.wait_for(re.escape(third))
            await first.quiet(2.0)
            await second.quiet(1.0)
            await first.screenshot(out / f"classroom-{lesson}-page3.png")
            await second.screenshot(out / f"classroom-{lesson}-second-tab.png")
            checks["keys move the first tab to page 3"] = third in plain(await first.text())
            moved = [f"{n}/{len(pages)} {page.title}" for n, page in enumerate(pages[1:3], start=2)]
            second_text = plain(await second.text())
            checks["the second tab stayed on page 1"] = not any(title in second_text for title in moved)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/?token={token}") as response:
                    checks["two tabs run two app processes"] = "2 of 4 places free" in await response.text()

            refused = await browser.tab(f"{base}/run/{lesson}?token=not-the-token")
            checks["a wrong token is refused"] = "Access refused" in await refused.page_text("Access refused")
            await refused.screenshot(out / "classroom-refused.png")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/ws/not-the-token/{lesson}") as response:
                    checks["a websocket with a wrong token is refused"] = response.status == 403
        finally:
            await browser.close()
            stop(server)
    return {"lesson": lesson, "passed": all(checks.values()), "checks": checks, "screenshots": str(out)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="bayes")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    executable = chromium()
    if executable is None:
        print("Chromium is not installed (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    result = asyncio.run(drive(executable, args.lesson, args.out))
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
