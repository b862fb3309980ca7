"""UI latency: from a step key to the decision table showing the next decision (and to the screen
repainted with it), and whether the UI answers other keys while the LLM works.

Drives the real app headless (Textual's run_test) on the `make play` combination: Text Frozen
Lake, DQN-Prior with its tuned defaults, the embedded SmolLM2 prior on one llama.cpp thread.

- cached: the prior answers from its memory cache (the lake's states repeat), after a warm-up;
  only steps whose decision was a cache hit count. Each is timed twice: until the decision table
  is updated (the target's measure) and until the next screen refresh after it, when the step is
  on screen (Textual's call_after_refresh).
- uncached: no cache at all (memory and disk off), so every decision is an LLM call; while it
  runs, a speed key (+ or -, handled by the UI alone) is pressed and timed until handled.

Prints p50/p95 in ms; the UI latency target is a cached step's p95 ≤ 50 ms. The baseline, in
the same run: the same cached steps through the session controller alone (step + decide, no
screen), so the UI's own share shows; and the load average, since the machine may be shared.

    python benchmarks/ui_latency.py                  # 60 cached and 30 uncached steps
    python benchmarks/ui_latency.py --steps 20 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from sandbox.cli import build_parser  # noqa: E402
from sandbox.arguments import config_from_args  # noqa: E402
from sandbox.ui.app import SandboxApp  # noqa: E402
from sandbox.ui.controller import SessionController, use_one_torch_thread  # noqa: E402
from sandbox.ui.widgets.decision_table import DecisionPanel  # noqa: E402

KEY_TARGET_MS = 50.0
KEY_DELAY_S = 0.02  # after the step key, so the LLM call has begun


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(float(np.percentile(values, 50)), 1), "p95_ms": round(float(np.percentile(values, 95)), 1)}


async def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the UI did not get there in time")
        await asyncio.sleep(0.001)


async def measure(uncached: bool, steps: int, warmup: int, saves: Path) -> dict:
    flags = ["play", "--threads", "1", "--prior-cache", "none"]
    config = config_from_args(build_parser().parse_args(flags))
    if uncached:
        config.prior.memory_cache_size = 0
    app = SandboxApp(config, saves_dir=saves, record_episodes=False)
    shown: list[tuple[float, object]] = []
    painted: dict[int, float] = {}  # index in `shown` → when the screen had been refreshed after it
    step_ms: list[float] = []
    paint_ms: list[float] = []
    key_ms: list[float] = []
    cache_hits = llm_calls = 0
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(DecisionPanel)
        show = panel.show

        def recording_show(decision, note: str = "", optimal: tuple[str, ...] | None = None) -> None:
            show(decision, note, optimal)
            if decision is not None:
                shown.append((time.perf_counter(), decision))
                index = len(shown) - 1
                app.call_after_refresh(lambda: painted.setdefault(index, time.perf_counter()))

        panel.show = recording_show
        await wait_until(lambda: shown and not app.jobs.busy, timeout=300)
        for index in range(warmup + steps):
            before = len(shown)
            started = time.perf_counter()
            app.simulate_key("space")
            if uncached:
                await asyncio.sleep(KEY_DELAY_S)
                if app.jobs.busy:  # the LLM is working: is a UI-only key answered?
                    speed = app.speed_index
                    pressed = time.perf_counter()
                    app.simulate_key("plus" if speed == 0 else "minus")
                    await wait_until(lambda: app.speed_index != speed)
                    key_ms.append((time.perf_counter() - pressed) * 1000)
            # A step that ends the episode shows no decision (the next key starts a new episode).
            await wait_until(lambda: len(shown) > before or (not app.jobs.busy and app.controller.session.done))
            await wait_until(lambda: not app.jobs.busy)
            await wait_until(lambda: len(shown) == before or before in painted)
            await pilot.pause(0.01)
            if index < warmup or len(shown) == before:
                continue
            at, decision = shown[before]
            hit = bool(decision.telemetry.cache_hit)
            cache_hits += hit
            llm_calls += decision.telemetry.llm_call
            if hit != uncached:
                step_ms.append((at - started) * 1000)
                paint_ms.append((painted[before] - started) * 1000)
    result = {"steps": percentiles(step_ms), "steps_to_screen": percentiles(paint_ms), "cache_hits": cache_hits,
              "llm_calls": llm_calls}
    if uncached:
        within = sum(ms <= KEY_TARGET_MS for ms in key_ms)
        result["keys_during_llm"] = {**percentiles(key_ms), "max_ms": round(max(key_ms), 1) if key_ms else None,
                                     "within_50ms": within}
    return result


def engine_baseline(steps: int, warmup: int, saves: Path) -> dict:
    """The same cached steps without the UI: what the engine alone takes per step."""
    use_one_torch_thread()
    config = config_from_args(build_parser().parse_args(["play", "--threads", "1", "--prior-cache", "none"]))
    controller = SessionController(config, saves_dir=saves, record_episodes=False)
    controller.build()
    controller.new_episode()
    controller.decide()
    step_ms = []
    for index in range(warmup + steps):
        started = time.perf_counter()
        record = controller.step()
        if record.done:
            controller.new_episode()
        decision = controller.decide()
        if index >= warmup and decision.telemetry.cache_hit and not record.done:
            step_ms.append((time.perf_counter() - started) * 1000)
    controller.close()
    return percentiles(step_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="measured cached steps (uncached: half as many)")
    parser.add_argument("--warmup", type=int, default=40, help="steps before the cached measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cached = asyncio.run(measure(False, args.steps, args.warmup, Path(folder)))
        uncached = asyncio.run(measure(True, max(1, args.steps // 2), 1, Path(folder)))
        baseline = engine_baseline(args.steps, args.warmup, Path(folder))
    report = {
        "cached": cached,
        "uncached": uncached,
        "engine_only_cached": baseline,
        "target_cached_p95_ms": 50.0,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    keys = uncached["keys_during_llm"]
    print(f"step key → decision table updated (Frozen Lake, DQN-Prior, SmolLM2 on 1 thread):")
    print(f"  cached prior:   p50 {cached['steps'].get('p50_ms', '—')} ms, p95 {cached['steps'].get('p95_ms', '—')} ms "
          f"over {cached['steps']['n']} cache hits (target p95 ≤ 50 ms)")
    print(f"    … to the screen refreshed with it: p50 {cached['steps_to_screen'].get('p50_ms', '—')} ms, "
          f"p95 {cached['steps_to_screen'].get('p95_ms', '—')} ms")
    print(f"  uncached prior: p50 {uncached['steps'].get('p50_ms', '—')} ms, p95 {uncached['steps'].get('p95_ms', '—')} ms "
          f"over {uncached['steps']['n']} LLM calls")
    print(f"  other keys while the LLM works: p50 {keys.get('p50_ms', '—')} ms, p95 {keys.get('p95_ms', '—')} ms, "
          f"max {keys.get('max_ms')} ms; {keys['within_50ms']}/{keys['n']} within 50 ms")
    print(f"  baseline, the engine alone (cached step + decide, no screen): p50 {baseline.get('p50_ms', '—')} ms, "
          f"p95 {baseline.get('p95_ms', '—')} ms")
    print(f"  load average {report['load_average_1min']} on {report['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
