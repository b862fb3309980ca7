"""Offline datasets and CQL training: round-trip, clear errors, a short run that learns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agents.prior.config import PriorConfig
from sandbox.config import RunConfig
from sandbox.datasets import DatasetInfo, collect, load_dataset
from sandbox.errors import SandboxError
from sandbox.training import OfflineTrainer

UNIFORM = PriorConfig(model="uniform", cache_path=None)


SMALL_LAKE = {"desc": ["SFF", "HFF", "FFG"]}  # random play reaches the goal often enough to learn from


def lake_info(policy: str = "random") -> DatasetInfo:
    return DatasetInfo(
        env="TextFrozenLake-v0", env_kwargs=SMALL_LAKE, policy=policy, seed=0, prior_model="uniform", prior_mode="score", k=3
    )


@pytest.fixture(scope="module")
def lake_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "lake.parquet"
    info = collect(lake_info(), 60, path, UNIFORM)
    return path, info


def test_dataset_round_trip(lake_dataset):
    path, info = lake_dataset
    table = pq.read_table(path)
    assert table.num_rows == info.transitions > 0
    loaded_info, transitions = load_dataset(path, use_prior=True)
    assert loaded_info == info
    assert len(transitions) == info.transitions
    first = table.slice(0, 1).to_pylist()[0]
    assert transitions[0].action == first["action"]
    assert transitions[0].reward == first["reward"]
    # CQL-Prior's candidates are the stored proposals (+ the data action); CQL's are all admissible.
    assert set(transitions[0].candidates) == set(first["proposals"]) | {first["action"]}
    _, plain = load_dataset(path, use_prior=False)
    assert set(plain[0].candidates) == set(first["actions"])
    terminal = [t for t in transitions if t.terminated]
    assert terminal and all(t.next_candidates == () for t in terminal)
    _, head = load_dataset(path, use_prior=True, limit=10)
    assert len(head) == 10


def test_bad_datasets_are_clear_errors(tmp_path, lake_dataset):
    with pytest.raises(SandboxError, match="does not exist"):
        load_dataset(tmp_path / "missing.parquet", use_prior=True)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(SandboxError, match="not a readable Parquet"):
        load_dataset(garbage, use_prior=True)
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), foreign)
    with pytest.raises(SandboxError, match="not a sandbox dataset"):
        load_dataset(foreign, use_prior=True)


def offline_config(dataset, agent: str, steps: int = 300) -> RunConfig:
    config = RunConfig()
    config.run.agent, config.run.steps, config.run.dataset = agent, steps, str(dataset)
    config.run.eval_every, config.run.eval_episodes, config.run.checkpoint_every = 100, 1, 100
    config.dqn.features, config.dqn.batch_size = "hash", 32
    config.prior = UNIFORM
    return config


def test_offline_cql_prior_learns_a_small_lake_from_random_data(tmp_path, lake_dataset):
    path, info = lake_dataset
    assert info.successes > 0, "random play must reach the goal a few times for offline RL to learn"
    trainer = OfflineTrainer(offline_config(path, "cql-prior", steps=600), tmp_path / "cql")
    trainer.reset()
    rows = trainer.run()
    trainer.close()
    assert rows[-1]["eval_success"] == 1.0


def test_offline_resume_refuses_a_different_dataset(tmp_path, lake_dataset):
    path, _ = lake_dataset
    trainer = OfflineTrainer(offline_config(path, "cql-prior", steps=100), tmp_path / "run")
    trainer.reset()
    trainer.run()
    smaller = tmp_path / "smaller.parquet"
    collect(lake_info(), 5, smaller, UNIFORM)
    config_file = tmp_path / "run" / "config.toml"
    config_file.write_text(config_file.read_text().replace(str(path), str(smaller)))
    with pytest.raises(SandboxError, match="same dataset"):
        OfflineTrainer.resume(tmp_path / "run")


def test_the_uniform_prior_makes_no_llm_calls():
    from agents.prior import PriorQuery, build_prior

    prior = build_prior(UNIFORM)
    prior(PriorQuery("test", "t", "o", ("a", "b")))
    assert (prior.stats.calls, prior.stats.llm_calls) == (1, 0)
