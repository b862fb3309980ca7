"""Prompt hot-edit in the engine (no UI): the posterior each agent forms under an edited prompt, and saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents import bayes
from agents.prior import TEMPLATES, PriorConfig
from agents.registry import make_agent
from envs import make_env
from sandbox.errors import SandboxError
from sandbox.features.prompt_edit import prompt_view, rescore, save_template
from sandbox.engine.session import text_state
from tests.app.support import fast_config
from tests.prior.conftest import write_tiny_gguf


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf")


def agent_with_tiny_prior(name: str, tiny_model: Path, **prior: object):
    settings = {"temperature": 20.0, "n_ctx": 1024, "n_threads": 1, "cache_path": None, **prior}
    config = fast_config(name, PriorConfig(model=str(tiny_model), **settings))
    return make_agent(config)


def lake_state():
    observation, info = make_env("TextFrozenLake-v0").reset(seed=0)
    return text_state("frozenlake", observation, info, ())


@pytest.mark.parametrize("name", ["dqn-prior", "ppo-prior", "llm"])
def test_each_agent_forms_its_posterior_from_the_edited_prior(name: str, tiny_model: Path, tmp_path: Path) -> None:
    agent = agent_with_tiny_prior(name, tiny_model)
    state = lake_state()
    decision = agent.act(state)
    view = prompt_view(agent, state, decision)
    np.testing.assert_array_equal([row.prior for row in view.before.candidates], decision.prior_result.probs)
    edited = view.prompt.replace(TEMPLATES["frozenlake"].intro, "Go south, always.\n")
    result = rescore(agent, state, decision, edited)
    after = result.after
    probs = after.prior_result.probs
    assert after.prior_result.prompt == edited and after.action == decision.action
    posterior = np.array([row.posterior for row in after.candidates])
    if name == "dqn-prior":  # exact q(a|s) ∝ p_LLM · exp(α·Q) with the agent's own Q
        q = np.array([row.q_value for row in decision.candidates])
        np.testing.assert_allclose(posterior, bayes.posterior(probs, q, decision.alpha).posterior)
    elif name == "ppo-prior":  # the policy π the agent computes from that prior
        np.testing.assert_allclose(posterior, agent.policy(state, after.prior_result))
    else:  # the LLM agent acts on p_LLM itself
        np.testing.assert_allclose(posterior, probs)
    agent.prior.close()


def test_saving_a_template_writes_it_and_the_prior_uses_it(tiny_model: Path, tmp_path: Path) -> None:
    agent = agent_with_tiny_prior("llm", tiny_model, templates_dir=str(tmp_path / "prompts"))
    text = 'intro = "Mind the holes.\\n"\n'
    path = save_template(agent, "frozenlake", text)
    assert path == tmp_path / "prompts" / "frozenlake.toml" and path.read_text() == text
    assert agent.prior.rendered_prompt(lake_state()).startswith("Mind the holes.\nTask: ")
    agent.prior.close()
    off = agent_with_tiny_prior("llm", tiny_model, templates_dir=None)
    with pytest.raises(SandboxError, match="prompt templates are off"):
        save_template(off, "frozenlake", text)
    off.prior.close()


@pytest.mark.parametrize(("name", "prior"), [("dqn", "uniform"), ("dqn-prior", "uniform")])
def test_agents_without_a_prompt_have_nothing_to_edit(name: str, prior: str) -> None:
    config = fast_config(name, PriorConfig(model=prior, cache_path=None))
    agent = make_agent(config)
    state = lake_state()
    with pytest.raises(SandboxError, match="to edit a prompt"):
        prompt_view(agent, state, agent.act(state))
