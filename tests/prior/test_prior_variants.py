"""Prior variants: a named set of PriorConfig settings, applied by build_prior, each under its own cache key."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents import bayes
from agents.errors import PriorError
from agents.prior import PriorConfig, build_prior
from agents.prior.variants import PLAIN_VARIANT, VARIANTS, PriorVariant, apply_variant, for_family, options_in_force


def test_a_variant_sets_its_options_and_names_itself() -> None:
    config = apply_variant(PriorConfig(), "length-norm")
    assert config.length_norm is True and config.variant == "length-norm"
    plain = dataclasses.replace(PriorConfig(length_norm=True), variant=PLAIN_VARIANT)
    assert apply_variant(plain) == plain  # plain changes nothing


def test_build_prior_applies_the_configured_variant() -> None:
    prior = build_prior(PriorConfig(model="uniform", variant="length-norm"))
    assert prior.config.length_norm is True


def test_unknown_variant_is_a_one_line_error() -> None:
    with pytest.raises(PriorError, match="unknown prior variant 'nope'; choose one of default, plain, length-norm, pmi"):
        build_prior(PriorConfig(model="uniform", variant="nope"))


def test_tuned_settings_apply_per_model_and_family(monkeypatch: pytest.MonkeyPatch) -> None:
    tuned = PriorVariant("t", "test", {}, {"smollm2-135m": {"frozenlake": {"judge": True}, "*": {"terminator": True}}})
    monkeypatch.setitem(VARIANTS, "t", tuned)
    config = apply_variant(PriorConfig(), "t")
    assert for_family(config, "frozenlake").judge and not for_family(config, "frozenlake").terminator
    assert for_family(config, "household").terminator and not for_family(config, "household").judge
    other = apply_variant(PriorConfig(model="gemma-3-270m"), "t")
    assert for_family(other, "frozenlake") == other  # tuned for another model: nothing changes


def test_each_variant_has_its_own_cache_key() -> None:
    """Variants whose options in force differ never share a key; plain keeps the key the prior had
    before the levers (no lever part in it)."""
    from agents.prior.priors import LlamaPrior
    from agents.prior.types import PriorQuery

    query = PriorQuery(family="frozenlake", task="t", observation="o", actions=("go east", "go west"))
    priors = {name: LlamaPrior(apply_variant(PriorConfig(cache_path=None), name)) for name in VARIANTS}
    keys = {name: prior.answer_key(query) for name, prior in priors.items()}
    # the options in force for this family, whatever the variant is called
    levers = {name: dataclasses.replace(for_family(prior.config, query.family), variant="") for name, prior in priors.items()}
    for a in VARIANTS:
        for b in VARIANTS:
            assert (keys[a] == keys[b]) == (levers[a] == levers[b]), (a, b)
    lever_variants = [name for name in VARIANTS if name not in ("default", PLAIN_VARIANT)]
    assert len({keys[name] for name in lever_variants}) == len(lever_variants)
    assert all(keys[name] != keys[PLAIN_VARIANT] for name in lever_variants)


def test_a_tuned_temperature_applies_to_its_family_only(monkeypatch: pytest.MonkeyPatch, tiny_config) -> None:
    from agents.prior.priors import LlamaPrior
    from tests.prior.conftest import make_query

    config = tiny_config()
    tuned = PriorVariant("t", "test", {}, {config.model: {"frozenlake": {"temperature": 0.25}}})
    monkeypatch.setitem(VARIANTS, "t", tuned)
    plain, sharp = LlamaPrior(dataclasses.replace(config, variant="plain")), LlamaPrior(apply_variant(config, "t"))
    lake = make_query(family="frozenlake")
    np.testing.assert_allclose(sharp(lake).scores, plain(lake).scores, atol=1e-9)  # the same readings...
    np.testing.assert_allclose(sharp(lake).probs, bayes.softmax(plain(lake).scores / 0.25), atol=1e-9)  # ...sharper
    np.testing.assert_allclose(sharp(make_query()).probs, plain(make_query()).probs)  # textworld: untouched
    assert sharp.answer_key(lake) != plain.answer_key(lake) and sharp.answer_key(make_query()) == plain.answer_key(make_query())


def test_the_tuned_settings_apply_to_score_mode_and_sample_mode_reports_its_own_temperature():
    """The tuned temperature calibrates scores; sample mode samples (and reports) at the configured one."""
    score = PriorConfig(model="smollm2-135m", temperature=0.7)
    sample = PriorConfig(model="smollm2-135m", mode="sample", temperature=0.7)
    assert for_family(score, "frozenlake").temperature == 0.85 and for_family(score, "frozenlake").calibrate
    assert for_family(sample, "frozenlake") == sample
    assert options_in_force(sample, "frozenlake")["temperature"] == 0.7
