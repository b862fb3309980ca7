"""Step telemetry, the metrics schema, replay files, and what a training run writes of them."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from agents.baselines import RandomAgent
from agents.decision import Candidate, Decision
from agents.prior.types import PriorResult
from envs import make_env
from sandbox.errors import SandboxError
from sandbox.engine.metrics import EPISODE_FIELDS, EpisodeTally, episode_metrics, is_invalid, normalised_score, summarise
from sandbox.engine.replay_files import SCHEMA_VERSION, EpisodeRecorder, header_json, load_episode, write_episode
from sandbox.engine.session import Session, StepRecord
from sandbox.engine.storage import load_checkpoint
from sandbox.engine.config import load_config
from sandbox.engine.training import EPISODE_COLUMNS, Trainer, latest_checkpoint
from tests.engine.test_engine_training import frozen_lake_config, read_metrics


def two_action_decision(result: PriorResult | None, posterior: tuple[float, float] = (0.9, 0.1)) -> Decision:
    candidates = (
        Candidate("go east", prior=0.5, q_value=1.0, likelihood=0.9, posterior=posterior[0]),
        Candidate("go south", prior=0.5, q_value=0.0, likelihood=0.1, posterior=posterior[1]),
    )
    return Decision("go east", candidates, "greedy", alpha=1.0, prior_result=result)


def prior_result(*, cached: bool, mode: str = "score", tokens: int = 0, ms: float = 0.0) -> PriorResult:
    probs = np.array([0.5, 0.5])
    return PriorResult("m", mode, ("go east", "go south"), probs, cached=cached, ms=ms, tokens_evaluated=tokens)


def test_telemetry_reads_the_prior_cost_and_hand_computed_entropies_and_kl() -> None:
    telemetry = two_action_decision(prior_result(cached=False, tokens=42, ms=120.0)).telemetry
    assert (telemetry.llm_call, telemetry.cache_hit) == (True, False)
    assert (telemetry.tokens_evaluated, telemetry.ms) == (42, 120.0)
    assert telemetry.prior_entropy == pytest.approx(math.log(2))
    assert telemetry.posterior_entropy == pytest.approx(-(0.9 * math.log(0.9) + 0.1 * math.log(0.1)))
    assert telemetry.kl == pytest.approx(0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5))

    hit = two_action_decision(prior_result(cached=True, ms=0.05)).telemetry
    assert (hit.llm_call, hit.cache_hit, hit.tokens_evaluated) == (False, True, 0)
    uniform = two_action_decision(prior_result(cached=False, mode="uniform")).telemetry
    assert (uniform.llm_call, uniform.cache_hit) == (False, None)
    greedy_dqn = two_action_decision(None, posterior=(1.0, 0.0)).telemetry
    assert (greedy_dqn.llm_call, greedy_dqn.cache_hit, greedy_dqn.ms) == (False, None, 0.0)
    assert greedy_dqn.posterior_entropy == 0.0
    assert greedy_dqn.kl == pytest.approx(math.log(2))


def play(actions: list[str | None], seed: int = 0) -> list[StepRecord]:
    """Frozen Lake 4x4 with the random agent; None lets the agent act, a string is typed by a person."""
    session = Session(make_env("TextFrozenLake-v0"), RandomAgent(seed), family="frozenlake", seed=seed)
    session.reset()
    return [session.step(action) for action in actions if not session.done]


def test_invalid_actions_are_typed_commands_and_steps_that_change_nothing() -> None:
    typed_edge, agent_move = play(["go north", None])  # north of the start is the lake's edge
    assert typed_edge.action not in typed_edge.state.actions and is_invalid(typed_edge)
    assert not is_invalid(agent_move)
    unchanged = StepRecord(
        episode=1, t=3, state=agent_move.next_state, decision=agent_move.decision, reward=0.0,
        next_state=agent_move.next_state, terminated=False, truncated=False, info={},
    )
    assert unchanged.action in unchanged.state.actions and is_invalid(unchanged)


def test_episode_metrics_follow_the_schema() -> None:
    records = play(["go north", "go east", "go east", "go south"])
    row = episode_metrics(records)
    assert tuple(row) == EPISODE_FIELDS
    assert row["steps"] == len(records) == 4
    assert row["invalid_action_rate"] == 0.25
    assert (row["llm_calls_per_decision"], row["ms_per_decision"]) == (0.0, 0.0)  # the random agent has no prior
    last = records[-1]
    assert row["success"] == float(last.won)
    assert row["normalised_score"] == last.info["score"] / last.info["max_score"]
    assert math.isnan(normalised_score({"score": 3})) and math.isnan(normalised_score({"score": 0, "max_score": 0}))

    rows = [row, {**row, "success": 1.0, "normalised_score": float("nan")}]
    summary = summarise(rows)
    assert summary["success"] == (row["success"] + 1.0) / 2
    assert summary["normalised_score"] == row["normalised_score"]  # NaN (no max score) is left out of the mean
    assert math.isnan(summarise([rows[1]])["normalised_score"])


def header(records: list[StepRecord], source: str = "play") -> dict:
    return header_json(
        env="TextFrozenLake-v0", env_kwargs={}, agent="random", episode=1, seed=0, source=source, step=0,
        state=records[0].state,
    )


def test_replay_file_round_trip_keeps_decisions_telemetry_and_metrics(tmp_path: Path) -> None:
    records = play([None] * 100)  # until the episode ends
    assert records[-1].done
    path = tmp_path / "ep.jsonl"
    write_episode(path, header(records), records)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["schema"] == SCHEMA_VERSION
    assert [line["kind"] for line in lines] == ["episode"] + ["step"] * len(records) + ["summary"]
    assert lines[1]["telemetry"] == records[0].decision.telemetry.to_json()
    episode = load_episode(path)
    assert episode.finished
    assert [step.decision for step in episode.steps] == [record.decision for record in records]
    assert [step.decision.telemetry for step in episode.steps] == [record.decision.telemetry for record in records]
    assert episode.metrics() == {key: value for key, value in lines[-1].items() if key != "kind"}
    assert episode.metrics() == episode_metrics(records)


def test_ui_recorder_appends_steps_then_rewrites_the_finished_episode(tmp_path: Path) -> None:
    records = play([None] * 100)
    recorder = EpisodeRecorder(tmp_path)
    recorder.start(header(records))
    for record in records[:-1]:
        recorder.add(record)
    assert recorder.path is not None
    with open(recorder.path, "a") as stream:
        stream.write('{"kind": "step", "epis')  # a step cut short by a crash
    unfinished = load_episode(recorder.path)
    assert len(unfinished.steps) == len(records) - 1 and not unfinished.finished
    recorder.add(records[-1])
    finished = load_episode(recorder.path)
    assert finished.finished and len(finished.steps) == len(records)
    assert json.loads(recorder.path.read_text().splitlines()[-1])["kind"] == "summary"


def test_old_and_future_replay_files(tmp_path: Path) -> None:
    records = play([None])
    write_episode(tmp_path / "new.jsonl", header(records), records)
    lines = [json.loads(line) for line in (tmp_path / "new.jsonl").read_text().splitlines()]
    version_zero = [{k: v for k, v in lines[0].items() if k not in ("schema", "source", "step")}]
    new_keys = ("telemetry", "score", "max_score")
    version_zero += [{k: v for k, v in line.items() if k not in new_keys} for line in lines[1:-1]]
    (tmp_path / "old.jsonl").write_text("".join(json.dumps(line) + "\n" for line in version_zero))
    old = load_episode(tmp_path / "old.jsonl")
    assert old.source == "play" and old.steps[0].decision == records[0].decision
    assert math.isnan(old.metrics()["normalised_score"])  # version 0 did not store the score

    (tmp_path / "future.jsonl").write_text(json.dumps({**lines[0], "schema": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(SandboxError, match="newer"):
        load_episode(tmp_path / "future.jsonl")
    (tmp_path / "junk.jsonl").write_text("not json\n")
    with pytest.raises(SandboxError, match="junk.jsonl"):
        load_episode(tmp_path / "junk.jsonl")


def read_episodes_csv(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "episodes.csv") as stream:
        return list(csv.DictReader(stream))


def test_training_logs_every_episode_and_keeps_the_newest_replay_files(tmp_path: Path) -> None:
    config = frozen_lake_config(steps=120, agent="dqn-prior")
    config.run.keep_episodes = 3
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    trainer.close()
    rows = read_episodes_csv(tmp_path / "run")
    assert tuple(rows[0]) == EPISODE_COLUMNS
    finished = trainer.session.episode - (0 if trainer.session.done else 1)
    assert [int(row["episode"]) for row in rows] == list(range(1, finished + 1))
    assert sum(float(row["steps"]) for row in rows) <= 120
    folder = tmp_path / "run" / "episodes"
    train_files = sorted(folder.glob("train-*.jsonl"))
    assert [path.name for path in train_files] == [f"train-ep{n:07d}.jsonl" for n in range(finished - 2, finished + 1)]
    newest = load_episode(train_files[-1])
    assert newest.source == "train" and newest.finished and newest.episode == finished
    assert newest.metrics()["return"] == pytest.approx(float(rows[-1]["return"]))
    assert newest.step + len(newest.steps) == int(rows[-1]["step"])
    evals = sorted(path.name for path in folder.glob("eval-*.jsonl"))
    assert evals == ["eval-step000000060-002.jsonl", "eval-step000000120-001.jsonl", "eval-step000000120-002.jsonl"]
    metrics = read_metrics(tmp_path / "run")
    assert {f"eval_{field}" for field in EPISODE_FIELDS} <= set(metrics[0])
    assert float(metrics[-1]["eval_llm_calls_per_decision"]) == 0.0  # a uniform prior calls no LLM


def test_keep_episodes_zero_records_no_replay_files(tmp_path: Path) -> None:
    config = frozen_lake_config(steps=60)
    config.run.keep_episodes = 0
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    assert read_episodes_csv(tmp_path / "run")
    assert not (tmp_path / "run" / "episodes").exists()
    config.run.keep_episodes = -1
    with pytest.raises(SandboxError, match="keep_episodes"):
        Trainer(config, tmp_path / "other").reset()


def test_a_checkpoint_mid_episode_carries_the_episode_counts_so_far(tmp_path: Path) -> None:
    trainer = Trainer(frozen_lake_config(steps=60), tmp_path / "run")
    trainer.reset()

    def stop_mid_episode(record: StepRecord) -> None:
        if trainer.steps_done >= 20 and not record.done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.run(on_step=stop_mid_episode)
    _, state = load_checkpoint(trainer.save_checkpoint())
    tally = state["trainer"]["episode_tally"]
    assert tally["decisions"] == len(state["session"]["episode_actions"]) > 0
    assert Trainer.resume(tmp_path / "run")._tally == EpisodeTally(**tally)


def test_a_run_from_before_the_schema_resumes_with_empty_new_cells(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    trainer = Trainer(frozen_lake_config(steps=60), run_dir)
    trainer.reset()
    trainer.run()
    state_path = latest_checkpoint(run_dir) / "state.json"
    state = json.loads(state_path.read_text())  # as the trainer wrote it before episodes.csv and the schema
    old_columns = ("step", "episodes", "eval_success", "eval_return", "eval_steps", "train_success")
    state["trainer"]["metrics"] = [{k: row[k] for k in old_columns} for row in state["trainer"]["metrics"]]
    del state["trainer"]["episode_tally"]
    state_path.write_text(json.dumps(state))
    (run_dir / "episodes.csv").unlink()
    config = load_config(run_dir / "config.toml")
    config.run.steps = 120
    (run_dir / "config.toml").write_text(config.to_toml())

    resumed = Trainer.resume(run_dir)
    resumed.run()
    old_row, new_row = read_metrics(run_dir)
    assert old_row["eval_normalised_score"] == "" and old_row["eval_success"] != ""
    assert new_row["eval_normalised_score"] != ""
    assert int(read_episodes_csv(run_dir)[0]["episode"]) > trainer.session.episode - 1  # only episodes after the resume
