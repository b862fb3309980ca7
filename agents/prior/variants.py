"""Named prior variants: a set of scoring options under one name, compared row by row by
`bench prior-quality` and chosen with `--prior-variant NAME` (`PriorConfig.variant`).

A variant sets `PriorConfig` fields, for every model (`settings`) and, where the measurements
said so, per embedded model and env family (`tuned`: model -> family -> fields, "*" for any
family), resolved by the prior at each query. Each lever's answers are cached under their own
key: the LLM prior's cache key holds every option in force (agents/prior/scoring.py). To add a
lever: give it a `PriorConfig` field, read it in agents/prior/scoring.py and `Levers`, then name
the variants that use it here.

`default` is what the embedded models use unless told otherwise: the best variant on the
train-split games of `bench prior-quality` (README, "How good is the prior?"); `plain` is the
prior as configured, no lever (the scoring before the levers existed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.errors import PriorError
from agents.prior.config import PriorConfig

DEFAULT_VARIANT = "default"
PLAIN_VARIANT = "plain"
ANY_FAMILY = "*"


@dataclass(frozen=True)
class PriorVariant:
    name: str
    description: str
    settings: Mapping[str, Any]  # PriorConfig fields this variant sets
    tuned: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)  # model -> family -> fields


# SmolLM2-135M's default per family, chosen on the train-split games of `bench prior-quality --quick
# --splits train` (README, "Prior variants"). Content-free calibration (PMI) removes the model's taste
# for some commands whatever the state; what is left ranks the optimal move first on Frozen Lake 73% of
# the time but by tenths of a nat, so T = 0.1 turns the ranking into mass (one T for every PMI family;
# it was the best of 0.03-1 on the train games). On TextWorld's games PMI hurts: there length-norm at
# T = 0.5. ScienceWorld keeps the plain prior (no lever moved it off zero).
PMI_SHARP = {"calibrate": True, "temperature": 0.1}
SMOLLM2_TUNED: dict[str, dict[str, Any]] = {
    "frozenlake": PMI_SHARP,
    "household": PMI_SHARP,
    "overcooked": PMI_SHARP,
    "textworld-express": PMI_SHARP,
    "textworld": {"length_norm": True, "temperature": 0.5},
}

VARIANTS: dict[str, PriorVariant] = {
    variant.name: variant
    for variant in (
        PriorVariant(
            DEFAULT_VARIANT,
            "the embedded models' tuned levers (per family); others as configured",
            {},
            tuned={"smollm2-135m": SMOLLM2_TUNED},
        ),
        PriorVariant(PLAIN_VARIANT, "the prior's settings as configured, no lever", {}),
        PriorVariant("length-norm", "score mode: mean token log-prob of an action instead of the sum", {"length_norm": True}),
        PriorVariant("pmi", "content-free calibration: less log p(a | no task, observation N/A)", {"calibrate": True}),
        PriorVariant("order-both", "the action list shown in the given and the reversed order, scores averaged", {"order": "both"}),
        PriorVariant("order-sorted", "the action list shown sorted", {"order": "sorted"}),
        PriorVariant("line", "the whole action line scored, its newline (chat: end of turn) included", {"terminator": True}),
        PriorVariant("chat", "the prompt as the user's chat turn, the action as the assistant's answer", {"chat": True}),
        PriorVariant("few-shot", "two worked decisions of train-split games of the family before the state", {"few_shot": 2}),
        PriorVariant("judge", 'each action judged alone: log p(Yes) - log p(No) after "Is <action> a good next step?"', {"judge": True}),
        PriorVariant("guided", "the family's guided wording: how its text reads and what to look for", {"wording": "guided"}),
    )
}


def check_variant(name: str) -> PriorVariant:
    if name not in VARIANTS:
        raise PriorError(f"unknown prior variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def _check_fields(variant: PriorVariant, settings: Mapping[str, Any]) -> None:
    fields = {item.name for item in dataclasses.fields(PriorConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise PriorError(f"prior variant {variant.name!r} sets unknown settings {', '.join(unknown)}")


def apply_variant(config: PriorConfig, name: str | None = None) -> PriorConfig:
    """`config` with the variant's settings in force (`name`, else `config.variant`), naming it in `variant`.
    Its per-family settings apply at each query (`for_family`)."""
    variant = check_variant(config.variant if name is None else name)
    _check_fields(variant, variant.settings)
    return dataclasses.replace(config, **variant.settings, variant=variant.name)


def for_family(config: PriorConfig, family: str) -> PriorConfig:
    """`config` with its variant's tuned settings for this model and env family in force."""
    variant = check_variant(config.variant)
    by_family = variant.tuned.get(config.model, {})
    settings = by_family.get(family, by_family.get(ANY_FAMILY, {}))
    _check_fields(variant, settings)
    return dataclasses.replace(config, **settings) if settings else config


def options_in_force(config: PriorConfig, family: str) -> dict[str, Any]:
    """The variant's name and the scoring options it puts in force for an env family (`prior --json`)."""
    from agents.prior.scoring import Levers

    in_force = for_family(config, family)
    return {"name": config.variant, **Levers.of(in_force).as_dict(), "temperature": in_force.temperature}
