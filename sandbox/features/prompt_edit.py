"""Prompt hot-edit: re-score the current state with an edited prompt or template, and save templates.

An edit is a what-if: the live prior keeps its prompt (the agent learns against a fixed
prior, and its answers are cached exactly) until a template is saved, which changes what
the prior reads for that env family from then on, in this session and in later runs.

Before and after are both the exact posterior q(a|s) ∝ p_LLM(a|s)·exp(α·Q(s,a)) over every
admissible action (a PPO agent's policy π; the LLM agent's p_LLM), formed by
`agents.decision.redecide`, so the difference is the prompt's alone: DQN-Prior acts on an
estimate from k sampled proposals, whose noise would blur it. This module knows nothing of the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.base import Agent
from agents.decision import Decision, TextState, redecide
from agents.prior.priors import UNIFORM_MODEL, LlamaPrior
from agents.prior.templates import parse_template, template_path, template_to_toml
from agents.prior.types import PriorResult
from sandbox.errors import SandboxError
from sandbox.engine.storage import atomic_write_text


def editable_prior(agent: Agent) -> LlamaPrior:
    """The agent's LLM prior, whose prompt can be edited; SandboxError for agents that read no prompt."""
    prior = agent.prior
    if isinstance(prior, LlamaPrior):
        return prior
    if prior is None:
        reason = "has no LLM prior"
    elif prior.model_name == UNIFORM_MODEL:
        reason = "has the uniform prior, which reads no prompt"
    else:
        reason = f"asks a {type(prior).__name__}, whose prompt is not read in this process"
    raise SandboxError(
        f"the {agent.name} agent {reason}: pick dqn-prior, ppo-prior or llm (g) with a local GGUF model to edit a prompt"
    )


@dataclass(frozen=True)
class PromptView:
    """What the editor opens with: the state, the agent's decision there, its prompt and its family's template."""

    state: TextState
    decision: Decision
    before: Decision  # the decision's exact posterior under the live prompt (what an edit is compared with)
    prompt: str
    template: str  # the family's template in use, as TOML
    model: str
    mode: str


def prompt_view(agent: Agent, state: TextState, decision: Decision) -> PromptView:
    prior = editable_prior(agent)
    live = decision.prior_result if decision.prior_result is not None else prior(state)
    return PromptView(
        state=state,
        decision=decision,
        before=posterior_under(agent, state, decision, live),
        prompt=prior.rendered_prompt(state),
        template=template_to_toml(prior.template(state.family), state.family),
        model=prior.model_name,
        mode=prior.config.mode,
    )


def posterior_under(agent: Agent, state: TextState, decision: Decision, result: PriorResult) -> Decision:
    """`decision` redone with the prior `result` (`agents.decision.redecide`): a policy agent's π is asked again."""
    policy = agent.policy(state, result) if agent.acting.acts_on == "policy" else None
    return redecide(decision, state, result, policy=policy)


@dataclass(frozen=True)
class Rescore:
    """The same state and Q under the live prompt (`before`) and the edited one (`after`)."""

    prompt: str  # the text the model read for `after`
    before: Decision
    after: Decision


def rescore(agent: Agent, state: TextState, decision: Decision, prompt: str) -> Rescore:
    """Ask the prior with `prompt` in place of the rendered one (an LLM call unless that text was asked before)."""
    prior = editable_prior(agent)
    before = decision.prior_result if decision.prior_result is not None else prior(state)
    after = prior(state, prompt=prompt)
    return Rescore(prompt, posterior_under(agent, state, decision, before), posterior_under(agent, state, decision, after))


def render_template(agent: Agent, state: TextState, text: str) -> str:
    """The prompt an edited template (TOML) renders for `state`; PriorError names what is wrong with it."""
    prior = editable_prior(agent)
    template = parse_template(text, state.family, "the edited template")
    return prior.rendered_prompt(state, template)


def save_template(agent: Agent, family: str, text: str) -> Path:
    """Check the template, write it (atomically) to <templates_dir>/<family>.toml, and use it from now on."""
    prior = editable_prior(agent)
    folder = prior.config.templates_dir
    if folder is None:
        raise SandboxError("prompt templates are off (prior templates_dir = none); set it to a folder to save one")
    path = template_path(folder, family)
    template = parse_template(text, family, "the edited template")
    atomic_write_text(path, text)
    prior.set_template(family, template)
    return path
