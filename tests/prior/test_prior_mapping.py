"""Free-form completions → admissible actions: exact, normalised, fuzzy, or dropped (never an arbitrary action)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.prior import map_to_action
from agents.prior.mapping import normalise

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


# ----- properties over generated action lists ------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORD = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(LETTERS + "0123456789", max_size=7))


def distinct_after_normalising(actions: list[str]) -> bool:
    """Lists where two actions read the same once normalised are ambiguous by design: leave them out."""
    forms = [normalise(action) for action in actions]
    return all(forms) and len(set(forms)) == len(forms)


ACTION = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
ACTION_LISTS = st.lists(ACTION, min_size=1, max_size=8, unique=True).filter(distinct_after_normalising)


@st.composite
def action_list_and_index(draw: st.DrawFn) -> tuple[list[str], int]:
    actions = draw(ACTION_LISTS)
    return actions, draw(st.integers(0, len(actions) - 1))


@st.composite
def respelt(draw: st.DrawFn, action: str) -> str:
    """The same command as a person or a model might write it: case, spacing, punctuation, articles."""
    words = []
    for word in action.split():
        if draw(st.booleans()):
            words.append(draw(st.sampled_from(("the", "a", "an"))))
        words.append(draw(st.sampled_from((word, word.upper(), word.capitalize()))))
    separators = [draw(st.sampled_from((" ", "  ", "\t", ", ", " - "))) for _ in words[1:]]
    text = words[0] + "".join(sep + word for sep, word in zip(separators, words[1:]))
    lead = draw(st.sampled_from(("", " ", "> ", "\n", '"')))
    tail = draw(st.sampled_from(("", ".", "!", "?", " ...", '"', "\n> look around")))
    return lead + text + tail


@settings(max_examples=200, deadline=None)
@given(action_list_and_index())
def test_every_generated_action_maps_to_itself_exactly(case: tuple[list[str], int]) -> None:
    actions, index = case
    assert map_to_action(actions[index], actions) == (actions[index], "exact")


@settings(max_examples=200, deadline=None)
@given(st.data(), action_list_and_index())
def test_case_spacing_punctuation_and_articles_do_not_change_the_action(
    data: st.DataObject, case: tuple[list[str], int]
) -> None:
    actions, index = case
    text = data.draw(respelt(actions[index]))
    action, how = map_to_action(text, actions)
    assert action == actions[index] and how in ("exact", "normalised")


@settings(max_examples=200, deadline=None)
@given(ACTION_LISTS, st.lists(WORD, max_size=8).map(" ".join), st.text(max_size=20))
def test_mapping_stays_in_the_list_and_is_deterministic(actions: list[str], words: str, noise: str) -> None:
    # Texts made of the actions' own words reach the fuzzy paths; arbitrary noise the rest.
    for text in (words, noise, words + noise, noise + words):
        action, how = map_to_action(text, actions)
        assert how in ("exact", "normalised", "fuzzy", "dropped")
        assert (action is None) == (how == "dropped")
        assert action is None or action in actions
        assert map_to_action(text, list(actions)) == (action, how)
        assert map_to_action(text, tuple(actions)) == (action, how)
