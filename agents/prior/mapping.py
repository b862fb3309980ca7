"""Map a free-form LLM completion to an admissible action, or to nothing.

Tried in order, from most to least certain: exact match, normalised match (case,
punctuation, whitespace, leading fillers such as "I will", articles), then fuzzy (an
admissible action contained in the text, else the closest by edit ratio above a
threshold). A completion that matches nothing is dropped (None), never turned into an
arbitrary action: the released code of the paper fell back to the last admissible
command, which biases the prior.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process

FUZZY_THRESHOLD = 85.0  # rapidfuzz ratio (0-100); "go nroth" → "go north" scores 87.5

_CUT = re.compile(r"[\n>]")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_ARTICLES = {"a", "an", "the"}
_LEADING_FILLERS = (
    "i will",
    "i ll",
    "i would",
    "i want to",
    "i choose to",
    "i choose",
    "i should",
    "you should",
    "let s",
    "let me",
    "i",
    "please",
    "next command",
    "next action",
    "next move",
    "command",
    "action",
    "move",
    "answer",
    "then",
    "now",
    "so",
)


def first_line(text: str) -> str:
    """The completion up to the first newline or '>' (what follows is the model talking on)."""
    return _CUT.split(text.strip().lstrip(">").strip(), maxsplit=1)[0].strip()


def normalise(text: str) -> str:
    """Lower case, punctuation and articles removed, leading fillers ("I will", "let's") dropped."""
    words = _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).split()
    words = [word for word in words if word not in _ARTICLES]
    stripped = True
    while stripped and words:
        stripped = False
        for filler in _LEADING_FILLERS:
            filler_words = filler.split()
            if words[: len(filler_words)] == filler_words and len(words) > len(filler_words):
                words = words[len(filler_words) :]
                stripped = True
                break
    return " ".join(words)


def map_to_action(
    text: str, actions: Sequence[str], threshold: float = FUZZY_THRESHOLD
) -> tuple[str | None, str]:
    """(action, how): how is "exact" | "normalised" | "fuzzy", or (None, "dropped")."""
    line = first_line(text)
    if not line:
        return None, "dropped"
    if line in actions:
        return line, "exact"
    wanted = normalise(line)
    if not wanted:
        return None, "dropped"
    normalised = [normalise(action) for action in actions]
    for action, candidate in zip(actions, normalised):
        if candidate == wanted:
            return action, "normalised"
    padded = f" {wanted} "
    contained = [index for index, candidate in enumerate(normalised) if candidate and f" {candidate} " in padded]
    if contained:
        # The longest contained action is the most specific ("take coin from table" over "take coin").
        return actions[max(contained, key=lambda index: len(normalised[index]))], "fuzzy"
    best = process.extractOne(wanted, normalised, scorer=fuzz.ratio, score_cutoff=threshold)
    if best is not None:
        return actions[best[2]], "fuzzy"
    return None, "dropped"
