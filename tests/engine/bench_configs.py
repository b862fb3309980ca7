"""Every run config a `bench` experiment builds, captured without training: the Trainer, the one-off
evaluations and dataset collection are replaced by fakes that record the config they are handed.

`tests/engine/test_engine_config_path.py` compares them with `bench_configs.json`, the configs the
experiments built before they moved onto `sandbox.engine.config.build_config` (recorded from that code), so
a kept run's settings cannot change unnoticed; and reads the sources they record.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sandbox.cli import main
from sandbox.engine.config import RunConfig

# (name, argv): each experiment at its full settings and at --quick; prior and prior-quality build no run config.
INVOCATIONS = (
    ("sample-efficiency", ["bench", "sample-efficiency"]),
    ("sample-efficiency-quick", ["bench", "sample-efficiency", "--quick"]),
    ("ablation", ["bench", "ablation"]),
    ("ablation-quick", ["bench", "ablation", "--quick"]),
    ("prior-strength", ["bench", "prior-strength"]),
    ("prior-strength-quick", ["bench", "prior-strength", "--quick"]),
    ("alfworld", ["bench", "alfworld"]),
    ("alfworld-quick", ["bench", "alfworld", "--quick"]),
    ("offline", ["bench", "offline"]),
    ("offline-quick", ["bench", "offline", "--quick"]),
    ("generalisation", ["bench", "generalisation"]),
    ("generalisation-quick", ["bench", "generalisation", "--quick"]),
)
SUCCESS = 0.5  # every fake evaluation's success: each arm reaches the threshold, so the reports build


KEEPING = ("sample_efficiency", "ablation", "prior_strength", "alfworld")  # experiments that reuse kept runs


def capture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str]
) -> tuple[list[tuple[str, RunConfig]], list[tuple[str, dict[str, Any]]]]:
    """(what built it, config) for every run config the experiment built, in the order it built them; and
    (run folder, settings) for every kept run it looked up (the settings a kept run must match to be reused)."""
    from sandbox.results import common

    seen: list[tuple[str, RunConfig]] = []
    kept: list[tuple[str, dict[str, Any]]] = []

    def kept_or_run(run_dir: Path, settings: dict[str, Any], run: Any, kept_only: bool = False) -> Any:
        kept.append((run_dir.name, settings))
        return common.kept_or_run(run_dir, settings, run, kept_only=kept_only)

    def rows(config: RunConfig) -> list[dict[str, float]]:
        every = max(1, config.run.eval_every)
        return [{"step": step, "eval_success": SUCCESS, "eval_return": 0.0, "llm_calls": 0}
                for step in range(every, config.run.steps + every, every)]  # fmt: skip

    class FakeTrainer:
        def __init__(self, config: RunConfig, run_dir: Path) -> None:
            seen.append((Path(run_dir).name, config))
            self.config, self.agent = config, SimpleNamespace(prior=None)

        def reset(self) -> None:
            pass

        def run(self, **_: Any) -> list[dict[str, float]]:
            return rows(self.config)

        def close(self) -> None:
            pass

    def evaluate_once(config: RunConfig) -> tuple[Any, list[dict[str, float]]]:
        seen.append((f"evaluate_once {config.run.agent}", config))
        return SimpleNamespace(prior=None), [{"step": 0, "eval_success": SUCCESS, "llm_calls": 0}]

    def make_agent(config: RunConfig) -> Any:
        seen.append((f"make_agent {config.run.agent}", config))
        return SimpleNamespace(prior=None)

    def evaluate(*_: Any, **__: Any) -> Any:
        return SimpleNamespace(success_rate=SUCCESS, mean_return=0.0)

    def evaluate_run(args: Any, run_dir: Path, agent: str, seed: int, split: str, model: str | None) -> dict[str, Any]:
        return {"agent": agent, "prior": model or "none", "split": split, "seed": seed, "success": SUCCESS,
                "return": 0.0, "llm_calls": 0, "wall_s": 0.0}  # fmt: skip

    def collect(info: Any, episodes: int, path: Path, prior: Any, min_transitions: int = 0) -> Any:
        return SimpleNamespace(transitions=min_transitions, episodes=1, successes=0)

    monkeypatch.setattr("sandbox.engine.training.Trainer", FakeTrainer)
    monkeypatch.setattr("sandbox.features.datasets.OfflineTrainer", FakeTrainer)
    monkeypatch.setattr("sandbox.features.datasets.collect", collect)
    monkeypatch.setattr("sandbox.results.sample_efficiency.evaluate_once", evaluate_once)
    monkeypatch.setattr("sandbox.results.generalisation.evaluate_run", evaluate_run)
    monkeypatch.setattr("sandbox.results.generalisation.test_prior_unavailable", lambda model: None)
    monkeypatch.setattr("agents.registry.make_agent", make_agent)
    monkeypatch.setattr("sandbox.engine.training.evaluate", evaluate)
    monkeypatch.setattr("envs.make_env", lambda *_, **__: None)
    monkeypatch.setattr("sandbox.results.prior_strength.check_oracle_knows", lambda env_key: None)
    # No ALFWorld data here: every task type's pools as asked (a split with fewer games would shrink them).
    monkeypatch.setattr(
        "sandbox.results.alfworld.pool_sizes", lambda args: {task: (args.n_train, args.n_eval) for task in args.tasks}
    )
    for name in KEEPING:
        monkeypatch.setattr(f"sandbox.results.{name}.kept_or_run", kept_or_run)
    assert main([*argv, "--out-dir", str(tmp_path / "out"), "--json"]) == 0
    return seen, kept


def settings(config: RunConfig) -> dict[str, Any]:
    """What the run reads, as config.toml holds it: [run], its agent's section and [prior]. An offline run's
    env is its dataset's (OfflineTrainer reads it from there)."""
    from agents.registry import AGENTS

    payload = tomllib.loads(config.to_toml())
    if payload["run"]["dataset"]:
        payload["run"] = {key: value for key, value in payload["run"].items() if key not in ("env", "env_kwargs")}
    section = AGENTS[config.run.agent].config
    return {"run": payload["run"], section: payload[section], "prior": payload["prior"]}


TEMPORARY = re.compile(re.escape(tempfile.gettempdir()) + r"/[^/\"]+")  # a bench's scratch folder (offline datasets)


def digests(seen: list[tuple[str, RunConfig]], kept: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A short digest per config's values and per kept run's settings, temporary folders taken out."""

    def digest(value: Any) -> str:
        text = TEMPORARY.sub("<tmp>", json.dumps(value, sort_keys=True, default=str))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    return {
        "configs": [[label, digest(settings(config))] for label, config in seen],
        "kept": [[name, digest(values)] for name, values in kept],
    }
