"""`[dqn] greedy` and `target`: the soft backup's math, what transitions store, evaluation by the
posterior's mode, and the runs written before these settings existed (tests/agents/fixtures)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import bayes
from agents.configs import ACTING_PRESETS, acting_rule
from agents.decision import TextState, state_text
from agents.dqn import DQNAgent, DQNConfig
from agents.errors import AgentError
from agents.qnet import q_values
from agents.replay import ReplayBuffer
from sandbox.engine.config import load_run_config
from sandbox.engine.session import Session
from sandbox.engine.storage import load_checkpoint
from sandbox.engine.training import Trainer
from tests.agents.conftest import ChainEnv, ScriptedPrior

ACTIONS = ("go west", "wait", "go east")
FIXTURES = Path(__file__).parent / "fixtures" / "before_acting_rules"
TIMING_COLUMNS = ("wall_s", "eval_ms_per_decision")  # clock readings: no two runs share them


def room(n: int) -> TextState:
    return TextState(family="test", task="Reach room 4.", observation=f"You are in room {n}.", actions=ACTIONS)


def fast_config(**overrides) -> DQNConfig:
    return DQNConfig(**{"features": "hash", "learning_starts": 8, "batch_size": 8, **overrides})


# ----- the soft backup's math (agents/bayes.py) -----------------------------------------------


def test_soft_value_at_large_alpha_with_a_full_support_prior_is_the_max_over_all_actions():
    q = [0.3, -1.0, 0.7, 0.69]
    prior = [0.97, 0.01, 0.01, 0.01]  # the best action has little prior mass, but some
    assert bayes.soft_value(prior, q, alpha=1e5) == pytest.approx(0.7, abs=1e-3)
    batched = bayes.soft_values_per_group(
        torch.log(torch.tensor(prior, dtype=torch.float64)), torch.tensor(q, dtype=torch.float64),
        torch.zeros(4, dtype=torch.long), 1, alpha=1e5,
    )  # fmt: skip
    assert batched.item() == pytest.approx(0.7, abs=1e-3)


def test_soft_value_lies_between_the_priors_mean_and_the_max():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        q = rng.normal(size=n)
        prior = rng.dirichlet(np.ones(n))
        alpha = float(10 ** rng.uniform(-2, 3))
        value = bayes.soft_value(prior, q, alpha)
        assert float(prior @ q) - 1e-9 <= value <= q.max() + 1e-9


def test_soft_value_at_small_alpha_is_the_priors_mean():
    q, prior = np.array([1.0, 0.0, -2.0]), np.array([0.5, 0.25, 0.25])
    assert bayes.soft_value(prior, q, alpha=1e-6) == pytest.approx(0.5 * 1.0 + 0.25 * 0.0 + 0.25 * -2.0, abs=1e-5)


def test_batched_soft_values_match_one_state_at_a_time_and_leave_terminal_states_at_zero():
    q = torch.tensor([0.1, 0.5, -0.2, 2.0, 1.0])
    log_prior = torch.log(torch.tensor([0.2, 0.3, 0.5, 0.9, 0.1]))
    groups = torch.tensor([0, 0, 0, 2, 2])  # state 1 is terminal: no actions
    values = bayes.soft_values_per_group(log_prior, q, groups, 3, alpha=3.0)
    assert values[0].item() == pytest.approx(np.log(0.2 * np.exp(0.3) + 0.3 * np.exp(1.5) + 0.5 * np.exp(-0.6)) / 3, rel=1e-5)
    assert values[1].item() == 0.0
    assert values[2].item() == pytest.approx(np.log(0.9 * np.exp(6.0) + 0.1 * np.exp(3.0)) / 3, rel=1e-5)


def test_the_soft_alpha_grows_linearly_then_stays():
    assert [bayes.soft_alpha(1.0, 101.0, 100, step) for step in (0, 50, 100, 500)] == [1.0, 51.0, 101.0, 101.0]
    assert bayes.soft_alpha(1.0, 5.0, 0, 0) == 5.0  # no annealing: the final α from the start


# ----- what the agent stores and computes ------------------------------------------------------


def test_the_soft_target_stores_the_admissible_actions_and_the_floored_prior_at_s_prime():
    prior = ScriptedPrior(probs=lambda q: [0.0, 0.2, 0.8])
    agent = DQNAgent(fast_config(target="soft", soft_floor=0.3, learning_starts=10**6), prior=prior)
    agent.learn(room(1), "go east", 0.0, room(2), False)
    stored = agent.buffer._items[0]
    assert stored.next_actions == ACTIONS
    # 0.7·p + 0.3/3: the floor reaches "go west", which the prior never proposes.
    assert np.exp(stored.next_log_prior) == pytest.approx([0.1, 0.24, 0.66])


def test_the_paper_target_stores_nothing_more_than_before():
    agent = DQNAgent(fast_config(learning_starts=10**6), prior=ScriptedPrior(probs=lambda q: [0.0, 0.2, 0.8]))
    agent.learn(room(1), "go east", 0.0, room(2), False)
    assert (agent.buffer._items[0].next_actions, agent.buffer._items[0].next_log_prior) == ((), ())


@pytest.mark.parametrize("target", ["all", "soft"])
def test_targets_over_every_action_bootstrap_from_actions_the_proposals_left_out(target):
    proposed = {"action": "wait"}
    prior = ScriptedPrior(probs=lambda q: [float(a == proposed["action"]) for a in q.actions])
    config = fast_config(target=target, batch_size=1, learning_starts=10**6, gamma=0.9, soft_floor=0.5,
                         soft_alpha_start=1e4, soft_alpha_end=1e4)  # fmt: skip
    agent = DQNAgent(config, prior=prior)
    with torch.no_grad():
        q_next = q_values(agent.target_net, agent.features, [state_text(room(2))] * 3, list(ACTIONS)).tolist()
        predicted = q_values(agent.q_net, agent.features, [state_text(room(1))], ["go east"]).item()
    proposed["action"] = ACTIONS[int(np.argmin(q_next))]  # the prior proposes only the target net's worst action
    agent.learn(room(1), "go east", 0.5, room(2), False)
    assert agent.buffer._items[0].next_candidates == (proposed["action"],)
    expected = 0.5 + 0.9 * max(q_next)  # what the paper's target (0.5 + 0.9·min) cannot reach
    loss = agent.update()["loss"]
    assert loss == pytest.approx(0.5 * (predicted - expected) ** 2, rel=1e-3)


def test_a_target_over_every_action_refuses_transitions_stored_without_them():
    agent = DQNAgent(fast_config(learning_starts=10**6), prior=ScriptedPrior(probs=lambda q: [0.2, 0.3, 0.5]))
    agent.learn(room(1), "go east", 0.0, room(2), False)  # stored by the paper's target
    agent.config.target = "soft"
    with pytest.raises(AgentError, match='target = "soft" needs the admissible actions'):
        agent.update()


class CountingPrior(ScriptedPrior):
    """Counts the calls that would reach a language model: one per distinct question (the cache answers repeats)."""

    def __init__(self) -> None:
        super().__init__(probs=lambda q: [0.2, 0.3, 0.5])
        self.questions: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, query, *, k=None):
        self.questions.append((query.observation, query.actions))
        return super().__call__(query, k=k)


@pytest.mark.parametrize("target", ["all", "soft"])
def test_every_target_asks_the_prior_exactly_what_the_papers_target_asks(target):
    asked = {}
    for rule in ("proposals", target):
        prior = CountingPrior()
        session = Session(ChainEnv(), DQNAgent(fast_config(target=rule), prior=prior), family="test", seed=0)
        for _ in range(60):
            session.play()
        asked[rule] = prior.questions
    assert asked[target] == asked["proposals"]


def test_map_greedy_takes_the_posteriors_mode_where_q_greedy_takes_the_best_q():
    prior = ScriptedPrior(probs=lambda q: [0.0, 0.9, 0.1])  # "go west" is never proposed
    q = np.array([5.0, 0.1, 0.2])
    picked = {}
    for greedy in ("q", "map"):
        agent = DQNAgent(fast_config(greedy=greedy, eval_k=200, alpha=1.0), prior=prior)
        agent.q_for_actions = lambda state, actions: q  # a fixed Q: the rule alone decides
        picked[greedy] = agent.act(room(1), greedy=True).action
    # By Q: "go east" (0.2 > 0.1 among the proposals). By the mode: log(~0.9) + 0.1 > log(~0.1) + 0.2 → "wait".
    assert picked == {"q": "go east", "map": "wait"}


def test_acting_rules_and_bad_settings_are_named_in_one_line():
    assert acting_rule("paper") == ACTING_PRESETS["paper"] == {"greedy": "q", "target": "proposals"}
    assert acting_rule("map+soft") == {"greedy": "map", "target": "soft"}
    with pytest.raises(AgentError, match=r"unknown acting rule 'map\+max'"):
        acting_rule("map+max")
    with pytest.raises(AgentError, match="greedy must be one of q, map, got 'mode'"):
        fast_config(greedy="mode").validate()
    with pytest.raises(AgentError, match="target must be one of proposals, all, soft"):
        fast_config(target="max").validate()


# ----- runs written before the settings existed ------------------------------------------------


def metrics_without_timing(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(stream)]


def test_a_run_config_from_before_the_settings_means_the_papers_rules():
    config = load_run_config(FIXTURES / "dqn-prior" / "config.toml")
    assert (config.dqn.greedy, config.dqn.target) == ("q", "proposals")


@pytest.mark.parametrize("agent", ["dqn-prior", "dqn"])
def test_the_papers_rules_reproduce_the_metrics_of_the_code_before_them(tmp_path, agent):
    config = load_run_config(FIXTURES / agent / "config.toml")
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    trainer.close()
    assert metrics_without_timing(tmp_path / "run" / "metrics.csv") == metrics_without_timing(FIXTURES / agent / "metrics.csv")


def test_a_checkpoint_and_replay_buffer_from_before_the_settings_load_and_train_on(tmp_path):
    run_dir = tmp_path / "old-run"
    shutil.copytree(FIXTURES / "dqn-prior", run_dir)
    _, state = load_checkpoint(run_dir / "checkpoints" / "step_000000400")
    buffer = ReplayBuffer.from_json(state["agent"]["replay"])
    assert len(buffer) == 300 and all(t.next_actions == () and t.next_log_prior == () for t in buffer._items)

    config_text = (run_dir / "config.toml").read_text().replace("steps = 400", "steps = 500")
    (run_dir / "config.toml").write_text(config_text)
    resumed = Trainer.resume(run_dir)
    assert resumed.steps_done == 400 and resumed.agent.config.target == "proposals"
    resumed.run()
    resumed.close()
    assert [row["step"] for row in metrics_without_timing(run_dir / "metrics.csv")] == ["100", "200", "300", "400", "500"]
    versions = json.loads((run_dir / "code_version.json").read_text())
    assert versions[-1]["from_step"] == 400  # the resume under today's code is on record


def test_a_soft_target_run_can_checkpoint_and_resume_its_stored_prior(tmp_path):
    agent = DQNAgent(fast_config(target="soft", learning_starts=10**6), prior=ScriptedPrior(probs=lambda q: [0.2, 0.3, 0.5]))
    agent.learn(room(1), "go east", 0.0, room(2), False)
    _, meta = agent.state_dict()
    restored = ReplayBuffer.from_json(json.loads(json.dumps(meta["replay"])))
    assert restored._items == agent.buffer._items  # through JSON and back, no pickle


def test_dqn_prior_gets_its_default_rule_and_other_agents_keep_the_papers():
    from sandbox.engine.config import seeded_config

    def acting(*layers):
        config = seeded_config(list(layers))
        return config.dqn.greedy, config.dqn.target, config.source_of("dqn", "target")

    assert acting(("flags", {"run": {"agent": "dqn-prior"}})) == ("map", "soft", "built-in")
    assert acting(("flags", {"run": {"agent": "dqn"}}))[:2] == ("q", "proposals")
    assert acting(("flags", {"run": {"agent": "cql-prior"}}))[:2] == ("q", "proposals")  # offline data stores no prior
    assert acting(("flags", {"run": {"agent": "dqn-prior"}}), ("--target", {"dqn": {"target": "all"}})) == (
        "map", "all", "--target",
    )  # fmt: skip
