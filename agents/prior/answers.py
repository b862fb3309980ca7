"""What every LLM backend shares, wherever its model runs: the cache key's parts and turning
log-probs or samples into p_LLM(a|s).

The llama.cpp backend (`LlamaPrior`) and the OpenAI-compatible one (`sandbox.prior_service`'s `OpenAIPrior`) both answer
through these, so one stored answer means the same thing from either. (The cache, stats, seed and
floor around every backend are `agents.prior.cached.CachedPrior`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents import bayes
from agents.prior.config import PriorConfig
from agents.prior.mapping import map_to_action
from agents.prior.prompts import PromptTemplate, render_prompt
from agents.prior.types import PriorQuery, PriorResult, Proposal


def answer_key_parts(
    config: PriorConfig,
    query: PriorQuery,
    template: PromptTemplate,
    identity: dict[str, Any],
    *,
    k: int,
    seed: int,
    edited_prompt: str | None = None,
    space_prefix: bool = False,
    levers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the cache key of an answer hashes: `identity` (what the model is and where it runs), the answer settings
    and the rendered prompt (or an edited prompt's full text, under a key of its own).

    Sample mode keys on the `k` completions asked for and the `seed` they are drawn with (the config's
    plus the run's). `space_prefix`: the model's tokenizer puts a space before the text (SentencePiece);
    its scores cached before actions were tokenised with the prompt read "▁▁action", so they are keyed apart.
    `levers`: the score-mode options in force that the plain prior lacks (agents/prior/scoring.py),
    so each variant's answers have a key of their own.
    """
    chat = config.mode == "sample" and config.chat
    parts: dict[str, Any] = {
        **identity,
        "mode": config.mode,
        "epsilon": 0.0,  # answers are stored before the floor (see `cached.with_floor`); 0 keeps older keys valid
        "temperature": config.temperature,
        "actions": list(query.actions),
    }
    if edited_prompt is None:
        parts["prompt"] = render_prompt(query, config.list_actions, config.history, chat=chat, template=template)
    else:
        parts["edited_prompt"] = edited_prompt
    if config.mode == "score":
        parts["length_norm"] = config.length_norm
        if space_prefix:
            parts["action_tokens"] = "tokenised with the prompt"
        parts.update(levers or {})
    else:
        parts.update(k=k, top_p=config.top_p, max_new_tokens=config.max_new_tokens, chat=chat, seed=seed)
    return parts


def score_result(
    model: str,
    query: PriorQuery,
    config: PriorConfig,
    log_probs: np.ndarray,
    token_counts: tuple[int, ...],
    calibration: np.ndarray | None = None,
    **cost: Any,
) -> PriorResult:
    """Score mode's answer from each action's summed token log-prob, however the log-probs were obtained:
    `config` is the one in force for the query's family (`variants.for_family`): its length
    normalisation, the content-free values subtracted (`calibration`, PMI: computed with the same
    normalisation) and its temperature, as agents/prior/scoring.py combines them in-process."""
    scores = np.asarray(log_probs, dtype=np.float64)
    if config.length_norm:
        scores = scores / np.maximum(np.asarray(token_counts, dtype=np.float64), 1.0)
    if calibration is not None:
        scores = scores - calibration
    return PriorResult(
        model=model,
        mode="score",
        actions=query.actions,
        probs=bayes.prior_from_sequence_log_probs(scores, config.temperature),
        sequence_log_probs=log_probs,
        scores=scores,
        token_counts=token_counts,
        **cost,
    )


def sample_result(model: str, query: PriorQuery, texts: Sequence[str], **cost: Any) -> PriorResult:
    """Sample mode's answer from k free-form completions: each mapped to an admissible action (or
    dropped), p_LLM their empirical frequency; uniform when every one was dropped."""
    proposals = tuple(Proposal(text, *map_to_action(text, query.actions)) for text in texts)
    empirical = bayes.empirical_prior([proposal.action for proposal in proposals], query.actions)
    return PriorResult(
        model=model,
        mode="sample",
        actions=query.actions,
        probs=bayes.uniform(len(query.actions)) if empirical is None else empirical,
        proposals=proposals,
        dropped=sum(proposal.action is None for proposal in proposals),
        fallback_uniform=empirical is None,
        **cost,
    )
