"""Reproducible runs: a seed fixes every number a run writes, runs record the code that made them,
and `bench` reuses a kept run only from today's code (or says which rows came from older code)
and can train kept runs again to check that they come out the same."""

from __future__ import annotations

import json
import time

import pytest

from sandbox.cli import main
from sandbox.engine.provenance import LIBRARIES, code_version
from sandbox.results.common import ReusePolicy, kept_or_run, reuse_policy, verify_kept

STOPPED_CLOCK = 1000.0


@pytest.fixture
def stopped_clock(monkeypatch):
    """Every clock a run reads (wall_s, the prior's ms) stands still, so its metrics.csv is all seed."""
    monkeypatch.setattr(time, "monotonic", lambda: STOPPED_CLOCK)
    monkeypatch.setattr(time, "perf_counter", lambda: STOPPED_CLOCK)


ENVS = {
    "frozen-lake": ["--env", "TextFrozenLake-v0"],
    "overcooked": ["--env", "overcooked-tomato-salad-v0"],
    "coin-collector": ["--env", "tw-coin-collector-v0"],
}


@pytest.mark.parametrize("env", list(ENVS))
def test_train_twice_with_one_seed_writes_the_same_metrics_csv_byte_for_byte(tmp_path, capsys, stopped_clock, env, games_dir):
    argv = [*ENVS[env], "--agent", "dqn-prior", "--prior-model", "oracle:skill=0.5", "--prior-cache", "none",
            "--acting", "map+soft", "--features", "hash", "--steps", "120", "--eval-every", "60", "--eval-episodes", "2",
            "--seed", "3", "--quiet"]  # fmt: skip
    if env == "coin-collector":
        argv += ["--env-arg", f"games_dir={games_dir}"]
    for name in ("first", "second"):
        assert main(["train", *argv, "--out", str(tmp_path / name)]) == 0
    first, second = ((tmp_path / name / "metrics.csv").read_bytes() for name in ("first", "second"))
    assert first.count(b"\n") == 3  # the header and two evaluations
    assert first == second


def test_a_run_records_the_code_and_library_versions_it_ran(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "--agent", "dqn", "--features", "hash", "--steps", "20", "--eval-every", "20", "--eval-episodes", "1",
            "--quiet", "--out", str(run_dir)]  # fmt: skip
    assert main(argv) == 0
    (entry,) = json.loads((run_dir / "code_version.json").read_text())
    assert entry["from_step"] == 0 and set(entry["libraries"]) == set(LIBRARIES)
    assert len(entry["commit"]) == 40 and isinstance(entry["dirty"], bool)
    assert entry["id"].startswith(entry["commit"][:12]) and ("+dirty." in entry["id"]) == entry["dirty"]
    assert entry["libraries"]["gymnasium"] and entry["libraries"]["torch"]


def fake_run(counter: list[int], success: float = 1.0):
    def run():
        counter.append(1)
        return {"final_success": success, "wall_s": float(len(counter))}, [{"step": 10, "eval_success": success}]

    return run


def keep_as_older_code(run_dir, version: str = "0123456789ab") -> None:
    record = json.loads((run_dir / "result.json").read_text())
    record["result"]["code_version"] = version
    (run_dir / "result.json").write_text(json.dumps(record))


def test_a_kept_run_of_other_code_is_trained_again_and_the_old_one_kept_aside(tmp_path):
    calls: list[int] = []
    run_dir = tmp_path / "runs" / "lake-dqn-s0"
    kept_or_run(run_dir, {"steps": 10}, fake_run(calls))
    keep_as_older_code(run_dir)
    result, _, kept = kept_or_run(run_dir, {"steps": 10}, fake_run(calls))
    assert not kept and len(calls) == 2 and result["code_version"] == code_version()["id"]
    aside = tmp_path / "runs" / "older-code" / "0123456789ab" / "lake-dqn-s0" / "result.json"
    assert json.loads(aside.read_text())["result"]["code_version"] == "0123456789ab"


