"""An agent added from outside the project: its class and config live in this test module, and one
`register_agent` makes `train`, `eval`, the UI and `bench sample-efficiency --quick` run it, with its own
config section in the run's config.toml. A run-wide flag reaches it only if its spec lists the setting."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from textual.notifications import Notify

from agents import registry
from agents.configs import EXPLORATION_RULES, PPOConfig
from agents.decision import Candidate, Decision, TextState, acting_settings
from agents.errors import AgentError
from agents.registry import AgentSpec, register_agent
from sandbox.cli import main
from sandbox.engine.config import load_config
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import StepTaken
from tests.app.support import Messages, fast_config, settle

NO_LLM = ["--prior-model", "uniform", "--prior-cache", "none"]


@dataclass
class ToyConfig:
    seed: int = 0
    alpha: float = 1.0  # named like DQN's α, but the spec does not list it: `--alpha` must leave it alone
    explore: str = "epsilon"  # listed: `--explore` sets it
    epsilon: float = 0.2
    step_size: float = 0.5

    def validate(self) -> None:
        if self.explore not in EXPLORATION_RULES:
            raise AgentError(f"explore must be one of {', '.join(EXPLORATION_RULES)}, got {self.explore!r}")


class ToyAgent:
    """A table of Q(observation, action) learnt from one-step returns; its policy π ∝ exp(α·Q), acted on
    ε-greedily or sampled."""

    name = "toy"
    prior = None

    def __init__(self, config: ToyConfig) -> None:
        config.validate()
        self.config = config
        self.acting = acting_settings("policy", config, None)
        self.rng = np.random.default_rng(config.seed)
        self.q: dict[str, float] = {}

    @classmethod
    def from_config(cls, config: ToyConfig, prior: None) -> "ToyAgent":
        return cls(config)

    def _key(self, state: TextState, action: str) -> str:
        return f"{state.observation}\n{action}"

    def _q(self, state: TextState) -> np.ndarray:
        return np.array([self.q.get(self._key(state, action), 0.0) for action in state.actions])

    def policy(self, state: TextState, prior_result: None = None) -> np.ndarray:
        weights = np.exp(self.acting.alpha * (self._q(state) - self._q(state).max()))
        return weights / weights.sum()

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        rng = self.rng if rng is None else rng
        q, posterior = self._q(state), self.policy(state)
        if greedy:
            index, rule = int(np.argmax(q)), "greedy"
        elif self.config.explore == "posterior":
            index, rule = int(rng.choice(len(q), p=posterior)), "posterior-sample"
        elif rng.random() < self.config.epsilon:
            index, rule = int(rng.integers(len(q))), "epsilon-random"
        else:
            index, rule = int(np.argmax(q)), "greedy"
        candidates = tuple(
            Candidate(action, prior=1 / len(q), q_value=float(q[i]), likelihood=None, posterior=float(posterior[i]))
            for i, action in enumerate(state.actions)
        )
        return Decision(
            action=state.actions[index], candidates=candidates, rule=rule, alpha=self.acting.alpha, settings=self.acting
        )

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        key = self._key(state, action)
        self.q[key] = self.q.get(key, 0.0) + self.config.step_size * (reward - self.q.get(key, 0.0))
        return {}

    def forget_proposals(self) -> None:
        """Nothing is drawn from a prior."""

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"agent": self.name, "q": self.q, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.q = dict(meta["q"])
        self.rng.bit_generator.state = meta["rng"]


@pytest.fixture
def toy_agent(monkeypatch: pytest.MonkeyPatch) -> AgentSpec:
    """The toy registered for this test only (the registry's dict is restored afterwards)."""
    monkeypatch.setattr(registry, "AGENTS", dict(registry.AGENTS))
    spec = AgentSpec(
        "toy", f"{__name__}:ToyAgent", "toy", ToyConfig, uses_prior=False, acts_on="policy", settings=("explore",)
    )
    register_agent(spec)
    return spec


def test_train_and_eval_run_a_registered_agent_and_flags_reach_only_what_its_spec_lists(
    toy_agent: AgentSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    flags = ["--env", "TextFrozenLake-v0", "--agent", "toy", "--steps", "60", "--eval-every", "30"]
    flags += ["--eval-episodes", "2", "--seed", "4", "--alpha", "3", "--explore", "posterior", *NO_LLM]
    assert main(["train", *flags, "--out", str(run_dir), "--quiet"]) == 0
    saved = load_config(run_dir / "config.toml")
    assert (saved.toy.explore, saved.toy.alpha, saved.toy.seed) == ("posterior", 1.0, 4)  # --alpha is not its setting
    assert (saved.dqn.alpha, saved.ppo.alpha) == (3.0, 3.0)  # the agents that list alpha got it
    assert saved.source_of("toy", "explore") == "--explore" and saved.source_of("toy", "alpha") == "built-in"
    with open(run_dir / "metrics.csv", newline="") as stream:
        assert [row["step"] for row in csv.DictReader(stream)] == ["30", "60"]
    capsys.readouterr()

    assert main(["eval", "--run", str(run_dir), "--episodes", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 2 and 0.0 <= result["success_rate"] <= 1.0


@pytest.mark.slow  # generates the quick run's coin-collector games; about a minute on 2 busy cores
def test_bench_sample_efficiency_quick_runs_a_registered_agent(
    toy_agent: AgentSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "runs"
    argv = ["bench", "sample-efficiency", "--quick", "--agents", "toy", "--out-dir", str(tmp_path), "--json", *NO_LLM]
    assert main([*argv, "--keep-runs", str(kept)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {(row["env"], row["agent"]) for row in report["summary"]} == {
        ("coin-collector-5", "toy"),
        ("overcooked-tomato", "toy"),
    }
    assert len(report["runs"]) == 2 * 3  # 2 envs × 3 seeds, each trained (the toy learns)
    assert all(run["steps"] == 800 for run in report["runs"])
    for env in ("coin-collector-5", "overcooked-tomato"):
        assert [load_config(kept / f"{env}-toy-s{seed}" / "config.toml").toy.seed for seed in range(3)] == [0, 1, 2]


async def test_the_ui_plays_a_registered_agent(toy_agent: AgentSpec, tmp_path: Path) -> None:
    messages = Messages()
    app = SandboxApp(fast_config("toy"), saves_dir=tmp_path, record_episodes=False)
    async with app.run_test(size=(120, 36), message_hook=messages.hook, notifications=True) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("space")
            await settle(pilot)
        assert len(messages.of(StepTaken)) == 3 and isinstance(app.controller.session.agent, ToyAgent)
        assert app.controller.config.toy.seed == 0
        await pilot.press("right_square_bracket")  # α is the UI's knob only on agents acting on Q
        await settle(pilot)
        (note,) = messages.of(Notify)
        assert note.notification.severity == "warning" and "the toy agent has none" in str(note.notification.message)


def test_a_spec_that_breaks_the_contract_is_refused(toy_agent: AgentSpec) -> None:
    with pytest.raises(AgentError, match="settings must be fields"):
        register_agent(
            AgentSpec("toy-k", f"{__name__}:ToyAgent", "toy", ToyConfig, uses_prior=False, acts_on="policy", settings=("k",))
        )
    with pytest.raises(AgentError, match="needs fields k, eval_k, greedy"):  # acting on Q reads them
        register_agent(AgentSpec("toy-q", f"{__name__}:ToyAgent", "toy", ToyConfig, uses_prior=False, acts_on="q"))
    with pytest.raises(AgentError, match="holds ToyConfig"):
        register_agent(AgentSpec("toy-dqn", f"{__name__}:ToyAgent", "toy", PPOConfig, uses_prior=False))
    with pytest.raises(AgentError, match="registered already"):
        register_agent(toy_agent)
