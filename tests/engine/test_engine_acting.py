"""Live acting settings have one owner: the session makes a new frozen ActingSettings for each change,
hands it to the agent and its prior, and every decision carries the one it was made under; the user's
config is never written to. Expected numbers are computed here by hand, not with `agents.bayes`."""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from agents.decision import ActingSettings
from agents.dqn import DQNAgent
from agents.errors import AgentError
from agents.registry import make_agent
from sandbox.errors import SandboxError
from sandbox.engine.replay_files import load_episode, record_from_json, record_to_json
from sandbox.engine.session import Session
from sandbox.ui.controller import SessionController
from tests.agents.conftest import ChainEnv, ScriptedPrior
from tests.app.support import fast_config

# The scripted prior proposes these, repeated to k: k=5 gives east ×3, wait ×1, west ×1.
SCRIPT = ["go east", "wait", "go east", "go west", "go east"]


def dqn_prior_session() -> tuple[Session, DQNAgent, object, ScriptedPrior]:
    """DQN-Prior built from a run config (as `make_agent` builds it) around a scripted sample-mode prior."""
    config = fast_config("dqn-prior")
    prior = ScriptedPrior(proposals=lambda query: SCRIPT)
    agent = DQNAgent.from_config(config.dqn, prior)
    return Session(ChainEnv(), agent, family="test", seed=0, learn=False), agent, config, prior


def posterior_by_hand(decision, alpha: float) -> list[float]:
    """share of the k proposals × exp(α·Q), normalised, with plain floats."""
    k = len(decision.proposals)
    weights = [
        decision.proposals.count(row.action) / k * math.exp(alpha * row.q_value) for row in decision.candidates
    ]
    return [weight / sum(weights) for weight in weights]


def test_an_alpha_change_leaves_the_users_config_alone_and_the_next_decision_uses_it() -> None:
    session, agent, config, _ = dqn_prior_session()
    session.reset()
    before = session.decide()
    assert before.settings == session.acting and before.alpha == config.dqn.alpha == 10.0

    updated = session.update_acting(alpha=0.5)
    assert updated is session.acting and agent.acting is updated and updated.alpha == 0.5
    assert config.dqn.alpha == agent.config.alpha == 10.0  # the user's config is not written to

    after = session.decide()
    assert after.proposals == before.proposals  # α re-weighs the proposals drawn; it draws none anew
    assert after.alpha == 0.5 and after.settings == updated
    assert [row.posterior for row in after.candidates] == pytest.approx(posterior_by_hand(before, 0.5))
    assert [row.posterior for row in before.candidates] == pytest.approx(posterior_by_hand(before, 10.0))


def test_a_k_change_reaches_the_priors_proposals_with_one_write() -> None:
    session, agent, config, prior = dqn_prior_session()
    session.reset()
    assert len(session.decide().proposals) == 5 and prior.asked_k == [5]

    session.update_acting(k=7)
    decision = session.decide()
    assert prior.asked_k == [5, 7]  # asked again, for the new k, without anyone forgetting the old draw
    assert decision.proposals == tuple((SCRIPT * 2)[:7]) and decision.settings.k == 7
    assert (config.dqn.k, agent.config.k, config.prior.k) == (5, 5, 5)

    session.update_acting(alpha=2.0)  # α alone keeps the draw: the prior is not asked again
    assert session.decide().proposals == decision.proposals and prior.asked_k == [5, 7]


def test_the_prior_mode_and_floor_reach_the_prior_but_not_the_run_config() -> None:
    config = fast_config("dqn-prior")
    agent = make_agent(config)
    session = Session(ChainEnv(), agent, family="test", seed=0)
    session.reset()
    assert (session.acting.prior_mode, session.acting.floor) == ("score", 0.0)
    session.update_acting(prior_mode="sample", floor=0.25)
    assert (agent.prior.config.mode, agent.prior.config.epsilon) == ("sample", 0.25)
    assert (config.prior.mode, config.prior.epsilon) == ("score", 0.0)
    assert session.decide().settings.floor == 0.25


def test_bad_changes_are_one_line_errors_and_the_settings_stay() -> None:
    session, agent, _, _ = dqn_prior_session()
    kept = session.acting
    for change, message in (
        ({"k": 0}, "k (proposals per state) must be a whole number >= 1, got 0"),
        ({"alpha": -1.0}, "alpha must be >= 0, got -1.0"),
        ({"greedy": "best"}, "greedy must be one of q, map, got 'best'"),
        ({"prior_mode": "guess"}, "prior_mode must be one of score, sample, got 'guess'"),
        ({"floor": 1.5}, "floor (prior floor) must be in [0, 1], got 1.5"),
        ({"acts_on": "prior"}, "acts_on is not a live acting setting"),
    ):
        with pytest.raises(SandboxError) as refused:
            session.update_acting(**change)
        assert message in str(refused.value) and "\n" not in str(refused.value)
    assert session.acting is kept and agent.acting is kept
    with pytest.raises(FrozenInstanceError):
        kept.alpha = 1.0  # type: ignore[misc]
    with pytest.raises(AgentError, match="acting on 'prior' draws none"):
        ActingSettings("prior", k=3)

    plain = Session(ChainEnv(), make_agent(fast_config("dqn")), family="test")
    with pytest.raises(SandboxError, match="the dqn agent has no prior whose mode or floor could change"):
        plain.update_acting(floor=0.1)


def test_a_replay_line_records_the_settings_a_step_was_made_under_and_old_lines_still_load() -> None:
    session, _, _, _ = dqn_prior_session()
    session.reset()
    session.update_acting(alpha=0.5, k=3)
    record = session.step()
    line = json.loads(json.dumps(record_to_json(record)))
    assert line["decision"]["settings"] == {
        "acts_on": "q", "alpha": 0.5, "k": 3, "eval_k": 15, "explore": "posterior", "greedy": "q",
        "prior_mode": "sample", "floor": 0.0,
    }  # fmt: skip
    assert record_from_json(line).decision.settings == session.acting == record.decision.settings

    del line["decision"]["settings"]  # a file written before decisions carried their settings
    old = record_from_json(line)
    assert old.decision.settings is None and old.decision.alpha == 0.5
    assert [row.posterior for row in old.decision.candidates] == [row.posterior for row in record.decision.candidates]


def test_the_ui_knobs_reach_forks_and_the_kept_forks_replay_file(tmp_path: Path) -> None:
    controller = SessionController(fast_config("dqn-prior", env="TextFrozenLake-v0"), saves_dir=tmp_path)
    controller.build()
    controller.new_episode()
    controller.request(alpha=3.0, k=4)  # as `]` and `}` do
    controller.step()
    live = controller.session.acting
    assert (live.alpha, live.k) == (3.0, 4) and (controller.config.dqn.alpha, controller.config.dqn.k) == (10.0, 5)
    if controller.session.done:
        controller.new_episode()
    fork = controller.fork()
    record = controller.fork_step(fork, "fork")
    assert record.decision.settings == live and controller.fork_decide(fork, "main").settings == live
    controller.keep_fork(fork)
    replay = load_episode(controller.recorder.path)
    assert [step.decision.settings for step in replay.steps] == [live] * len(replay.steps)
    controller.close()