def test_accept_older_code_reuses_it_and_the_report_says_which_version_made_each_row(tmp_path, capsys):
    argv = ["bench", "sample-efficiency", "--envs", "frozenlake-4x4", "--agents", "dqn", "--seeds", "2", "--steps", "20",
            "--eval-every", "10", "--eval-episodes", "1", "--features", "hash", "--out-dir", str(tmp_path),
            "--keep-runs", str(tmp_path / "runs"), "--prior-cache", "none", "--json"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    keep_as_older_code(tmp_path / "runs" / "frozenlake-4x4-dqn-s1")
    assert main([*argv, "--accept-older-code"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(run["code_version"] for run in report["runs"]) == sorted([code_version()["id"], "0123456789ab"])
    text = (tmp_path / "sample_efficiency.md").read_text()
    assert f"{code_version()['id']} (1 runs), 0123456789ab (1 runs)" in text or (
        f"0123456789ab (1 runs), {code_version()['id']} (1 runs)" in text
    )


def test_verify_trains_kept_runs_again_and_reports_whether_they_came_out_identical(tmp_path, capsys):
    argv = ["bench", "sample-efficiency", "--envs", "frozenlake-4x4", "--agents", "dqn", "--seeds", "2", "--steps", "20",
            "--eval-every", "10", "--eval-episodes", "1", "--features", "hash", "--out-dir", str(tmp_path),
            "--keep-runs", str(tmp_path / "runs"), "--prior-cache", "none", "--json"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv, "--verify", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [entry["identical"] for entry in report["verification"]] == [True, True]
    assert sorted(entry["run"] for entry in report["verification"]) == ["frozenlake-4x4-dqn-s0", "frozenlake-4x4-dqn-s1"]

    # A kept result that its settings no longer produce is caught.
    record_path = tmp_path / "runs" / "frozenlake-4x4-dqn-s0" / "result.json"
    record = json.loads(record_path.read_text())
    record["curve"][0]["eval_success"] = 0.5
    record_path.write_text(json.dumps(record))
    assert main([*argv, "--verify", "2"]) == 0
    found = {entry["run"]: entry for entry in json.loads(capsys.readouterr().out)["verification"]}
    assert found["frozenlake-4x4-dqn-s0"]["differing"] == ["curve"] and found["frozenlake-4x4-dqn-s1"]["identical"]
    assert json.loads(record_path.read_text())["curve"][0]["eval_success"] == 0.5  # the kept run is left as it was


def test_verify_puts_the_kept_run_back_even_when_the_rerun_fails(tmp_path):
    calls: list[int] = []
    run_dir = tmp_path / "lake-dqn-s0"
    kept_or_run(run_dir, {"steps": 10}, fake_run(calls))
    before = (run_dir / "result.json").read_text()

    def broken():
        run_dir.mkdir()
        raise KeyboardInterrupt

    with reuse_policy(ReusePolicy(verify=True)) as policy:
        kept_or_run(run_dir, {"steps": 10}, broken)
    with pytest.raises(KeyboardInterrupt):
        verify_kept(policy, 1, seed=0)
    assert (run_dir / "result.json").read_text() == before and not (tmp_path / "lake-dqn-s0.verifying").exists()


def test_verify_picks_among_the_kept_runs_the_report_uses(tmp_path, capsys):
    argv = ["bench", "sample-efficiency", "--envs", "frozenlake-4x4", "--agents", "dqn", "--seeds", "3", "--steps", "20",
            "--eval-every", "10", "--eval-episodes", "1", "--features", "hash", "--out-dir", str(tmp_path),
            "--keep-runs", str(tmp_path / "runs"), "--prior-cache", "none", "--json"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv[:7], "1", *argv[8:], "--verify", "3"]) == 0  # one seed of the three kept
    report = json.loads(capsys.readouterr().out)
    assert [entry["run"] for entry in report["verification"]] == ["frozenlake-4x4-dqn-s0"]


def test_verify_needs_the_kept_runs_folder(tmp_path, capsys):
    assert main(["bench", "sample-efficiency", "--verify", "2", "--out-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert "--keep-runs" in error and "\n" not in error


def test_verify_chooses_its_runs_at_random_by_its_seed(tmp_path):
    calls: list[int] = []
    with reuse_policy(ReusePolicy(verify=True)) as policy:
        for seed in range(6):
            kept_or_run(tmp_path / f"lake-dqn-s{seed}", {"steps": 10}, fake_run(calls))  # trained: not kept yet
        for seed in range(6):
            kept_or_run(tmp_path / f"lake-dqn-s{seed}", {"steps": 10}, fake_run(calls))  # kept: noted
    picks = {seed: tuple(entry["run"] for entry in verify_kept(policy, 2, seed)) for seed in range(5)}
    assert all(len(set(runs)) == 2 for runs in picks.values())
    assert len(set(picks.values())) > 1, "every seed picked the same runs"
    assert picks[3] == tuple(entry["run"] for entry in verify_kept(policy, 2, 3))  # the seed decides


def test_verify_compares_with_the_kept_record_not_the_row_a_report_has_since_added_to(tmp_path):
    calls: list[int] = []
    run_dir = tmp_path / "lake-dqn-s0"
    kept_or_run(run_dir, {"steps": 10}, fake_run(calls))
    with reuse_policy(ReusePolicy(verify=True)) as policy:
        result, _, kept = kept_or_run(run_dir, {"steps": 10}, fake_run(calls))
        result["steps_to_threshold"] = 10  # what a report's summary writes into the rows it is handed
    (entry,) = verify_kept(policy, 1, seed=0)
    assert kept and entry["identical"], entry["differing"]
