"""Every agent, registered once: its name, its class, the config section it reads, whether it
consults the prior, and what it acts from. `make_agent(run_config)` builds any of them.

Adding an agent touches its module (a class with `from_config(config, prior)`), one
`AgentSpec` below, and its config (a dataclass in `agents.configs` and a section of the run
config, unless it reads an existing one). The CLI choices, the sweep, the UI's agent picker
and its live α/k controls, and the prompt editor all read the registry.

Agent classes are imported on first build, so listing names (`--help`) never loads torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agents.errors import AgentError
from agents.prior.config import PriorConfig

if TYPE_CHECKING:
    from agents.base import Agent


@dataclass(frozen=True)
class AgentSpec:
    """One registered agent.

    `acts_on` says what the agent samples its action from:
    - "q": the posterior p(a|s)·exp(α·Q(s,a)) (its config has the live settings α and k);
    - "policy": a learned π(·|s) that reads the prior; the class offers `policy(state, prior_result)`;
    - "prior": the prior itself (the LLM agent; the random agent's uniform one).
    """

    name: str
    agent_class: str  # "module:Class", imported on first build
    config: str  # the run config's section the agent reads ("dqn", "ppo"); random and llm read only its seed
    uses_prior: bool  # built with the prior of the run config's [prior] section
    acts_on: str = "q"
    offline: bool = False  # learns from a dataset (`train-offline`), not from its own steps

    def load(self) -> Any:
        module, _, name = self.agent_class.partition(":")
        return getattr(importlib.import_module(module), name)


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec("dqn", "agents.dqn:DQNAgent", "dqn", uses_prior=False),
        AgentSpec("dqn-prior", "agents.dqn:DQNAgent", "dqn", uses_prior=True),
        AgentSpec("ppo", "agents.ppo:PPOAgent", "ppo", uses_prior=False, acts_on="policy"),
        AgentSpec("ppo-prior", "agents.ppo:PPOAgent", "ppo", uses_prior=True, acts_on="policy"),
        AgentSpec("llm", "agents.baselines:LLMAgent", "dqn", uses_prior=True, acts_on="prior"),
        AgentSpec("random", "agents.baselines:RandomAgent", "dqn", uses_prior=False, acts_on="prior"),
        AgentSpec("cql", "agents.cql:CQLAgent", "dqn", uses_prior=False, offline=True),
        AgentSpec("cql-prior", "agents.cql:CQLAgent", "dqn", uses_prior=True, offline=True),
    )
}
AGENT_NAMES = tuple(name for name, spec in AGENTS.items() if not spec.offline)  # trained online (`train`, the UI)
OFFLINE_AGENT_NAMES = tuple(name for name, spec in AGENTS.items() if spec.offline)
AGENTS_WITH_PRIOR = tuple(name for name, spec in AGENTS.items() if spec.uses_prior)


class RunSettingsLike(Protocol):
    agent: str


class RunConfigLike(Protocol):
    """What `make_agent` reads of a run config (`sandbox.config.RunConfig`): the agent's name, the
    prior's settings, and the agent's own section by the name its spec gives."""

    run: RunSettingsLike
    prior: PriorConfig


def agent_spec(name: str) -> AgentSpec:
    spec = AGENTS.get(name)
    if spec is None:
        raise AgentError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}")
    return spec


def agent_config(run_config: RunConfigLike) -> Any:
    """The config section the run's agent reads."""
    return getattr(run_config, agent_spec(run_config.run.agent).config)


def make_agent(run_config: RunConfigLike) -> "Agent":
    """The agent the run config names, from its own config section; the prior is built only for
    agents that consult it, so DQN and random never load an LLM."""
    spec = agent_spec(run_config.run.agent)
    config = agent_config(run_config)
    prior = None
    if spec.uses_prior:
        from agents.prior import build_prior

        prior = build_prior(run_config.prior, run_seed=config.seed)  # sample mode draws with the run's seed
    return spec.load().from_config(config, prior)


def acts_on(agent: "Agent") -> str | None:
    """What a built agent acts from (see AgentSpec); None for an agent the registry does not know."""
    spec = AGENTS.get(agent.name)
    return spec.acts_on if spec is not None else None
