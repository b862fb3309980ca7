"""The prompt editor driven by keys on a real llama.cpp prior (the tiny random-weight model): edit, re-score, save."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import TextArea

from agents.prior import TEMPLATES, LlamaPrior, PriorConfig
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady, SessionSaved
from sandbox.ui.screens.prompt_editor import PromptEditorScreen, PromptOpened, PromptRescored, TemplateSaved
from sandbox.ui.widgets.decision_table import DecisionTable
from tests.app.support import Messages, fast_config, posterior_by_hand, settle
from tests.app.test_ui_app import errors
from tests.prior.conftest import write_tiny_gguf

LAKE_INTRO = TEMPLATES["frozenlake"].intro


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf")


@pytest.fixture
def tiny_app(tiny_model: Path, tmp_path: Path) -> Callable[..., SandboxApp]:
    def make(agent: str = "dqn-prior") -> SandboxApp:
        prior = PriorConfig(
            model=str(tiny_model),
            temperature=20.0,  # the random model is sure of itself; a flatter prior shows changes in two decimals
            n_ctx=1024,  # one token per character: room for the lake prompt
            n_threads=1,
            cache_path=str(tmp_path / "prior_cache.sqlite"),
            templates_dir=str(tmp_path / "prompts"),
        )
        return SandboxApp(fast_config(agent, prior), saves_dir=tmp_path / "saves", record_episodes=False)

    return make


async def test_edit_the_prompt_and_rescore(tiny_app: Callable[[], SandboxApp]) -> None:
    messages = Messages()
    app = tiny_app()
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        live = messages.of(DecisionReady)[-1].decision
        await pilot.press("p")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PromptEditorScreen)
        (opened,) = messages.of(PromptOpened)
        area = screen.query_one(TextArea)
        assert area.text == opened.view.prompt == live.prior_result.prompt  # the prompt the model read
        np.testing.assert_allclose([row.prior for row in opened.view.before.candidates], live.prior_result.probs)

        edited = opened.view.prompt.replace(LAKE_INTRO, "Holes are everywhere to the east. Never go east.\n")
        area.text = edited
        await pilot.press("ctrl+r")
        await settle(pilot)
        (rescored,) = [m.rescored for m in messages.of(PromptRescored)]
        after, before = rescored.after, rescored.before
        assert rescored.prompt == edited and after.prior_result.prompt == edited
        assert not np.allclose([row.prior for row in after.candidates], [row.prior for row in before.candidates])
        q = np.array([row.q_value for row in after.candidates])
        expected = posterior_by_hand(after.prior_result.probs, q, live.alpha)
        np.testing.assert_allclose([row.posterior for row in after.candidates], expected)
        table = screen.query_one(DecisionTable)
        assert table.decision is after and table.before is before  # the table shows the change
        assert "p_LLM  Δ" in " ".join(str(column.label) for column in table.columns.values())

        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, PromptEditorScreen)
        assert app.controller.decide() is live  # an edit is a what-if: the live prior and decision are untouched
        assert not errors(messages)


@pytest.mark.parametrize("agent", ["dqn-prior", "ppo-prior"])
async def test_save_a_template_and_the_prior_uses_it(
    tiny_app: Callable[..., SandboxApp], tmp_path: Path, agent: str
) -> None:
    messages = Messages()
    app = tiny_app(agent)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("ctrl+t")
        area = app.screen.query_one(TextArea)
        assert 'cue = ">"' in area.text
        new_intro = "Cross the ice; holes drown you."
        area.text = area.text.replace(LAKE_INTRO.strip(), new_intro)
        await pilot.press("ctrl+r")  # the template renders this state's prompt, which is scored
        await settle(pilot)
        (rescored,) = [m.rescored for m in messages.of(PromptRescored)]
        assert rescored.prompt.startswith(new_intro + "\n")
        await pilot.press("ctrl+s")
        await settle(pilot)
        (saved,) = messages.of(TemplateSaved)
        assert saved.path == tmp_path / "prompts" / "frozenlake.toml" and saved.path.is_file()
        decisions = len(messages.of(DecisionReady))

        await pilot.press("escape")
        await settle(pilot)
        assert len(messages.of(DecisionReady)) == decisions + 1  # the prior was asked again with the template
        assert messages.of(DecisionReady)[-1].decision.prior_result.prompt.startswith(new_intro + "\n")
        assert not errors(messages)
    again = LlamaPrior(app.controller.config.prior)  # a later run reads the saved template
    assert again.template("frozenlake").intro == new_intro + "\n"
    again.close()


@pytest.mark.parametrize("agent", ["dqn-prior", "ppo-prior", "llm"])
async def test_a_prior_mode_switch_reaches_the_agents_next_decision(tiny_app: Callable[..., SandboxApp], agent: str) -> None:
    messages = Messages()
    app = tiny_app(agent)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        assert messages.of(DecisionReady)[-1].decision.prior_result.mode == "score"
        await pilot.press("m")
        await settle(pilot)
        switched = messages.of(DecisionReady)[-1]
        assert switched.preview and switched.decision.prior_result.mode == "sample"
        assert not errors(messages)


async def test_live_k_and_mode_changes_are_saved_as_the_sessions_settings(tiny_app: Callable[..., SandboxApp]) -> None:
    """A save records the live k and mode as the session's acting settings; its config stays what the user asked for."""
    messages = Messages()
    app = tiny_app()
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("m", "right_curly_bracket")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        (saved,) = messages.of(SessionSaved)
        assert not errors(messages)
        live = app.controller.session.acting
        assert app.controller.session.agent.prior.config.mode == "sample"  # the prior answers in the live mode
    state = json.loads((saved.path / "state.json").read_text())
    prior = tomllib.loads(state["config_toml"])["prior"]
    assert (prior["mode"], tomllib.loads(state["config_toml"])["dqn"]["k"]) == ("score", 5)
    assert (state["acting"]["prior_mode"], state["acting"]["k"]) == ("sample", 6) == (live.prior_mode, live.k)


async def test_a_malformed_template_is_not_saved(tiny_app: Callable[[], SandboxApp], tmp_path: Path) -> None:
    messages = Messages()
    app = tiny_app()
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("ctrl+t")
        area = app.screen.query_one(TextArea)
        area.text = area.text.replace("Now:\n{observation}", "Now:\n{observaton}")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not messages.of(TemplateSaved)
        assert any("{observaton}" in error for error in errors(messages))
        assert not (tmp_path / "prompts").exists()


async def test_a_prior_without_a_prompt_has_nothing_to_edit(make_app) -> None:
    messages = Messages()
    app = make_app()  # the uniform prior
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert not isinstance(app.screen, PromptEditorScreen)
        assert not messages.of(PromptOpened)
