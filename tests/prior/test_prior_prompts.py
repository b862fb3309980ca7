"""Prompt templates: transcript-style, stable parts first (so consecutive steps share a KV prefix)."""

from __future__ import annotations

import os

from agents.prior import TEMPLATES, render_prompt
from tests.prior.conftest import make_query


def test_textworld_prompt_has_task_history_observation_actions_and_ends_in_the_cue() -> None:
    # (action, the observation it was taken at): the hallway, then "go west" led to the kitchen.
    query = make_query(history=(("go west", "You are in the hallway."),))
    prompt = render_prompt(query, list_actions=True, history=2)
    assert prompt.startswith(TEMPLATES["textworld"].intro) and prompt.endswith("\n>")
    order = ["Task: Find the coin", "You are in the hallway.\n> go west", "You are in a kitchen.", "Valid commands: go north, take coin"]
    positions = [prompt.index(part) for part in order]
    assert positions == sorted(positions)


def test_consecutive_steps_share_the_instructions_and_task_as_a_prefix() -> None:
    step_one = render_prompt(make_query("You are in the hallway."), history=2)
    step_two = render_prompt(make_query("You are in the cellar.", history=(("go down", "You are in the hallway."),)), history=2)
    shared = os.path.commonprefix([step_one, step_two])
    assert shared.startswith(TEMPLATES["textworld"].intro + "Task: Find the coin and take it.\n")


def test_history_length_and_action_list_are_settings() -> None:
    history = (("go west", "Old room."), ("go east", "New room."))
    prompt = render_prompt(make_query(history=history), list_actions=False, history=1)
    assert "New room." in prompt and "Old room." not in prompt and "Valid commands" not in prompt
    assert "Recent" not in render_prompt(make_query(history=history), history=0)


def test_families_pick_their_template_and_unknown_ones_the_generic() -> None:
    lake = render_prompt(make_query(family="frozenlake", actions=("go south", "go east")))
    assert lake.startswith(TEMPLATES["frozenlake"].intro) and "Valid moves: go south, go east" in lake
    assert render_prompt(make_query(family="an-unknown-suite")).startswith(TEMPLATES["generic"].intro)


def test_chat_prompts_end_in_the_question_instead_of_the_cue() -> None:
    prompt = render_prompt(make_query(), chat=True)
    assert prompt.endswith(TEMPLATES["textworld"].question)


def test_runs_of_blank_lines_in_game_text_are_collapsed() -> None:
    prompt = render_prompt(make_query("-= Shower =-\nA shower.\n\n\n  \n\nExits: east."))
    assert "-= Shower =-\nA shower.\n\nExits: east." in prompt
