"""Named prior variants: a set of scoring options under one name, compared row by row by
`bench prior-quality` and chosen with `--prior-variant NAME` (`PriorConfig.variant`).

A variant sets `PriorConfig` fields, for every model (`settings`) and, where the measurements
said so, per embedded model and env family (`tuned`: model -> family -> fields, "*" for any
family), resolved by the prior at each query. Each lever's answers are cached under their own
key: the LLM prior's cache key holds every option in force (agents/prior/scoring.py). To add a
lever: give it a `PriorConfig` field, read it in agents/prior/scoring.py and `Levers`, then name
the variants that use it here.

`default` is what the embedded models use unless told otherwise: the best variant on the
train-split games of `bench prior-quality` (docs/results/prior-quality.md); `plain` is the
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
# --splits train` (docs/concepts/prior-variants.md) in two steps. The lever is the one that ranks the optimal
# move highest (PMI: content-free calibration removes the model's taste for some commands whatever the
# state; on TextWorld's games length-norm). The temperature then calibrates that ranking: the T of
# 0.1-3 with the best mean log(p(O)/u) on the same decisions, a proper score, so the prior's mass
# matches how often it is right. Skill alone would pick T -> 0 wherever top-1 beats chance (skill is
# linear in p(O), not proper): at T = 0.1 the mean skill was 0.30 against 0.16 here, but the prior was
# confidently wrong (mean log(p(O)/u) -2.4) and DQN-Prior without a floor stopped learning Frozen Lake.
# Where the model knows nothing (Overcooked, ScienceWorld) the calibrated prior is close to uniform.
SMOLLM2_TUNED: dict[str, dict[str, Any]] = {
    "frozenlake": {"calibrate": True, "temperature": 0.85},
    "household": {"calibrate": True, "temperature": 0.7},
    "textworld-express": {"calibrate": True, "temperature": 0.7},
    "overcooked": {"calibrate": True, "temperature": 3.0},
    "textworld": {"length_norm": True, "temperature": 2.0},
    "scienceworld": {"length_norm": True, "temperature": 3.0},
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


def family_settings(by_family: Mapping[str, Mapping[str, Any]], family: str) -> Mapping[str, Any]:
    """A model's tuned settings (family -> fields) for one env family: its own, else those for any family."""
    return by_family.get(family, by_family.get(ANY_FAMILY, {}))


def for_family(config: PriorConfig, family: str) -> PriorConfig:
    """`config` with its variant's tuned settings for this model and env family in force. Score mode only:
    they are score-mode levers and the temperature that calibrates scores; in sample mode the temperature
    is the sampling temperature, as configured (and as `prior --json` then reports)."""
    if config.mode != "score":
        return config
    variant = check_variant(config.variant)
    settings = family_settings(variant.tuned.get(config.model, {}), family)
    _check_fields(variant, settings)
    return dataclasses.replace(config, **settings) if settings else config


def options_in_force(config: PriorConfig, family: str) -> dict[str, Any]:
    """The variant's name and the scoring options it puts in force for an env family (`prior --json`)."""
    from agents.prior.scoring import Levers

    in_force = for_family(config, family)
    return {"name": config.variant, **Levers.of(in_force).as_dict(), "temperature": in_force.temperature}
