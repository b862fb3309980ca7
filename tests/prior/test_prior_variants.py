"""Prior variants: a named set of PriorConfig settings, applied by build_prior, each under its own cache key."""

from __future__ import annotations

import pytest

from agents.errors import PriorError
from agents.prior import PriorConfig, build_prior
from agents.prior.variants import VARIANTS, apply_variant


def test_a_variant_sets_its_options_and_names_itself() -> None:
    config = apply_variant(PriorConfig(), "length-norm")
    assert config.length_norm is True and config.variant == "length-norm"
    assert apply_variant(PriorConfig(length_norm=True)) == PriorConfig(length_norm=True)  # default changes nothing


def test_build_prior_applies_the_configured_variant() -> None:
    prior = build_prior(PriorConfig(model="uniform", variant="length-norm"))
    assert prior.config.length_norm is True


def test_unknown_variant_is_a_one_line_error() -> None:
    with pytest.raises(PriorError, match="unknown prior variant 'pmi'; choose one of default, length-norm"):
        build_prior(PriorConfig(model="uniform", variant="pmi"))


def test_each_variant_has_its_own_cache_key(tmp_path) -> None:
    from agents.prior.priors import LlamaPrior
    from agents.prior.types import PriorQuery

    query = PriorQuery(family="frozenlake", task="t", observation="o", actions=("go east", "go west"))
    keys = {name: LlamaPrior(apply_variant(PriorConfig(cache_path=None), name))._key(query) for name in VARIANTS}
    assert len(set(keys.values())) == len(VARIANTS)
