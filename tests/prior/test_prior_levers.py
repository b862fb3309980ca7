"""Score mode's levers (agents/prior/scoring.py): every variant's scores equal a naive per-candidate
evaluation, each lever reads what it says (checked against prompts written out here), the content-free
calibration is cached once per action set, and the few-shot prefix is constant and from train games only."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, PriorQuery
from agents.prior import scoring
from agents.prior.backend import LlamaBackend
from agents.prior.examples import EXAMPLES_PATH, FOOTER, HEADER, examples_block, load_examples
from agents.prior.prompts import GUIDED_TEMPLATES, render_prompt, template_for
from agents.prior.variants import VARIANTS, apply_variant
from tests.prior.conftest import make_query

CHAT_VARIANTS = {"chat"}  # the tiny model has no chat template: these run on SmolLM2 (slow) below
FROZEN_LAKE = PriorQuery(
    family="frozenlake",
    task="Cross the frozen lake from the start to the goal without falling into a hole.",
    observation="You are at row 2, column 1.\nTo the south: frozen ice.\nTo the east: a hole.",
    actions=("go north", "go south", "go east"),
)


def lever_prior(tiny_config: Callable[..., PriorConfig], variant: str, **overrides: object) -> LlamaPrior:
    """The tiny model (one token per character: the few-shot examples need a longer context) with `variant`."""
    return LlamaPrior(apply_variant(tiny_config(**{"n_ctx": 2048, **overrides}), variant))


def naive_log_prob(backend: LlamaBackend, text: str, continuation: str) -> float:
    """log p(continuation | text), prompt and continuation decoded together from an empty cache."""
    prompt = backend.tokenize_prompt(text)
    whole = backend.tokenize_prompt(text + continuation)
    assert whole[: len(prompt)] == prompt
    return float(backend.score_naive(prompt, [whole[len(prompt) :]])[0])


@pytest.mark.parametrize("variant", sorted(set(VARIANTS) - CHAT_VARIANTS))
@pytest.mark.parametrize("query", [make_query(), FROZEN_LAKE], ids=["textworld", "frozenlake"])
def test_every_variants_scores_equal_naive_per_candidate_evaluation(
    tiny_config: Callable[..., PriorConfig], variant: str, query: PriorQuery
) -> None:
    prior = lever_prior(tiny_config, variant)
    result = prior(query)
    levers = prior.levers(query.family)
    naive = scoring.naive_scores(prior._load(), query, levers, prior.backend._fitter(query, levers))
    np.testing.assert_allclose(result.scores, naive, atol=1e-4, rtol=0)
    expected = np.exp(naive - naive.max()) / np.exp(naive - naive.max()).sum()
    np.testing.assert_allclose(result.probs, expected, atol=1e-6)
    prior.close()


def test_line_scores_the_action_with_its_newline(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "line")
    result = prior(FROZEN_LAKE)
    backend = prior._load()
    prompt = render_prompt(FROZEN_LAKE, history=0)
    expected = [naive_log_prob(backend, prompt, f" {action}\n") for action in FROZEN_LAKE.actions]
    np.testing.assert_allclose(result.scores, expected, atol=1e-4, rtol=0)
    prior.close()


def test_line_gives_a_prefix_action_no_mass_of_the_longer_one(tiny_config: Callable[..., PriorConfig]) -> None:
    """Without the line's end, p(" go") is at least p(" go north") (every continuation of "go" counts);
    with it, "go" stands for the command "go" alone."""
    query = dataclasses.replace(FROZEN_LAKE, actions=("go", "go north"))
    plain, line = lever_prior(tiny_config, "plain"), lever_prior(tiny_config, "line")
    short, long = plain(query).sequence_log_probs
    assert short >= long
    backend = line._load()
    prompt = render_prompt(query, history=0)
    np.testing.assert_allclose(line(query).scores[0], naive_log_prob(backend, prompt, " go\n"), atol=1e-4)
    plain.close()
    line.close()


def test_judge_scores_yes_against_no_after_one_question_per_action(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "judge")
    result = prior(FROZEN_LAKE)
    backend = prior._load()
    expected = []
    for action in FROZEN_LAKE.actions:
        question = render_prompt(
            FROZEN_LAKE, history=0, ending=f'Question: Is "{action}" a good next step? Answer yes or no.\nAnswer:'
        )
        expected.append(naive_log_prob(backend, question, " Yes") - naive_log_prob(backend, question, " No"))
    np.testing.assert_allclose(result.scores, expected, atol=1e-4, rtol=0)
    prior.close()


def test_judging_reuses_the_shared_prefix(tiny_config: Callable[..., PriorConfig]) -> None:
    """|A| questions cost the prompt once plus each question's tail, not |A| whole prompts."""
    prior = lever_prior(tiny_config, "judge")
    result = prior(FROZEN_LAKE)
    prompt_tokens = len(prior._load().tokenize_prompt(render_prompt(FROZEN_LAKE, history=0)))
    assert result.tokens_evaluated < 2 * prompt_tokens
    prior.close()


