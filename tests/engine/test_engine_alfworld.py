"""Real ALFWorld games (tests/fixtures/alfworld) through every face: train, eval, sweep, bench, the oracle prior."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from sandbox.cli import main
from tests.engine.test_engine_sweep import sweep_payload
from tests.envs.test_env_alfworld import FIXTURES

pytestmark = pytest.mark.slow  # every game load runs TextWorld's PDDL translator


def test_train_with_the_oracle_prior_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    code = main(
        ["train", "--env", "alfworld-v0", "--env-arg", f"data_dir={json.dumps(str(FIXTURES))}",
         "--env-arg", 'split="valid_train"', "--agent", "dqn-prior", "--prior-model", "oracle:skill=1",
         "--features", "hash", "--steps", "12", "--eval-every", "12", "--eval-episodes", "1",
         "--out", str(run_dir), "--prior-cache", "none", "--json"]
    )  # fmt: skip
    assert code == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["step"] == 12
    # Skill 1 puts all mass on the planner's next command: the greedy evaluation follows the plan and wins.
    assert trained["eval_success"] == 1.0
    assert main(["eval", "--run", str(run_dir), "--episodes", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["success_rate"] == 1.0 and result["llm_calls_per_decision"] == 0


def test_bench_prior_quality_walks_the_alfworld_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("ALFWORLD_DATA", str(FIXTURES))
    code = main(
        ["bench", "prior-quality", "--quick", "--splits", "train", "--families", "alfworld-pick-place",
         "--priors", "uniform,oracle:skill=1,oracle:skill=0.5", "--out-dir", str(tmp_path), "--json"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    skills = {row["prior"]: row for row in report["rows"] if row["family"] == "alfworld-pick-place"}
    assert skills["uniform"]["decisions"] > 3
    assert skills["uniform"]["skill"] == pytest.approx(0.0, abs=1e-9)
    assert skills["oracle:skill=1"]["skill"] == pytest.approx(1.0)
    assert skills["oracle:skill=0.5"]["skill"] == pytest.approx(0.5)


def test_bench_prior_quality_says_when_alfworld_data_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from sandbox.results import prior_quality

    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path / "none"))
    args = argparse.Namespace(quick=True, splits="train", families="")
    assert not [game for game in prior_quality._selected_games(args) if game.env_id == "alfworld-v0"]
    assert prior_quality._alfworld_notes(("train",)) == [
        f"ALFWorld valid_train left out: no games in {tmp_path / 'none' / 'json_2.1.1' / 'valid_train'}"
        " (set $ALFWORLD_DATA to ALFWorld's data folder)"
    ]


@pytest.fixture
def two_splits(tmp_path: Path) -> Path:
    """A data folder whose valid_train and valid_seen both hold the pick-place fixture."""
    source = next((FIXTURES / "json_2.1.1" / "valid_train").glob("pick_and_place_simple-*"))
    for split in ("valid_train", "valid_seen"):
        shutil.copytree(source, tmp_path / "data" / "json_2.1.1" / split / source.name)
    return tmp_path / "data"


def test_bench_alfworld_trains_evaluates_and_resumes(
    two_splits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["bench", "alfworld", "--data-dir", str(two_splits), "--agents", "random", "dqn-prior-oracle-0.9",
            "--seeds", "1", "--steps", "8", "--eval-every", "8", "--eval-episodes", "1", "--n-train", "1",
            "--n-eval", "1", "--features", "hash", "--keep-runs", str(tmp_path / "runs"), "--out-dir",
            str(tmp_path / "out"), "--json"]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    by_agent = {row["agent"]: row for row in report["runs"]}
    assert set(by_agent) == {"random", "dqn-prior-oracle-0.9"}
    assert by_agent["dqn-prior-oracle-0.9"]["llm_calls"] == 0
    with open(tmp_path / "out" / "alfworld.csv") as stream:
        assert {row["agent"] for row in csv.DictReader(stream)} == {"random", "dqn-prior-oracle-0.9"}
    assert (tmp_path / "out" / "alfworld.md").is_file() and (tmp_path / "out" / "alfworld.png").is_file()
    # A second invocation finds both runs kept and trains nothing.
    from sandbox.results import sample_efficiency

    def must_not_run(*args, **kwargs):
        raise AssertionError("a kept run ran again")

    monkeypatch.setattr(sample_efficiency, "run_one", must_not_run)
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == report["runs"]


def test_a_sweep_trial_trains_on_alfworld(tmp_path: Path) -> None:
    """A sweep's grid point on ALFWorld, run as its Ray task runs it (Ray itself is tested in test_engine_sweep)."""
    from sandbox.features.sweep import expand, parse_sweep, train_trial

    grid = {"agent": ["dqn"], "env": [{"id": "alfworld-v0", "data_dir": str(FIXTURES), "split": "valid_train"}]}
    payload = sweep_payload(grid)
    payload["run"].update(steps=8, eval_every=8, eval_episodes=1, checkpoint_every=8)
    (trial,) = expand(parse_sweep(payload, "grid.toml", name="grid"), tmp_path)
    assert trial.config.run.env_kwargs == {"data_dir": str(FIXTURES), "split": "valid_train"}
    row = train_trial(trial.config.to_toml(), str(trial.run_dir))
    assert row["status"] == "done" and row["step"] == 8 and 0.0 <= row["eval_success"] <= 1.0


def test_bench_alfworld_pools_all_of_a_task_types_games_where_a_split_has_fewer(
    two_splits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """valid_train holds 19 examine-in-light games: the default --n-train 20 must not stop the bench there."""
    args = ["bench", "alfworld", "--data-dir", str(two_splits), "--agents", "random", "--seeds", "1", "--steps", "4",
            "--eval-every", "4", "--eval-episodes", "1", "--n-train", "20", "--n-eval", "10", "--features", "hash",
            "--out-dir", str(tmp_path / "out"), "--json"]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["pools"] == {"pick-place": {"train": 1, "eval": 1}}
    assert [row["agent"] for row in report["runs"]] == ["random"]
    assert "train/eval games: pick-place 1/1" in (tmp_path / "out" / "alfworld.md").read_text()


def test_bench_alfworld_says_where_a_run_being_trained_is_at_each_evaluation(
    two_splits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ALFWorld run can train for half an hour: a line per evaluation on stderr shows it is not stuck."""
    args = ["bench", "alfworld", "--data-dir", str(two_splits), "--agents", "dqn-prior-oracle-0.9", "--seeds", "1",
            "--steps", "4", "--eval-every", "2", "--eval-episodes", "1", "--n-train", "1", "--n-eval", "1",
            "--features", "hash", "--out-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    lines = capsys.readouterr().err.splitlines()
    at = [line.split(", greedy success")[0].strip() for line in lines if ", greedy success" in line]
    assert at == ["pick-place dqn-prior-oracle-0.9 seed 0: step 2/4", "pick-place dqn-prior-oracle-0.9 seed 0: step 4/4"]
    assert any(line.startswith("pick-place") and "final" in line for line in lines)  # then the run's own line
