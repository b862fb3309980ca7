"""Offline datasets and CQL training: round-trip, clear errors, a short run that learns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agents.prior.config import PriorConfig
from sandbox.engine.config import RunConfig
from sandbox.features.datasets import DatasetInfo, OfflineTrainer, collect, load_dataset
from sandbox.errors import SandboxError

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


def test_an_epsilon_mixture_replaces_greedy_actions_by_random_ones():
    from agents.baselines import LLMAgent
    from agents.decision import TextState
    from agents.prior import build_prior
    from sandbox.features.datasets import EpsilonMixture

    state = TextState("frozenlake", "task", "observation", ("go east", "go south", "go west"))

    def off_greedy_share(epsilon: float) -> float:
        # Greedy on a uniform prior, the LLM agent always takes the first action: any other is ε's.
        policy = EpsilonMixture(LLMAgent(build_prior(UNIFORM)), epsilon, seed=0)
        return sum(policy.act(state).action != "go east" for _ in range(600)) / 600

    assert off_greedy_share(0.0) == 0.0
    assert off_greedy_share(0.6) == pytest.approx(0.6 * 2 / 3, abs=0.06)


def test_collect_keeps_whole_episodes_until_min_transitions_and_records_epsilon(tmp_path):
    info = lake_info("llm")
    info.epsilon = 0.5
    collect(info, 1, tmp_path / "mixed.parquet", UNIFORM, min_transitions=60)
    loaded, transitions = load_dataset(tmp_path / "mixed.parquet", use_prior=False)
    assert loaded.epsilon == 0.5 and loaded.transitions == len(transitions) >= 60
    table = pq.read_table(tmp_path / "mixed.parquet").to_pydict()
    ends = [i for i, (term, trunc) in enumerate(zip(table["terminated"], table["truncated"])) if term or trunc]
    assert ends[-1] == len(transitions) - 1 and loaded.episodes == len(ends)  # stops at an episode's end


def test_epsilon_needs_a_policy_to_mix_into(tmp_path):
    info = lake_info("random")
    info.epsilon = 0.5
    with pytest.raises(SandboxError, match="already uniform"):
        collect(info, 1, tmp_path / "x.parquet", UNIFORM)
    info = lake_info("llm")
    info.epsilon = 1.5
    with pytest.raises(SandboxError, match="between 0 and 1"):
        collect(info, 1, tmp_path / "x.parquet", UNIFORM)


def test_the_offline_progress_bar_ends_on_the_real_count(tmp_path, lake_dataset):
    from sandbox.engine.progress import TrainingProgress

    path, _ = lake_dataset
    trainer = OfflineTrainer(offline_config(path, "cql", steps=40), tmp_path / "bar")
    trainer.reset()
    progress = TrainingProgress(trainer)
    with progress:
        trainer.run(on_epoch=progress.on_epoch, on_step=progress.on_step)
    trainer.close()
    (task,) = progress._progress.tasks  # rich's record of what the bar showed last
    assert task.completed == task.total == 40  # it ended on 0/40: offline training has no env steps