def test_order_both_averages_the_given_and_the_reversed_listing(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "order-both")
    result = prior(FROZEN_LAKE)
    backend = prior._load()
    listings = (FROZEN_LAKE.actions, FROZEN_LAKE.actions[::-1])
    expected = [
        np.mean([naive_log_prob(backend, render_prompt(FROZEN_LAKE, history=0, listed=listed), f" {a}") for listed in listings])
        for a in FROZEN_LAKE.actions
    ]
    np.testing.assert_allclose(result.scores, expected, atol=1e-4, rtol=0)
    assert "Valid moves: go east, go south, go north" in render_prompt(FROZEN_LAKE, history=0, listed=listings[1])
    sorted_prompt = lever_prior(tiny_config, "order-sorted").prompt_for(FROZEN_LAKE)
    assert "Valid moves: go east, go north, go south" in sorted_prompt
    prior.close()


def test_pmi_subtracts_the_content_free_log_prob(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "pmi")
    result = prior(FROZEN_LAKE)
    backend = prior._load()
    state = render_prompt(FROZEN_LAKE, history=0)
    free = render_prompt(dataclasses.replace(FROZEN_LAKE, task="", observation="N/A"), history=0)
    assert "N/A" in free and "hole" not in free.split("\nNow:")[1]
    expected = [naive_log_prob(backend, state, f" {a}") - naive_log_prob(backend, free, f" {a}") for a in FROZEN_LAKE.actions]
    np.testing.assert_allclose(result.scores, expected, atol=1e-4, rtol=0)
    prior.close()


def test_content_free_scores_are_cached_once_per_action_set(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "pmi")
    first = prior(FROZEN_LAKE)
    assert len(prior.cache) == 2  # the answer and the content-free scores
    second = prior(dataclasses.replace(FROZEN_LAKE, observation="You are at row 3, column 1."))
    assert len(prior.cache) == 3  # a new answer; the content-free scores were reused...
    assert second.tokens_evaluated < first.tokens_evaluated  # ...so not evaluated again
    prior(dataclasses.replace(FROZEN_LAKE, actions=("go north", "go west")))
    assert len(prior.cache) == 5  # another action set: its own content-free scores
    prior.close()


def test_few_shot_prefix_is_constant_and_follows_the_instructions(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "few-shot")
    block = examples_block("frozenlake", 2, template_for("frozenlake"))
    assert block.startswith(HEADER) and block.endswith(FOOTER) and block.count("\n> go ") == 2
    first, second = prior.prompt_for(FROZEN_LAKE), prior.prompt_for(dataclasses.replace(FROZEN_LAKE, observation="Elsewhere."))
    prefix = template_for("frozenlake").intro + block
    assert first.startswith(prefix) and second.startswith(prefix)
    prior(FROZEN_LAKE)
    again = prior(dataclasses.replace(FROZEN_LAKE, observation="Elsewhere."))
    assert again.tokens_evaluated < len(prior._load().tokenize_prompt(prefix))  # the prefix's KV cache was reused
    prior.close()


