"""Free-form completions → admissible actions: exact, normalised, fuzzy, or dropped (never an arbitrary action)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.prior import map_to_action

ACTIONS = ("go north", "go east", "take coin", "take coin from table", "open wooden door", "look")


@pytest.mark.parametrize(
    ("text", "action", "how"),
    [
        ("take coin", "take coin", "exact"),
        (" go north\n> look", "go north", "exact"),  # cut at the newline / next prompt
        ("\n\ntake coin", "take coin", "exact"),  # leading blank lines skipped, as the sampler does
        ("Take Coin.", "take coin", "normalised"),
        ("  GO   NORTH!", "go north", "normalised"),
        ("I will take the coin", "take coin", "normalised"),
        ("Let's open the wooden door", "open wooden door", "normalised"),
        ("> look", "look", "exact"),
        ("take coin from the table, then leave", "take coin from table", "fuzzy"),  # longest contained action
        ("you should go east now", "go east", "fuzzy"),
        ("go nroth", "go north", "fuzzy"),
    ],
)
def test_mapping_cases(text: str, action: str, how: str) -> None:
    assert map_to_action(text, ACTIONS) == (action, how)


@pytest.mark.parametrize("text", ["", "   \n", "xyzzy plugh", "Write a poem about lakes", "42", ">"])
def test_unmappable_text_is_dropped(text: str) -> None:
    assert map_to_action(text, ACTIONS) == (None, "dropped")


@given(st.text(max_size=40))
def test_mapping_returns_an_admissible_action_or_nothing(text: str) -> None:
    action, how = map_to_action(text, ACTIONS)
    assert (action is None) == (how == "dropped")
    assert action is None or action in ACTIONS


@given(st.sampled_from(ACTIONS))
def test_an_admissible_action_maps_to_itself_exactly(action: str) -> None:
    assert map_to_action(action, ACTIONS) == (action, "exact")
