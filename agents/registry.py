"""Every agent, registered once: its name, its class, its config section and class, the run-wide
settings that apply to it, whether it consults the prior, and what it acts from. `make_agent(run_config)`
builds any of them.

Adding an agent is its module (a class with `from_config(config, prior)` and a config dataclass) and one
`register_agent(AgentSpec(...))`: the run config's sections, the CLI choices and flags, the sweep, the
benches, the UI's agent picker and its live α/k controls, and the prompt editor all read the registry.

Agent classes are imported on first build, so listing names (`--help`) never loads torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from agents.configs import ACTING_FIELDS, DQNConfig, PPOConfig
from agents.errors import AgentError
from agents.prior.config import PriorConfig

if TYPE_CHECKING:
    from agents.base import Agent


# The settings a flag or a sweep sets for every agent they apply to (`--alpha`, `--k`, ...); `seed` applies to all.
RUN_WIDE_SETTINGS = ("alpha", "k", "explore", "greedy", "target", "features")
ACTS_ON = tuple(ACTING_FIELDS)  # what an agent samples its action from (AgentSpec.acts_on)


@dataclass(frozen=True)
class AgentSpec:
    """One registered agent.

    `acts_on` says what the agent samples its action from:
    - "q": the posterior p(a|s)·exp(α·Q(s,a)) (the UI steers its α and k);
    - "policy": a learned π(·|s) that reads the prior; the class offers `policy(state, prior_result)`;
    - "prior": the prior itself (the LLM agent; the random agent's uniform one).

    `settings` names the run-wide settings (RUN_WIDE_SETTINGS) that mean something to this agent: `--alpha`
    reaches its config only if "alpha" is listed, whatever fields the config class has.
    """

    name: str
    agent_class: str  # "module:Class", imported on first build
    config: str  # the run config's section the agent reads ("dqn", "ppo"); random and llm read only its seed
    config_class: type  # that section's dataclass: it has a `seed`, a `validate()`, and loads without torch
    uses_prior: bool  # built with the prior of the run config's [prior] section
    acts_on: str = "q"
    settings: tuple[str, ...] = ()
    offline: bool = False  # learns from a dataset (`train-offline`), not from its own steps
    learns: bool = True  # False: nothing it does changes it (benches evaluate it once)

    def load(self) -> Any:
        module, _, name = self.agent_class.partition(":")
        return getattr(importlib.import_module(module), name)


AGENTS: dict[str, AgentSpec] = {}


def register_agent(spec: AgentSpec) -> None:
    """Make an agent known to every command, bench and screen; a bad spec is a one-line AgentError."""
    if spec.name in AGENTS:
        raise AgentError(f"an agent named {spec.name!r} is registered already")
    shared = next((other for other in AGENTS.values() if other.config == spec.config), None)
    if shared is not None and shared.config_class is not spec.config_class:
        raise AgentError(
            f"agent {spec.name!r}: section [{spec.config}] holds {shared.config_class.__name__} "
            f"(agent {shared.name!r}), not {spec.config_class.__name__}"
        )
    names = {item.name for item in fields(spec.config_class)}
    if spec.acts_on not in ACTS_ON:
        raise AgentError(f"agent {spec.name!r}: acts_on must be one of {', '.join(ACTS_ON)}, got {spec.acts_on!r}")
    missing = [name for name in ACTING_FIELDS[spec.acts_on] if name not in names]
    if missing:
        raise AgentError(
            f"agent {spec.name!r} acts on {spec.acts_on!r}, whose acting settings are read from its config: "
            f"{spec.config_class.__name__} needs fields {', '.join(missing)}"
        )
    unknown = [setting for setting in spec.settings if setting not in RUN_WIDE_SETTINGS or setting not in names]
    if "seed" not in names or unknown:
        raise AgentError(
            f"agent {spec.name!r}: {spec.config_class.__name__} needs a seed field, and settings must be fields "
            f"of it among {', '.join(RUN_WIDE_SETTINGS)} (got {', '.join(spec.settings) or 'none'})"
        )
    AGENTS[spec.name] = spec


DQN_SETTINGS = ("alpha", "k", "explore", "greedy", "target", "features")
for _spec in (
    AgentSpec("dqn", "agents.dqn:DQNAgent", "dqn", DQNConfig, uses_prior=False, settings=DQN_SETTINGS),
    AgentSpec("dqn-prior", "agents.dqn:DQNAgent", "dqn", DQNConfig, uses_prior=True, settings=DQN_SETTINGS),
    AgentSpec("ppo", "agents.ppo:PPOAgent", "ppo", PPOConfig, uses_prior=False, acts_on="policy", settings=("alpha", "features")),
    AgentSpec("ppo-prior", "agents.ppo:PPOAgent", "ppo", PPOConfig, uses_prior=True, acts_on="policy", settings=("alpha", "features")),
    AgentSpec("llm", "agents.baselines:LLMAgent", "dqn", DQNConfig, uses_prior=True, acts_on="prior", learns=False),
    AgentSpec("random", "agents.baselines:RandomAgent", "dqn", DQNConfig, uses_prior=False, acts_on="prior", learns=False),
    AgentSpec("cql", "agents.cql:CQLAgent", "dqn", DQNConfig, uses_prior=False, settings=DQN_SETTINGS, offline=True),
    AgentSpec("cql-prior", "agents.cql:CQLAgent", "dqn", DQNConfig, uses_prior=True, settings=DQN_SETTINGS, offline=True),
):  # fmt: skip
    register_agent(_spec)


def agent_names() -> tuple[str, ...]:
    """The agents trained online (`train`, the UI), in registration order."""
    return tuple(name for name, spec in AGENTS.items() if not spec.offline)


def offline_agent_names() -> tuple[str, ...]:
    return tuple(name for name, spec in AGENTS.items() if spec.offline)


def agents_with_prior() -> tuple[str, ...]:
    return tuple(name for name, spec in AGENTS.items() if spec.uses_prior)


def config_sections() -> dict[str, type]:
    """Each agent config section of the run config and its dataclass, in registration order."""
    return {spec.config: spec.config_class for spec in AGENTS.values()}


def sections_for(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Where run-wide settings go: each to the config section of every agent whose spec lists it, and
    `seed` to every section. {"alpha": 3} → {"dqn": {"alpha": 3}, "ppo": {"alpha": 3}}."""
    sections: dict[str, dict[str, Any]] = {}
    for spec in AGENTS.values():
        for name, value in settings.items():
            if name == "seed" or name in spec.settings:
                sections.setdefault(spec.config, {})[name] = value
    return sections


class RunSettingsLike(Protocol):
    agent: str


class RunConfigLike(Protocol):
    """What `make_agent` reads of a run config (`sandbox.engine.config.RunConfig`): the agent's name, the
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
    agent = spec.load().from_config(config, prior)
    if agent.acting.acts_on != spec.acts_on:
        raise AgentError(
            f"agent {spec.name!r} is registered as acting on {spec.acts_on!r} but its settings act on "
            f"{agent.acting.acts_on!r}; build them with agents.decision.acting_settings({spec.acts_on!r}, config, prior)"
        )
    return agent
