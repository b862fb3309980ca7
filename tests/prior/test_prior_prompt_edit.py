"""Edited prompts and user templates: scored as written, cached under their full text, checked on load."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import TEMPLATES, LlamaPrior, PriorConfig
from agents.prior.templates import load_templates, parse_template, template_to_toml
from tests.prior.conftest import make_query


def test_an_edited_prompt_is_scored_as_written_and_cached_apart(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config())
    query = make_query()
    live = prior(query)
    rendered = prior.rendered_prompt(query)
    assert rendered == live.prompt
    same_text = prior(query, prompt=rendered)
    assert not same_text.cached  # an edit has a key of its own, even when its text is the rendered one
    np.testing.assert_allclose(same_text.probs, live.probs)  # the same text read gives the same answer
    edited = rendered.replace("text adventure game", "dangerous dungeon")
    answer = prior(query, prompt=edited)
    assert answer.prompt == edited and not answer.cached
    assert not np.allclose(answer.sequence_log_probs, live.sequence_log_probs)
    again = prior(query, prompt=edited)
    assert again.cached
    np.testing.assert_array_equal(again.probs, answer.probs)
    back = prior(query)  # the live prompt's answer is untouched by the edits
    assert back.cached and back.prompt == rendered
    np.testing.assert_array_equal(back.probs, live.probs)
    assert prior.stats.llm_calls == 3


def test_an_edited_prompt_in_sample_mode_is_what_the_model_continues(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(mode="sample", k=3, max_new_tokens=4))
    edited = "Pick a move for the lake.\n>"
    result = prior(make_query(), prompt=edited)
    assert result.prompt == edited and len(result.proposals) == 3


def test_an_edited_prompt_must_fit_and_not_be_empty(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(n_ctx=64))
    with pytest.raises(PriorError, match=r"edited prompt is \d+ tokens; n_ctx=\d+ leaves room for \d+"):
        prior(make_query(), prompt="word " * 100)
    with pytest.raises(PriorError, match="edited prompt is empty"):
        prior(make_query(), prompt="  \n")


def test_a_user_template_is_read_at_start_and_keys_the_cache(
    tiny_config: Callable[..., PriorConfig], tmp_path: Path
) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "textworld.toml").write_text('intro = "Be brief and careful.\\n"\n')
    builtin = LlamaPrior(tiny_config())
    builtin_answer = builtin(make_query())
    builtin.close()
    custom = LlamaPrior(tiny_config(templates_dir=str(folder)))
    answer = custom(make_query())
    assert answer.prompt.startswith("Be brief and careful.\nTask: ")  # the other pieces stay built-in
    assert not answer.cached  # another prompt text, another cache entry
    assert custom.template("textworld").question == TEMPLATES["textworld"].question
    custom.set_template("textworld", dataclasses.replace(TEMPLATES["textworld"], intro="Hurry.\n"))
    assert custom.rendered_prompt(make_query()).startswith("Hurry.\n")
    assert not np.allclose(answer.sequence_log_probs, builtin_answer.sequence_log_probs)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('current = "Now:\\n"', "'current' must contain {observation}"),
        ('current = ""', "'current' may not be empty"),
        ('step = "{observation}\\n"', "'step' must contain {action}"),
        ('intro = "You see {observation}"', "'intro' uses {observation}; allowed here: none"),
        ('task = "Goal: {goal}"', "'task' uses {goal}; allowed here: {task}"),
        ('actions = "Moves: {actions"', "'actions' has an unmatched brace"),
        ('cue = "{}"', "'cue' has a placeholder {}"),
        ('intruo = "typo"', "unknown key 'intruo'"),
        ("intro = 3", "'intro' must be text"),
        ('intro = "unterminated', "is not valid TOML"),
    ],
)
def test_a_malformed_template_fails_on_load_naming_the_file(
    tiny_config: Callable[..., PriorConfig], tmp_path: Path, text: str, problem: str
) -> None:
    (tmp_path / "frozenlake.toml").write_text(text + "\n")
    with pytest.raises(PriorError, match="frozenlake.toml") as caught:
        LlamaPrior(tiny_config(templates_dir=str(tmp_path)))
    assert problem in str(caught.value)


def test_empty_pieces_leave_their_part_out() -> None:
    template = parse_template('task = ""\nactions = ""\n', "frozenlake", "test")
    assert (template.task, template.actions, template.intro) == ("", "", TEMPLATES["frozenlake"].intro)


def test_every_built_in_template_round_trips_through_toml(tmp_path: Path) -> None:
    for family, template in TEMPLATES.items():
        (tmp_path / f"{family}.toml").write_text(template_to_toml(template, family))
    assert load_templates(tmp_path) == TEMPLATES
    assert load_templates(tmp_path / "missing") == {} and load_templates(None) == {}
