"""`bench prior-strength` on tiny budgets (hash features; the oracle prior asks no model): the arms, the
ratio to the reference, the skill the curve needs, real priors placed from prior-quality's CSV, and
resuming / reporting from kept runs."""

from __future__ import annotations

import csv
import json
import math

import pytest

from sandbox.cli import main
from sandbox.results.prior_strength import coarse_to_fine, ratio_at, skill_reaching

TINY = ["--envs", "frozenlake-4x4", "--learners", "dqn-prior", "--rules", "paper", "--steps", "40", "--eval-every", "20",
        "--eval-episodes", "1", "--features", "hash"]  # fmt: skip


def bench(capsys, *argv: str) -> dict:
    assert main(["bench", "prior-strength", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def write_quality(path) -> None:
    rows = [
        {"prior": "smollm2-135m", "variant": "default", "family": "frozenlake-4x4", "skill": "0.5"},
        {"prior": "smollm2-135m", "variant": "length-norm", "family": "frozenlake-4x4", "skill": "-0.25"},
        {"prior": "smollm2-135m", "variant": "default", "family": "overcooked", "skill": "0.1"},
        {"prior": "uniform", "variant": "-", "family": "frozenlake-4x4", "skill": "0.0"},
        {"prior": "oracle:skill=1", "variant": "-", "family": "frozenlake-4x4", "skill": "1.0"},
    ]
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_prior_strength_ratios_needed_skill_and_real_priors(capsys, tmp_path):
    quality = tmp_path / "prior_quality.csv"
    write_quality(quality)
    argv = [*TINY, "--skills", "-1", "1", "--seeds", "2", "--out-dir", str(tmp_path), "--quality-csv", str(quality),
            "--keep-runs", str(tmp_path / "runs")]  # fmt: skip
    report = bench(capsys, *argv)
    rows = {(row["learner"], row["skill"]): row for row in report["summary"]}
    assert set(rows) == {("dqn", None), ("dqn-prior", -1.0), ("dqn-prior", 1.0)}
    perfect, wrong, reference = rows[("dqn-prior", 1.0)], rows[("dqn-prior", -1.0)], rows[("dqn", None)]
    # All mass on the shortest paths: greedy wins at the first evaluation; all mass off them never reaches the goal.
    assert perfect["final_success"] == 1.0 and perfect["mean_steps_to_threshold"] == 20
    assert wrong["final_success"] == 0.0 and wrong["reached"] == 0
    assert perfect["ratio"] == pytest.approx(20 / reference["mean_steps_to_threshold"])
    assert wrong["ratio"] == pytest.approx(40 / reference["mean_steps_to_threshold"])
    assert all(run["llm_calls"] == 0 for run in report["runs"])
    (needed,) = report["needed_skill"]
    expected = skill_reaching([(-1.0, wrong["ratio"]), (1.0, perfect["ratio"])], 0.5)
    assert needed["skill_for_2x"] == expected
    placed = {entry["prior"]: entry for entry in report["real_priors"]}
    assert set(placed) == {"smollm2-135m", "smollm2-135m [length-norm]"}  # the lake's family; no uniform, no oracle
    assert placed["smollm2-135m"]["skill"] == 0.5
    assert placed["smollm2-135m"]["dqn-prior[paper]_ratio"] == pytest.approx(wrong["ratio"] + 0.75 * (perfect["ratio"] - wrong["ratio"]))
    table = open(report["files"][4]).read()
    assert "| frozenlake-4x4 | smollm2-135m | frozenlake-4x4 | 0.500 |" in table and "skill for 2× fewer steps" in table
    assert open(report["files"][3], "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    partial = bench(capsys, *argv, "--seeds", "3", "--kept-only")  # the last --seeds wins
    assert partial["runs"] == report["runs"]
    assert partial["missing"] == ["frozenlake-4x4 dqn seed 2", "frozenlake-4x4 dqn-prior[paper] skill=1 seed 2",
                                  "frozenlake-4x4 dqn-prior[paper] skill=-1 seed 2"]  # fmt: skip
    assert "frozenlake-4x4 6 of 9 (every arm on seed 0, 1)" in open(partial["files"][4]).read()
    assert not (tmp_path / "runs" / "frozenlake-4x4-dqn-s2").exists()
    assert main(["bench", "prior-strength", *argv, "--eval-episodes", "2"]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err


def test_arms_run_coarse_to_fine_along_the_dial():
    assert coarse_to_fine([-0.5, 0.0, 0.25, 0.5, 0.75, 0.9, 1.0]) == [1.0, -0.5, 0.25, 0.0, 0.5, 0.75, 0.9]
    assert coarse_to_fine([0.5]) == [0.5]


def test_skill_reaching_interpolates_between_measured_skills():
    curve = [(-0.5, 1.4), (0.0, 1.0), (0.5, 0.6), (1.0, 0.2)]
    assert skill_reaching(curve, 0.5) == pytest.approx(0.5 + 0.5 * (0.1 / 0.4))
    assert skill_reaching(curve, 0.1) is None  # not within the measured skills
    assert skill_reaching([(0.0, 0.4), (1.0, 0.1)], 0.5) == 0.0  # already there at the lowest skill
    assert skill_reaching([(0.0, math.nan), (1.0, 0.3)], 0.5) == 1.0  # an arm without a ratio is skipped
    assert ratio_at(curve, 0.25) == pytest.approx(0.8) and math.isnan(ratio_at(curve, -0.9))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--skills", "1.5"], "[-1, 1]"),
        (["--kept-only"], "--keep-runs"),
        (["--quality-csv", "missing.csv"], "prior-quality"),
        (["--seeds", "0"], "at least 1"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, argv, message):
    assert main(["bench", "prior-strength", *argv, "--out-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and message in error and "\n" not in error


def test_real_priors_are_read_from_several_quality_csvs_together(tmp_path):
    from sandbox.results.prior_strength import read_quality

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_quality(first)
    with open(second, "w", newline="") as stream:
        stream.write("prior,variant,family,skill\ngemma-3-270m,plain,frozenlake-4x4,-0.38\nuniform,-,overcooked,0.0\n"
                     "smollm2-135m,default,overcooked,0.7\n")  # measured in the first file too: that one is kept
    quality, source = read_quality([first, second])
    assert [(entry["prior"], entry["variant"], entry["skill"]) for entry in quality] == [
        ("smollm2-135m", "default", 0.5), ("smollm2-135m", "length-norm", -0.25), ("smollm2-135m", "default", 0.1),
        ("gemma-3-270m", "plain", -0.38),
    ]  # fmt: skip
    assert source == f"{first}, {second}"


def test_the_regenerate_line_alone_reruns_the_same_experiment() -> None:
    """The report's "Regenerate" command, parsed again, gives the arms and budgets of the run that wrote it
    (it once kept only --keep-runs, so rerunning it trained every env and skill)."""
    import shlex

    from sandbox.cli import build_parser
    from sandbox.results.prior_strength import SHAPING_FLAGS, regenerate_text
    from sandbox.results.sample_efficiency import default_kl_alpha

    given = (
        "bench prior-strength --envs overcooked-tomato frozenlake-4x4 --skills -0.5 0 0.5 1 --learners dqn-prior"
        " --rules paper --seeds 3 --steps 700 --kl-alpha 0.3 --keep-runs saves/bench/x"
    )
    args = build_parser().parse_args(given.split())
    default_kl_alpha(args)
    line = regenerate_text(args)
    command = line.split("`")[1]
    assert command.startswith("python -m sandbox bench prior-strength ")
    again = build_parser().parse_args(shlex.split(command)[3:])
    default_kl_alpha(again)
    for name in (*SHAPING_FLAGS, "keep_runs"):
        assert getattr(again, name) == getattr(args, name), name
    assert again.skills == [-0.5, 0.0, 0.5, 1.0] and again.rules == ["paper"] and again.steps == 700
