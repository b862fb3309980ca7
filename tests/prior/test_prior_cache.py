"""The exact cache: same inputs give the identical answer without touching the model, across instances."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agents.dqn import DQNAgent, DQNConfig
from agents.prior import LlamaPrior, PriorConfig
from tests.prior.conftest import make_query


def test_hit_returns_the_identical_answer_and_skips_the_model(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config())
    first = prior(make_query())
    prior.backend.answer = None  # a hit that reached the backend would fail here
    second = prior(make_query())
    assert second.cached and not first.cached
    np.testing.assert_array_equal(second.probs, first.probs)
    np.testing.assert_array_equal(second.sequence_log_probs, first.sequence_log_probs)
    assert (second.actions, second.token_counts, second.prompt) == (first.actions, first.token_counts, first.prompt)
    assert (prior.stats.calls, prior.stats.cache_hits, prior.stats.cache_misses) == (2, 1, 1)
    assert prior.stats.llm_calls == 1  # only the miss reached the model


def test_dqn_prior_redraws_at_a_repeated_state_from_the_cache_without_asking_the_model_again(
    tiny_config: Callable[..., PriorConfig],
) -> None:
    prior = LlamaPrior(tiny_config(epsilon=0.5))  # the floor spreads the tiny model's mass, so draws differ
    agent = DQNAgent(DQNConfig(features="hash", learning_starts=10**6), prior=prior)
    state = make_query()
    draws = set()
    for _ in range(6):
        draws.add(agent.act(state).proposals)
        agent.learn(state, "look", 0.0, state, False)
    assert len(draws) > 1 and prior.stats.llm_calls == 1
    prior.close()


def test_disk_cache_persists_across_instances_and_never_loads_the_model(
    tiny_config: Callable[..., PriorConfig],
) -> None:
    config = tiny_config(mode="sample", k=3)
    first = LlamaPrior(config)
    answer = first(make_query())
    first.close()
    second = LlamaPrior(config)
    again = second(make_query())
    assert again.cached and not second.loaded  # a fully cached run never starts llama.cpp
    assert again.proposals == answer.proposals and again.dropped == answer.dropped
    np.testing.assert_array_equal(again.probs, answer.probs)


def test_anything_that_changes_the_answer_changes_the_key(tiny_config: Callable[..., PriorConfig]) -> None:
    LlamaPrior(tiny_config(mode="sample", k=2, seed=0))(make_query())
    for changed in (
        tiny_config(mode="sample", k=2, seed=1),
        tiny_config(mode="sample", k=3, seed=0),
        tiny_config(mode="score"),
    ):
        assert not LlamaPrior(changed)(make_query()).cached
    assert not LlamaPrior(tiny_config(mode="sample", k=2))(make_query(actions=("look", "go north"))).cached


def test_one_stored_answer_serves_every_prior_floor(tiny_config: Callable[..., PriorConfig]) -> None:
    """The floor is mixed in after the cache: a floor ablation, or ε changed in the UI, asks the model nothing new."""
    for mode in ("score", "sample"):
        plain = LlamaPrior(tiny_config(mode=mode, k=2))(make_query())
        floored_prior = LlamaPrior(tiny_config(mode=mode, k=2, epsilon=0.2))
        floored = floored_prior(make_query())
        assert floored.cached and floored_prior.stats.llm_calls == 0
        np.testing.assert_allclose(floored.probs, 0.8 * plain.probs + 0.2 / len(plain.probs))
        assert LlamaPrior(tiny_config(mode=mode, k=2))(make_query()).probs.tolist() == plain.probs.tolist()


def test_values_on_disk_are_json(tiny_config: Callable[..., PriorConfig], tmp_path: Path) -> None:
    LlamaPrior(tiny_config())(make_query())
    with sqlite3.connect(tmp_path / "prior_cache.sqlite") as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        rows = db.execute("SELECT value FROM prior_cache").fetchall()
    assert mode == "wal" and len(rows) == 1
    assert json.loads(rows[0][0])["actions"] == list(make_query().actions)


def test_memory_cache_is_a_bounded_lru(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(cache_path=None, memory_cache_size=2))
    queries = [make_query(observation=f"Room number {i}.") for i in range(3)]
    for query in queries:
        prior(query)
    assert prior(queries[2]).cached and prior(queries[1]).cached
    assert not prior(queries[0]).cached  # evicted as the least recently used


def test_corrupt_cache_file_is_moved_aside_with_a_warning(
    tiny_config: Callable[..., PriorConfig], tmp_path: Path
) -> None:
    path = tmp_path / "nested" / "prior_cache.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"definitely not an sqlite database " * 200)
    with pytest.warns(UserWarning, match="corrupt"):
        prior = LlamaPrior(tiny_config(cache_path=str(path)))
    assert prior(make_query()).probs.sum() == pytest.approx(1.0)
    assert LlamaPrior(tiny_config(cache_path=str(path)))(make_query()).cached  # the fresh file works
    assert [p.name.startswith("prior_cache.sqlite.corrupt-") for p in path.parent.iterdir()].count(True) == 1


def test_cache_file_and_its_folders_are_created(tiny_config: Callable[..., PriorConfig], tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "cache.sqlite"
    LlamaPrior(tiny_config(cache_path=str(path)))(make_query())
    assert path.is_file()


def test_unusable_cache_path_falls_back_to_memory_with_a_warning(
    tiny_config: Callable[..., PriorConfig], tmp_path: Path
) -> None:
    with pytest.warns(UserWarning, match="caching in memory only"):
        prior = LlamaPrior(tiny_config(cache_path=str(tmp_path)))  # a folder, not a file
    prior(make_query())
    assert prior(make_query()).cached
