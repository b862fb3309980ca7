"""The why panel reads decisions back through agents.bayes: its numbers must be the agent's own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.text import Text

from agents.decision import TextState
from agents.dqn import DQNAgent
from agents.prior.config import PriorConfig
from agents.prior.priors import UniformPrior
from agents.registry import make_agent
from sandbox.engine.replay_files import decision_from_json, decision_to_json
from sandbox.engine.runs import make_env_for
from sandbox.engine.session import Session, human_decision
from sandbox.ui.explain import explain
from sandbox.ui.widgets.decision_table import bar, why_text
from sandbox.ui.widgets.status_bar import pack
from tests.app.support import fast_config

STATE = TextState(
    family="frozenlake",
    task="Reach the goal.",
    observation="You are at the start. The goal is south.",
    actions=("go north", "go south", "go east"),
)


def dqn_prior() -> DQNAgent:
    config = fast_config()
    return DQNAgent(config.dqn, prior=UniformPrior(PriorConfig(model="uniform", cache_path=None)))


def test_posterior_breakdown_matches_the_agents_decision() -> None:
    decision = dqn_prior().act(STATE)
    explanation = explain(decision)
    assert np.allclose(explanation.breakdown.posterior, [row.posterior for row in decision.candidates])
    assert np.allclose(explanation.breakdown.likelihood, [row.likelihood for row in decision.candidates])
    assert explanation.prior.sum() == pytest.approx(1.0)
    i = explanation.chosen
    assert explanation.breakdown.prior[i] * explanation.breakdown.likelihood[i] / explanation.evidence == pytest.approx(
        explanation.breakdown.posterior[i]
    )
    assert explanation.kl >= 0 and explanation.prior_entropy <= explanation.uniform_entropy + 1e-12
    text = why_text(explanation).plain
    assert f"posterior {explanation.breakdown.posterior[i]:.2f}" in text and "KL(agent's posterior ‖ p_LLM)" in text


def test_the_panel_reads_the_bayes_rule_the_agent_acted_on() -> None:
    """One view per decision: the agent's own breakdown, not a recomputation, and the same after a replay file."""
    decision = dqn_prior().act(STATE)
    breakdown = decision.breakdown
    counts = np.array([row.proposal_count for row in decision.candidates], dtype=np.float64)
    assert np.array_equal(breakdown.prior, counts / len(decision.proposals))  # the share of the k proposals
    assert explain(decision).breakdown is breakdown
    replayed = decision_from_json(json.loads(json.dumps(decision_to_json(decision))))
    for name in ("prior", "q_values", "likelihood", "posterior"):
        assert np.array_equal(getattr(replayed.breakdown, name), getattr(breakdown, name))
    legacy = decision_to_json(decision)
    del legacy["acting_prior"]  # a file written before the acting prior was stored
    assert np.array_equal(decision_from_json(legacy).breakdown.posterior, breakdown.posterior)


def test_human_decisions_are_explained() -> None:
    decision = dqn_prior().act(STATE)
    picked = explain(human_decision(decision, "go east"))
    assert picked.human and picked.rows[picked.chosen].action == "go east"
    typed = explain(human_decision(decision, "xyzzy"))
    assert typed.chosen is None and len(typed.rows) == len(STATE.actions)
    assert "not an admissible action" in why_text(typed).plain


@pytest.mark.parametrize(
    "agent, words",
    [
        ("dqn", "ε-greedy"),
        ("llm", "p_LLM alone"),
        ("random", "random agent"),
        ("ppo", "H(π)"),
        ("ppo-prior", "KL(π‖p_LLM)"),
    ],
)
def test_every_agent_gets_an_explanation(agent: str, words: str) -> None:
    config = fast_config(agent)
    built = make_agent(config)
    if agent.startswith("ppo"):  # one rollout and update, so π has moved away from where it started
        env, family = make_env_for(config)
        session = Session(env, built, family=family)
        session.reset()
        for _ in range(config.ppo.rollout_steps):
            if session.done:
                session.reset()
            session.step()
    decision = built.act(STATE)
    assert words in why_text(explain(decision)).plain
    typed = explain(human_decision(decision, "xyzzy"))
    assert typed.chosen is None and len(typed.rows) == len(STATE.actions)


def test_bars_and_status_packing() -> None:
    assert bar(0.5, 4, "red").plain == "██  "
    assert bar(1.0, 3, "red").plain == "███" and bar(0.0, 3, "red").plain == "   "
    assert len(bar(0.37, 5, "red").plain) == 5
    packed = pack([Text("a" * 10), Text("b" * 10), Text("c" * 10)], width=25).plain
    assert packed.split("\n") == ["a" * 10 + " │ " + "b" * 10, "c" * 10]