def test_few_shot_examples_never_come_from_an_unseen_or_benchmarked_game() -> None:
    """Train-split games only, none that `bench prior-quality` walks (an example from a scored game would
    hand the prior its answer), and no household task naming a held-out (object, place) pair."""
    from envs.household import is_unseen
    from sandbox.results.prior_quality import _games

    benchmarked = {(game.env_id, json.dumps(game.options, sort_keys=True)) for game in _games(quick=False)}
    examples = [example for family in load_examples().values() for example in family]
    assert examples
    for example in examples:
        env_id, options = example["game"].split(" ", 1)
        assert example["split"] == "train" and json.loads(options).get("split", "train") == "train", example["game"]
        assert (env_id, json.dumps(json.loads(options), sort_keys=True)) not in benchmarked, example["game"]
    for example in load_examples()["household"]:
        pairs = re.findall(r"put (?:a |an |some )?(?:hot |cool |clean )?(\w+) (?:in|on) (?:a |an |the )?(\w+)", example["task"])
        assert pairs, example["task"]
        assert not any(is_unseen(thing, place) for thing, place in pairs), example["task"]


def test_committed_frozen_lake_examples_equal_a_fresh_build() -> None:
    from sandbox.features.prior_examples import build, sources

    fresh = build([source for source in sources() if source.family == "frozenlake"])
    assert tuple(fresh["families"]["frozenlake"]) == load_examples()["frozenlake"]


def test_guided_wording_and_user_templates(tiny_config: Callable[..., PriorConfig], tmp_path: Path) -> None:
    guided = lever_prior(tiny_config, "guided")
    assert guided.prompt_for(FROZEN_LAKE).startswith(GUIDED_TEMPLATES["frozenlake"].intro)
    assert GUIDED_TEMPLATES["frozenlake"].intro != template_for("frozenlake").intro
    for family, template in GUIDED_TEMPLATES.items():
        assert template.intro != template_for(family).intro, family  # every replacement took
    (tmp_path / "frozenlake.toml").write_text('intro = "Mine.\\n"\n')
    mine = lever_prior(tiny_config, "guided", templates_dir=str(tmp_path))
    assert mine.prompt_for(FROZEN_LAKE).startswith("Mine.\n")  # a user's template wins
    guided.close()
    mine.close()


def test_an_edited_prompt_is_read_once_as_written(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = lever_prior(tiny_config, "order-both")
    edited = "Pick a move.\n>"
    result = prior(FROZEN_LAKE, prompt=edited)
    expected = [naive_log_prob(prior._load(), edited, f" {a}") for a in FROZEN_LAKE.actions]
    np.testing.assert_allclose(result.scores, expected, atol=1e-4, rtol=0)
    prior.close()


def test_bad_lever_settings_are_one_line_errors(tiny_config: Callable[..., PriorConfig]) -> None:
    with pytest.raises(PriorError, match="order must be one of given, sorted, both, got 'random'"):
        LlamaPrior(tiny_config(order="random"))
    with pytest.raises(PriorError, match="wording must be one of default, guided"):
        LlamaPrior(tiny_config(wording="loud"))
    with pytest.raises(PriorError, match="few_shot must be >= 0"):
        LlamaPrior(tiny_config(few_shot=-1))


def test_examples_file_is_valid_json_with_every_family_it_promises() -> None:
    data = json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
    assert set(data["families"]) == {"frozenlake", "textworld", "household"}  # none for Overcooked, TextWorldExpress


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["chat", "chat+line+judge"])
def test_chat_levers_on_smollm2_equal_naive_evaluation(variant: str) -> None:
    settings = {"chat": True} if variant == "chat" else {"chat": True, "terminator": True, "judge": True}
    prior = LlamaPrior(PriorConfig(cache_path=None, memory_cache_size=0, n_threads=1, templates_dir=None, variant="plain", **settings))
    result = prior(FROZEN_LAKE)
    levers = prior.levers(FROZEN_LAKE.family)
    backend = prior._load()
    naive = scoring.naive_scores(backend, FROZEN_LAKE, levers, prior.backend._fitter(FROZEN_LAKE, levers))
    np.testing.assert_allclose(result.scores, naive, atol=1e-4, rtol=0)
    assert result.prompt.endswith("<|im_start|>assistant\n")
    if levers.terminator:  # the answer's turn ends as the template ends a turn
        prompt = scoring.parts(FROZEN_LAKE, levers, prior.backend._fitter(FROZEN_LAKE, levers))[0].readings[0]
        assert prompt.continuations == ("Yes<|im_end|>", "No<|im_end|>")
    prior.close()
