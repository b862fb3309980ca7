"""One registry, one `make_agent(run_config)`: every agent is built from its own config section, and
an agent registered once is known to the builder, the CLI choices and the UI's live settings."""

from __future__ import annotations

import pytest

from agents.baselines import RandomAgent
from agents.errors import AgentError
from agents.configs import DQNConfig
from agents.decision import acting_settings
from agents.registry import AGENTS, AgentSpec, agent_names, agents_with_prior, make_agent, offline_agent_names
from sandbox.engine.config import RunConfig, RunSettings
from sandbox.ui.controller import steers_posterior
from tests.app.support import fast_config


@pytest.mark.parametrize("name", list(AGENTS))
def test_every_registered_agent_is_built_from_its_own_section(name: str) -> None:
    config = fast_config(name)
    agent = make_agent(config)
    spec = AGENTS[name]
    assert agent.name == name
    assert type(agent) is spec.load()
    assert (agent.prior is not None) == spec.uses_prior
    assert agent.config is getattr(config, spec.config)


def test_the_name_lists_come_from_the_registrations() -> None:
    assert agent_names() == ("dqn", "dqn-prior", "ppo", "ppo-prior", "llm", "random")
    assert offline_agent_names() == ("cql", "cql-prior")
    assert set(agents_with_prior()) == {"dqn-prior", "ppo-prior", "llm", "cql-prior"}


def test_an_unknown_agent_is_a_one_line_error() -> None:
    with pytest.raises(AgentError, match="unknown agent 'sarsa'; choose one of dqn, dqn-prior"):
        make_agent(RunConfig(run=RunSettings(agent="sarsa")))


class CautiousAgent(RandomAgent):
    """A stand-in for a new agent: a class with `from_config`, reading the dqn section."""

    name = "cautious"

    def __init__(self, config, prior) -> None:
        super().__init__(seed=config.seed)
        self.config = config
        self.prior = prior
        self.acting = acting_settings("q", config, prior)

    @classmethod
    def from_config(cls, config, prior) -> "CautiousAgent":
        return cls(config, prior)


def test_one_registration_makes_a_new_agent_buildable_and_steerable(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = AgentSpec("cautious", f"{__name__}:CautiousAgent", "dqn", DQNConfig, uses_prior=True, acts_on="q")
    monkeypatch.setitem(AGENTS, "cautious", spec)
    config = fast_config("cautious")
    config.set_agent_settings(seed=7)
    agent = make_agent(config)
    assert isinstance(agent, CautiousAgent) and agent.config.seed == 7 and agent.prior is not None
    assert steers_posterior(agent)  # the UI's α and k controls reach it
    assert (agent.acting.alpha, agent.acting.k, agent.acting.eval_k) == (config.dqn.alpha, config.dqn.k, config.dqn.eval_k)
    assert agent.acting.acts_on == "q"


def test_an_agent_whose_settings_act_otherwise_than_its_spec_says_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = AgentSpec("confused", f"{__name__}:CautiousAgent", "dqn", DQNConfig, uses_prior=True, acts_on="prior")
    monkeypatch.setitem(AGENTS, "confused", spec)
    with pytest.raises(AgentError, match="registered as acting on 'prior' but its settings act on 'q'"):
        make_agent(fast_config("confused"))


def test_agent_settings_reach_the_section_of_every_agent_whose_spec_lists_them() -> None:
    config = RunConfig()
    config.set_agent_settings(alpha=3.0, k=7, features="hash", seed=5)
    assert (config.dqn.alpha, config.ppo.alpha) == (3.0, 3.0)
    assert config.dqn.k == 7 and not hasattr(config.ppo, "k")
    assert config.dqn.features == config.ppo.features == "hash"
    assert config.dqn.seed == config.ppo.seed == 5
