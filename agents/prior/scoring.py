"""Score mode's levers: the readings of one state whose log-probs make p_LLM(a|s).

A *reading* is one prompt and the continuations scored right after it. The plain prior is
one reading: the transcript prompt ending in ">", each action (" go north") a continuation.
Each lever (a `PriorConfig` field; named combinations in variants.py) changes the readings
or how their log-probs combine into one score per action:

- `length_norm`: an action's mean token log-prob instead of the sum;
- `order`: the action list shown in the env's order, sorted, or both the given and the
  reversed order (the scores averaged), so no action gains from its place in the list;
- `terminator`: the whole line is scored (" go north\\n", or the chat turn's end), so an
  action that is a prefix of another ("go" / "go north") no longer takes the longer one's mass;
- `chat`: the prompt is the user's turn of the model's chat template and the action is
  scored as the assistant's answer;
- `few_shot`: worked decisions of train-split games (agents/prior/examples.py) right after
  the instructions: a constant prefix whose KV cache every state reuses;
- `judge`: one reading per action, "Is "<action>" a good next step?", scored as
  log p(Yes) - log p(No); the readings share everything up to the question, so the KV cache
  turns |A| prompts into one prompt plus |A| short tails;
- `calibrate` (PMI, content-free calibration): the same readings of a content-free state
  (no task, observation "N/A", the same action list) are subtracted, removing what the model
  would say of these actions whatever the state; the prior caches them once per action set;
- `wording`: the family's guided instructions (agents/prior/prompts.py).

score(a) = mean over listing orders of [value(a) - value_content_free(a)], and
p(a) = softmax(score / temperature) over A(s).

Every reading is scored by `LlamaBackend.score` (KV reuse across readings); `evaluate` with
`naive=True` scores each candidate from an empty cache instead: the reference the tests hold
every lever to (within 1e-4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.prior.config import PriorConfig
from agents.prior.types import PriorQuery

if TYPE_CHECKING:
    from agents.prior.backend import LlamaBackend

JUDGE_QUESTION = 'Is "{action}" a good next step? Answer yes or no.'
JUDGE_ANSWERS = ("Yes", "No")
CONTENT_FREE_OBSERVATION = "N/A"
TRANSCRIPT_END = "\n"  # what ends an action's line in the transcript the prompt imitates


@dataclass(frozen=True)
class Levers:
    """The score-mode options in force for one family (see the module docstring)."""

    length_norm: bool = False
    calibrate: bool = False
    order: str = "given"
    terminator: bool = False
    chat: bool = False
    few_shot: int = 0
    judge: bool = False
    wording: str = "default"

    @classmethod
    def of(cls, config: PriorConfig) -> Levers:
        return cls(**{field.name: getattr(config, field.name) for field in dataclasses.fields(cls)})

    def changed(self) -> dict[str, Any]:
        """The levers that differ from the plain prior's: what a cache key adds (nothing for the plain
        prior, whose keys stay what they were before the levers existed)."""
        plain = Levers()
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name != "length_norm" and getattr(self, field.name) != getattr(plain, field.name)
        }

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Prompt:
    """A prompt as the model reads it: its text, tokens, and how a continuation is tokenised after it."""

    text: str
    tokens: list[int]
    add_bos: bool = True
    chat: bool = False  # special tokens parsed; the answer starts the assistant's turn (no leading space)
    end_of_turn: str = ""  # the chat format's end of a turn


# Renders and fits a query's prompt: (query, actions in the order listed, ending or None for the cue).
Fit = Callable[[PriorQuery, tuple[str, ...], "str | None"], Prompt]


@dataclass(frozen=True)
class Reading:
    prompt: Prompt
    continuations: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """The readings of one listing order: one reading over every action, or (judge) one per action."""

    readings: tuple[Reading, ...]
    judge: bool


def listings(actions: tuple[str, ...], order: str) -> list[tuple[str, ...]]:
    """The orders the action list is shown in."""
    if order == "sorted":
        return [tuple(sorted(actions))]
    if order == "both":
        return [actions, actions[::-1]] if len(actions) > 1 else [actions]
    return [actions]


def continuation(text: str, prompt: Prompt, levers: Levers) -> str:
    """`text` as the model would write it after `prompt`: after a space in a transcript, at the start of
    the assistant's turn in chat; with the line's (turn's) end when `terminator` is on."""
    end = (prompt.end_of_turn if prompt.chat else TRANSCRIPT_END) if levers.terminator else ""
    return (text if prompt.chat else f" {text}") + end


def content_free(query: PriorQuery) -> PriorQuery:
    """The state with its content taken out: the same family and actions, no task, no history, "N/A"."""
    return dataclasses.replace(query, task="", observation=CONTENT_FREE_OBSERVATION, history=(), optimal=None)


def parts(query: PriorQuery, levers: Levers, fit: Fit) -> list[Part]:
    """One part per listing order; continuations are always in the env's action order."""
    result = []
    for listed in listings(query.actions, levers.order):
        if levers.judge:
            readings = []
            for action in query.actions:
                question = JUDGE_QUESTION.format(action=action)
                prompt = fit(query, listed, question if levers.chat else f"Question: {question}\nAnswer:")
                readings.append(Reading(prompt, tuple(continuation(answer, prompt, levers) for answer in JUDGE_ANSWERS)))
            result.append(Part(tuple(readings), judge=True))
        else:
            prompt = fit(query, listed, None)
            result.append(Part((Reading(prompt, tuple(continuation(a, prompt, levers) for a in query.actions)),), judge=False))
    return result


def continuation_tokens(backend: LlamaBackend, prompt: Prompt, text: str) -> list[int]:
    """`text`'s tokens as the continuation of `prompt`: prompt + text tokenised as one, less the prompt's
    tokens, so the text reads as it would in the whole (one space, merges as there). Where a token would
    straddle the prompt's end, the text's own tokens, so every candidate follows the same prompt tokens
    (a transcript's " action" as `tokenize_action` reads it: one space, also for space-prefix tokenisers).
    For the plain prior this is `LlamaBackend.tokenize_actions`."""
    whole = backend.tokenize_prompt(prompt.text + text, add_bos=prompt.add_bos, special=prompt.chat)
    n = len(prompt.tokens)
    if whole[:n] == prompt.tokens and len(whole) > n:
        return whole[n:]
    if not prompt.chat and text.startswith(" "):
        return backend.tokenize_action(text[1:])
    return backend.tokenize_prompt(text, add_bos=False, special=prompt.chat)


@dataclass(frozen=True)
class PartScores:
    values: np.ndarray  # one value per action, in the env's order
    log_probs: tuple[tuple[float, ...], ...]  # per reading, per continuation: the raw sums
    token_counts: tuple[tuple[int, ...], ...]
    tokens_evaluated: int


def evaluate(backend: LlamaBackend, part: Part, levers: Levers, *, naive: bool = False) -> PartScores:
    """Score a part's readings (KV reuse, or `naive`: each candidate from an empty cache) and reduce them
    to one value per action."""
    log_probs, counts, evaluated = [], [], 0
    for reading in part.readings:
        candidates = [continuation_tokens(backend, reading.prompt, text) for text in reading.continuations]
        if naive:
            values = backend.score_naive(reading.prompt.tokens, candidates)
        else:
            scored = backend.score(reading.prompt.tokens, candidates)
            values, evaluated = scored.log_probs, evaluated + scored.tokens_evaluated
        log_probs.append(tuple(float(value) for value in values))
        counts.append(tuple(len(tokens) for tokens in candidates))
    return PartScores(part_values(part, log_probs, counts, levers), tuple(log_probs), tuple(counts), evaluated)


def part_values(
    part: Part, log_probs: Sequence[Sequence[float]], counts: Sequence[Sequence[int]], levers: Levers
) -> np.ndarray:
    """Each action's value in a part: its log-prob (per token with `length_norm`), or, judged, the answer's
    log-odds log p(Yes) - log p(No)."""
    per_reading = [
        np.asarray(values, dtype=np.float64) / (np.maximum(np.asarray(n, dtype=np.float64), 1.0) if levers.length_norm else 1.0)
        for values, n in zip(log_probs, counts)
    ]
    if part.judge:
        return np.array([yes_no[0] - yes_no[1] for yes_no in per_reading])
    return per_reading[0]


def combine(values: Sequence[np.ndarray], calibration: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The mean over listing orders of each action's value, less its content-free value when calibrating."""
    scores = np.mean(np.stack(values), axis=0)
    if calibration is not None:
        scores = scores - np.mean(np.stack(calibration), axis=0)
    return scores


def naive_scores(backend: LlamaBackend, query: PriorQuery, levers: Levers, fit: Fit) -> np.ndarray:
    """The same scores as the prior's, every candidate evaluated on its own from an empty cache, nothing cached."""
    values = [evaluate(backend, part, levers, naive=True).values for part in parts(query, levers, fit)]
    calibration = None
    if levers.calibrate:
        calibration = [evaluate(backend, part, levers, naive=True).values for part in parts(content_free(query), levers, fit)]
    return combine(values, calibration)
