"""Build an agent by name, with the prior it needs (if any).

Imports of the agents are deferred so the CLI can list names without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.errors import AgentError
from agents.prior.config import PriorConfig

if TYPE_CHECKING:
    from agents.base import Agent
    from agents.configs import DQNConfig, PPOConfig

AGENT_NAMES = ("dqn", "dqn-prior", "ppo", "ppo-prior", "llm", "random")
OFFLINE_AGENT_NAMES = ("cql", "cql-prior")
POLICY_AGENT_NAMES = ("ppo", "ppo-prior")  # configured by PPOConfig, not DQNConfig
AGENTS_WITH_PRIOR = ("dqn-prior", "ppo-prior", "llm", "cql-prior")


def build_agent(
    name: str, dqn_config: "DQNConfig", prior_config: PriorConfig, ppo_config: "PPOConfig | None" = None
) -> "Agent":
    """The prior is built only for agents that consult it, so DQN and random never load an LLM.

    PPO agents read `ppo_config` (PPOConfig's defaults when None); every other agent reads
    `dqn_config` (random and LLM only its seed).
    """
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
    if name in POLICY_AGENT_NAMES:
        from agents.configs import PPOConfig
        from agents.ppo import PPOAgent

        return PPOAgent(ppo_config or PPOConfig(), prior=prior)
    return DQNAgent(dqn_config, prior=prior)
