"""Named prior variants: a set of scoring options under one name, compared row by row by
`bench prior-quality` and chosen with `--prior-variant NAME` (`PriorConfig.variant`).

A variant sets `PriorConfig` fields, so each variant is cached under its own key (the
LLM prior's cache key holds every field that changes an answer). To add a lever: give it a
`PriorConfig` field, read it in the prior and put it in the prior's cache key, then name
the variants that use it here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.errors import PriorError
from agents.prior.config import PriorConfig

DEFAULT_VARIANT = "default"


@dataclass(frozen=True)
class PriorVariant:
    name: str
    description: str
    settings: Mapping[str, Any]  # PriorConfig fields this variant sets


VARIANTS: dict[str, PriorVariant] = {
    variant.name: variant
    for variant in (
        PriorVariant(DEFAULT_VARIANT, "the prior's settings as configured", {}),
        PriorVariant("length-norm", "score mode: mean token log-prob of an action instead of the sum", {"length_norm": True}),
    )
}


def check_variant(name: str) -> PriorVariant:
    if name not in VARIANTS:
        raise PriorError(f"unknown prior variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def apply_variant(config: PriorConfig, name: str | None = None) -> PriorConfig:
    """`config` with the variant's settings in force (`name`, else `config.variant`), naming it in `variant`."""
    variant = check_variant(config.variant if name is None else name)
    fields = {field.name for field in dataclasses.fields(PriorConfig)}
    unknown = sorted(set(variant.settings) - fields)
    if unknown:
        raise PriorError(f"prior variant {variant.name!r} sets unknown settings {', '.join(unknown)}")
    return dataclasses.replace(config, **variant.settings, variant=variant.name)
