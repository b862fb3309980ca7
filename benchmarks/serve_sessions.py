"""How many concurrent lesson sessions do 2 cores hold? Keypress-to-screen latency per served session.

    .venv/bin/python benchmarks/serve_sessions.py                      # 1, 2, 4, 8, 12 sessions of `bayes`
    .venv/bin/python benchmarks/serve_sessions.py --sessions 1 4 --presses 8 --cores 0,1

Starts `python -m sandbox serve` (pinned with taskset to --cores, the app processes with it), opens N
sessions as a browser would (textual-serve's websocket protocol, no browser: the browser runs on each
student's machine), waits until each shows the lesson's first page, then has every session press → and
← in turn, one key every --gap seconds with a random offset, like students reading and paging. For each
press it times the first screen update to arrive (first frame) and the end of the repaint (the last
frame before 150 ms of quiet). Prints one JSON object per N: per-session p95 of both, their worst over
the sessions, the 1-session baseline's p95 measured in the same run, the ratio to it, the RSS of the app
processes, the CPU seconds the server and its apps spent per key press (idle time included) and the cores
they kept busy, and the machine's load average (other work on the machine slows every latency figure; the
CPU figures hold whatever else runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.browser_lesson import free_port, plain, wait_listening  # noqa: E402

QUIET_S = 0.15  # a repaint has ended when no frame arrived for this long
KEYS = ("\x1b[C", "\x1b[D")  # →, ←: page 2 and back to page 1 (no training: a student reading)


class Session:
    """One tab's websocket: frames' arrival times and the text they carried."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: list[float] = []
        self.text = ""
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.frames.append(time.perf_counter())
                self.text = (self.text + message.data.decode("utf-8", "replace"))[-200000:]

    async def wait_for(self, pattern: str, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not re.search(pattern, plain(self.text)):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"a session never showed {pattern!r}")
            await asyncio.sleep(0.1)
        await self.quiet(1.0, timeout)

    async def quiet(self, seconds: float, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and self.frames and time.perf_counter() - self.frames[-1] < seconds:
            await asyncio.sleep(0.02)

    async def press(self, key: str) -> tuple[float, float] | None:
        """Seconds from sending the key to the first frame and to the end of the repaint (None: nothing came)."""
        before = len(self.frames)
        sent = time.perf_counter()
        await self.socket.send_json(["stdin", key])
        deadline = sent + 30.0
        while len(self.frames) == before:
            if time.perf_counter() > deadline:
                return None
            await asyncio.sleep(0.002)
        await self.quiet(QUIET_S)
        return self.frames[before] - sent, self.frames[-1] - sent


def descendants(server_pid: int) -> set[int]:
    """Every process under the server (its app processes), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    below, frontier = set(), {server_pid}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def app_rss_mb(server_pid: int) -> float:
    total_kb = 0
    for pid in descendants(server_pid):
        try:
            total_kb += int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))
        except (OSError, AttributeError):
            continue
    return total_kb / 1024


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time the processes have used (the server's and the apps'): what the sessions cost,
    whatever else the machine runs."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


async def measure(url: str, count: int, presses: int, gap: float, server_pid: int, first_page: str) -> dict:
    async with aiohttp.ClientSession() as http:
        sessions = [Session(await http.ws_connect(f"{url}?width=120&height=36", max_msg_size=0)) for _ in range(count)]
        await asyncio.gather(*(session.wait_for(re.escape(first_page), 600) for session in sessions))
        rss = app_rss_mb(server_pid)
        processes = descendants(server_pid) | {server_pid}
        cpu_before, wall_before = cpu_seconds(processes), time.perf_counter()

        async def student(session: Session, seed: int) -> list[tuple[float, float]]:
            rng = random.Random(seed)
            await asyncio.sleep(rng.uniform(0, gap))
            timings = []
            for press in range(presses):
                timing = await session.press(KEYS[press % 2])
                if timing is not None:
                    timings.append(timing)
                await asyncio.sleep(gap * rng.uniform(0.5, 1.5))
            return timings

        results = await asyncio.gather(*(student(session, seed) for seed, session in enumerate(sessions)))
        cpu = cpu_seconds(processes) - cpu_before
        wall = time.perf_counter() - wall_before
        for session in sessions:
            session.reader.cancel()
            await session.socket.close()
    first = [float(np.percentile([t[0] for t in timings], 95)) * 1000 for timings in results if timings]
    full = [float(np.percentile([t[1] for t in timings], 95)) * 1000 for timings in results if timings]
    return {
        "sessions": count,
        "answered": sum(len(timings) for timings in results),
        "asked": count * presses,
        "first_frame_p95_ms_worst_session": round(max(first), 1),
        "repaint_p95_ms_worst_session": round(max(full), 1),
        "repaint_p95_ms_per_session": [round(value, 1) for value in full],
        "app_rss_mb": round(rss),
        "cpu_s_per_press": round(cpu / max(1, sum(len(timings) for timings in results)), 4),
        "cores_busy": round(cpu / wall, 3),  # CPU seconds the sessions used per second of the pressing phase
        "load_average_1min": os.getloadavg()[0],
    }


def wait_until_free(index: str, capacity: str, timeout: float = 120.0) -> None:
    """Until the closed sessions' apps have exited and the server counts every place free again."""
    import urllib.request

    deadline = time.perf_counter() + timeout
    while capacity not in urllib.request.urlopen(index).read().decode():
        if time.perf_counter() > deadline:
            raise TimeoutError("the closed sessions never ended")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8, 12])
    parser.add_argument("--presses", type=int, default=10, help="keys each session presses")
    parser.add_argument("--gap", type=float, default=1.5, help="mean seconds between a session's keys")
    parser.add_argument("--lesson", default="bayes")
    parser.add_argument("--cores", default="0,1", help="CPUs the server and its apps may use (taskset -c)")
    args = parser.parse_args()
    from sandbox.ui.lessons import LESSONS

    first_page = f"1/{len(LESSONS[args.lesson].pages)} {LESSONS[args.lesson].pages[0].title}"
    with tempfile.TemporaryDirectory() as saves:
        port = free_port()
        command = ["taskset", "-c", args.cores, sys.executable, "-m", "sandbox", "serve", "--port", str(port),
                   "--saves", saves, "--max-sessions", str(max(args.sessions)), args.lesson]  # fmt: skip
        capacity = f"{max(args.sessions)} of {max(args.sessions)} places free"
        server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            assert server.stdout is not None
            token = next(line for line in server.stdout if "token=" in line).strip().split("token=")[1]
            wait_listening(port)
            url = f"ws://127.0.0.1:{port}/ws/{token}/{args.lesson}"
            baseline = None
            for count in args.sessions:
                started = time.perf_counter()
                result = asyncio.run(measure(url, count, args.presses, args.gap, server.pid, first_page))
                result["wall_s"] = round(time.perf_counter() - started, 1)
                if baseline is None:
                    baseline = result["repaint_p95_ms_worst_session"]
                result["baseline_repaint_p95_ms"] = baseline
                result["ratio_to_baseline"] = round(result["repaint_p95_ms_worst_session"] / baseline, 2)
                print(json.dumps(result), flush=True)
                wait_until_free(f"http://127.0.0.1:{port}/?token={token}", capacity)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
