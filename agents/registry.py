"""Build an agent by name, with the prior it needs (if any).

Imports of the agents are deferred so the CLI can list names without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.errors import AgentError
from agents.prior.config import PriorConfig

if TYPE_CHECKING:
    from agents.base import Agent
    from agents.dqn import DQNConfig

AGENT_NAMES = ("dqn", "dqn-prior", "llm", "random")
OFFLINE_AGENT_NAMES = ("cql", "cql-prior")
AGENTS_WITH_PRIOR = ("dqn-prior", "llm", "cql-prior")
EXPLORATION_RULES = ("posterior", "epsilon")


def build_agent(name: str, dqn_config: "DQNConfig", prior_config: PriorConfig) -> "Agent":
    """The prior is built only for agents that consult it, so DQN and random never load an LLM."""
    known = AGENT_NAMES + OFFLINE_AGENT_NAMES
    if name not in known:
        raise AgentError(f"unknown agent {name!r}; choose one of {', '.join(known)}")
    from agents.baselines import LLMAgent, RandomAgent
    from agents.cql import CQLAgent
    from agents.dqn import DQNAgent

    prior = None
    if name in AGENTS_WITH_PRIOR:
        from agents.prior import build_prior

        prior = build_prior(prior_config)
    if name == "random":
        return RandomAgent(seed=dqn_config.seed)
    if name == "llm":
        return LLMAgent(prior, seed=dqn_config.seed)
    if name in OFFLINE_AGENT_NAMES:
        return CQLAgent(dqn_config, prior=prior)
    return DQNAgent(dqn_config, prior=prior)
