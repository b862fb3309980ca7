"""`python -m sandbox bench`: the results experiments end to end on tiny budgets (uniform prior, hash
features), and the statistics they report."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from sandbox.cli import main
from sandbox.results import EXPERIMENTS
from sandbox.results.common import first_step_at, mean_interval

SMALL_LAKE = 'desc=["SFF","HFF","FFG"]'
NO_LLM = ["--prior-model", "uniform", "--prior-cache", "none", "--features", "hash"]


def bench(capsys, *argv: str) -> dict:
    assert main(["bench", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path) as stream:
        return list(csv.DictReader(stream))


def test_mean_interval_is_the_student_t_interval_clipped_to_its_range():
    interval = mean_interval([0.5, 0.7, 0.9])
    half = 4.303 * 0.2 / math.sqrt(3)  # t(0.975, 2 df) · s / √n
    assert interval.mean == pytest.approx(0.7)
    assert (interval.low, interval.high) == (pytest.approx(0.7 - half), pytest.approx(0.7 + half))
    clipped = mean_interval([0.5, 0.7, 0.9], 0.0, 1.0)
    assert (clipped.low, clipped.high) == (pytest.approx(0.7 - half), 1.0)
    single = mean_interval([0.4])
    assert single.n == 1 and math.isnan(single.low) and single.percent() == "40% (1 seed)"


def test_first_step_at_finds_the_first_evaluation_at_the_threshold():
    rows = [{"step": 100, "eval_success": 0.2}, {"step": 200, "eval_success": 0.9}, {"step": 300, "eval_success": 1.0}]
    assert first_step_at(rows, 0.9) == 200
    assert first_step_at(rows, 0.95) == 300
    assert first_step_at(rows, 1.01) is None


def test_bench_offline_writes_csv_plot_and_table(capsys, tmp_path):
    report = bench(
        capsys, "offline", "--env", "TextFrozenLake-v0", "--env-arg", SMALL_LAKE, "--behaviour-steps", "100",
        "--sizes", "40", "20", "--seeds", "2", "--steps", "20", "--eval-episodes", "1", "--out-dir", str(tmp_path), *NO_LLM,
    )  # fmt: skip
    assert report["settings"]["sizes"] == [20, 40]
    assert len(report["runs"]) == 2 * 2 * 2  # seeds × sizes × agents
    assert [(row["agent"], row["size"]) for row in report["summary"]] == [
        ("cql", 20), ("cql", 40), ("cql-prior", 20), ("cql-prior", 40)
    ]  # fmt: skip
    for row in report["summary"]:
        runs = [r["final_success"] for r in report["runs"] if (r["agent"], r["size"]) == (row["agent"], row["size"])]
        assert row["success"] == pytest.approx(sum(runs) / len(runs)) and row["seeds"] == 2
    assert set(report["sizes_needed"]) == {"cql", "cql-prior"} and set(report["ratios"]) == {"first", "stable"}
    assert all(d["transitions"] >= 40 for d in report["datasets"])
    csv_file, png_file, md_file = report["files"]
    assert len(read_csv(csv_file)) == len(report["runs"])
    assert open(png_file, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "| transitions | CQL final success | CQL-Prior final success |" in open(md_file).read()


def test_sizes_needed_reads_first_and_stable_sizes():
    from sandbox.results.offline import sizes_needed

    def summary(*successes: float) -> list[dict]:
        return [{"agent": "cql", "size": 25 * 2**i, "success": s} for i, s in enumerate(successes)]

    # 50 reaches 80% by luck, 100 fails again: first 50, stable from 200.
    assert sizes_needed(summary(0.0, 0.9, 0.5, 0.8, 1.0), "cql", 0.8) == {"first": 50, "stable": 200}
    assert sizes_needed(summary(0.8, 0.9, 1.0), "cql", 0.8) == {"first": 25, "stable": 25}
    assert sizes_needed(summary(1.0, 1.0, 0.7), "cql", 0.8) == {"first": 25, "stable": None}
    assert sizes_needed(summary(1.0), "cql-prior", 0.8) == {"first": None, "stable": None}  # no rows for that agent
    assert sizes_needed(summary((0.4 + 1.0 + 1.0) / 3), "cql", 0.8)["first"] == 25  # 0.7999… is 80% of 3 seeds


def test_bench_sample_efficiency_reports_steps_to_the_relative_threshold(capsys, tmp_path):
    report = bench(
        capsys, "sample-efficiency", "--envs", "frozenlake-4x4", "--agents", "dqn", "dqn-prior", "random",
        "--seeds", "2", "--steps", "40", "--eval-every", "20", "--eval-episodes", "1", "--out-dir", str(tmp_path), *NO_LLM,
    )  # fmt: skip
    summary = {row["agent"]: row for row in report["summary"]}
    assert set(summary) == {"dqn", "dqn-prior[paper]", "dqn-prior[default]", "random"}  # an arm per acting rule
    best = max(row["final_success"] for row in summary.values())
    assert all(row["threshold"] == pytest.approx(0.9 * best) for row in summary.values())
    assert all(run["llm_calls"] == 0 for run in report["runs"])  # the uniform prior never runs a model
    curves = read_csv(report["files"][1])
    assert {int(row["step"]) for row in curves if row["agent"] == "dqn"} == {20, 40}
    assert {int(row["step"]) for row in curves if row["agent"] == "random"} == {0}  # evaluated once, untrained
    assert "| env | agent | threshold |" in open(report["files"][3]).read()


def test_bench_sample_efficiency_resumes_from_kept_runs_and_refuses_other_settings(capsys, tmp_path):
    argv = ["sample-efficiency", "--envs", "frozenlake-4x4", "--agents", "dqn", "random", "--seeds", "1", "--steps", "20",
            "--eval-every", "10", "--eval-episodes", "1", "--out-dir", str(tmp_path), "--keep-runs", str(tmp_path / "runs"),
            *NO_LLM]  # fmt: skip
    first = bench(capsys, *argv)
    assert first["settings"]["envs"]["frozenlake-4x4"]["steps"] == 20  # --steps overrides the env's own 4000
    assert (tmp_path / "runs" / "frozenlake-4x4-dqn-s0" / "result.json").is_file()
    assert main(["bench", *argv]) == 0
    assert capsys.readouterr().err.count("(kept from an earlier run)") == 2
    again = bench(capsys, *argv)
    assert again["runs"] == first["runs"] and again["summary"] == first["summary"]
    assert main(["bench", *argv, "--threads", "1"]) == 0  # speed, not results: the kept runs still count
    assert capsys.readouterr().err.count("(kept from an earlier run)") == 2
    partial = bench(capsys, *argv, "--seeds", "2", "--kept-only")  # the last --seeds wins
    assert partial["runs"] == first["runs"]  # seed 1 was never run: reported missing, not trained
    assert partial["missing"] == ["frozenlake-4x4 dqn seed 1", "frozenlake-4x4 random seed 1"]
    assert "Not in this report" in open(partial["files"][3]).read()
    assert not (tmp_path / "runs" / "frozenlake-4x4-dqn-s1").exists()
    assert main(["bench", *argv, "--alpha", "3"]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err


def test_a_run_killed_before_its_result_is_started_over(tmp_path):
    from sandbox.engine.provenance import code_version
    from sandbox.results.common import kept_or_run

    run_dir = tmp_path / "lake-dqn-s0"
    run_dir.mkdir()
    (run_dir / "metrics.csv").write_text("step\n100\n")  # what a killed invocation left behind
    calls = []

    def train():
        calls.append(sorted(path.name for path in run_dir.iterdir()) if run_dir.exists() else None)
        return {"final_success": 1.0}, [{"step": 10, "eval_success": 1.0}]

    result, curve, kept = kept_or_run(run_dir, {"steps": 10}, train)
    assert calls == [None] and not kept and result == {"final_success": 1.0, "code_version": code_version()["id"]}
    assert kept_or_run(run_dir, {"steps": 10}, train)[2] and len(calls) == 1


def test_finished_keeps_found_runs_counts_missing_ones_and_says_which_were_kept(capsys):
    from argparse import Namespace

    from sandbox.errors import SandboxError
    from sandbox.results.common import Finished

    args = Namespace(json=False, keep_runs="runs")
    finished = Finished()
    with pytest.raises(SandboxError, match="runs holds no finished run with these settings"):
        finished.check_any(args)
    finished.add(args, "lake dqn seed 0", ({"seed": 0}, [{"step": 10}], True), lambda row: f"seed {row['seed']}")
    finished.add(args, "lake dqn seed 1", None, lambda row: "never printed")
    finished.add(args, "lake dqn seed 2", ({"seed": 2}, [{"step": 10}, {"step": 20}], False), lambda row: "two")
    finished.check_any(args)
    assert finished.runs == [{"seed": 0}, {"seed": 2}] and len(finished.curves) == 3
    assert finished.missing == ["lake dqn seed 1"]
    assert capsys.readouterr().err == "seed 0  (kept from an earlier run)\ntwo\n"


def test_finished_report_ends_with_the_wall_time_and_the_files_written(tmp_path):
    import time

    from sandbox.results.common import finished_report, pyplot, write_outputs

    plt = pyplot()
    figure = plt.figure()
    files = write_outputs(tmp_path, "exp_quick", {"": [{"a": 1}], "_curves": [{"b": 2}]}, figure, "T", "intro", "| t |\n")
    plt.close(figure)
    assert [path.name for path in files] == ["exp_quick.csv", "exp_quick_curves.csv", "exp_quick.png", "exp_quick.md"]
    assert files[1].read_text() == "b\n2\n" and files[3].read_text() == "# T\n\nintro\n\n| t |\n"
    report = finished_report({"experiment": "x", "runs": []}, files, time.monotonic() - 2.0, "table")
    assert list(report.data) == ["experiment", "runs", "wall_s", "files"] and report.data["wall_s"] >= 2.0
    assert report.data["files"] == [str(path) for path in files]
    assert report.text == "table\nwrote " + ", ".join(str(path) for path in files)


def test_a_kept_run_from_before_the_prior_levers_stays_valid_and_a_changed_lever_is_refused(tmp_path):
    from agents.prior.config import PriorConfig
    from sandbox.errors import SandboxError
    from sandbox.results.common import LATER_PRIOR_SETTINGS, kept_or_run, prior_settings

    now = {"steps": 10, "prior": prior_settings(PriorConfig(model="oracle:skill=1"))}
    before = {"steps": 10, "prior": {key: value for key, value in now["prior"].items() if key not in LATER_PRIOR_SETTINGS}}
    calls = []

    def train():
        calls.append(1)
        return {"final_success": 1.0}, [{"step": 10, "eval_success": 1.0}]

    kept_or_run(tmp_path / "old", before, train)
    assert kept_or_run(tmp_path / "old", now, train)[2] and len(calls) == 1
    calibrated = {"steps": 10, "prior": {**now["prior"], "calibrate": True}}
    with pytest.raises(SandboxError, match="other settings"):
        kept_or_run(tmp_path / "old", calibrated, train)


def test_a_kept_run_of_the_default_variant_records_what_it_resolved_to(monkeypatch, tmp_path):
    from agents.prior import variants
    from agents.prior.config import PriorConfig
    from sandbox.errors import SandboxError
    from sandbox.results.common import kept_or_run, prior_settings

    def train():
        return {"final_success": 1.0}, [{"step": 10, "eval_success": 1.0}]

    lake, salad = {"id": "TextFrozenLake-v0"}, {"id": "overcooked-tomato-salad-v0"}
    kept_or_run(tmp_path / "lake", {**lake, "prior": prior_settings(PriorConfig())}, train)
    kept_or_run(tmp_path / "salad", {**salad, "prior": prior_settings(PriorConfig())}, train)
    retuned = {**variants.SMOLLM2_TUNED, "frozenlake": {"calibrate": True, "temperature": 0.05}}
    monkeypatch.setitem(variants.VARIANTS["default"].tuned, "smollm2-135m", retuned)
    with pytest.raises(SandboxError, match="other settings"):
        kept_or_run(tmp_path / "lake", {**lake, "prior": prior_settings(PriorConfig())}, train)
    assert kept_or_run(tmp_path / "salad", {**salad, "prior": prior_settings(PriorConfig())}, train)[2]  # not retuned


def test_frozen_lake_runs_its_tuned_presets_and_the_other_envs_the_shared_settings():
    from argparse import Namespace

    from agents.prior.config import PriorConfig
    from sandbox.results.sample_efficiency import run_config

    args = Namespace(steps=None, eval_every=None, features=None, alpha=10.0, k=5, kl_alpha=0.1, eval_episodes=5)
    prior = PriorConfig()
    lake = run_config(args, prior, "frozenlake-4x4", "dqn-prior", 3)
    assert (lake.dqn.explore, lake.dqn.target_tau, lake.dqn.features) == ("epsilon", 0.005, "minilm+hash")
    assert (lake.run.steps, lake.run.eval_every, lake.run.seed, lake.dqn.seed) == (4000, 250, 3, 3)
    coins = run_config(args, prior, "coin-collector-5", "dqn-prior", 0)
    assert (coins.run.steps, coins.dqn.features, coins.dqn.epsilon_decay_steps) == (2000, "minilm", 1000)
    overridden = run_config(Namespace(**{**vars(args), "steps": 50, "features": "hash"}), prior, "frozenlake-4x4", "ppo", 0)
    assert (overridden.run.steps, overridden.ppo.features) == (50, "hash")


def test_bench_ablation_varies_one_factor_at_a_time_and_shares_the_default(capsys, tmp_path):
    report = bench(
        capsys, "ablation", "--env", "frozenlake-4x4", "--factors", "k", "mode", "floor", "--k-values", "1", "2",
        "--floor-values", "0", "0.5", "--seeds", "2", "--steps", "20", "--eval-every", "10", "--eval-episodes", "1",
        "--out-dir", str(tmp_path), *NO_LLM,
    )  # fmt: skip
    rows = [(row["factor"], row["value"], row["default"]) for row in report["summary"]]
    assert rows == [("k", 1, False), ("k", 2, False), ("mode", "score", True), ("mode", "sample", False),
                    ("floor", 0.0, True), ("floor", 0.5, False)]  # fmt: skip
    labels = {run["agent"] for run in report["runs"]}
    assert len(labels) == 6 and "dqn" in labels  # DQN, k=1, k=2, the default (shared by two factors), sample, ε=0.5
    assert len(report["runs"]) == 6 * 2
    default = [row for row in report["summary"] if row["default"]]
    assert default[0]["final_success"] == default[1]["final_success"] and default[0]["seeds"] == 2
    reference = report["reference"]["mean_steps_to_threshold"]
    for row in report["summary"]:
        runs = [r["final_success"] for r in report["runs"] if r["agent"] == row["agent"]]
        assert row["final_success"] == pytest.approx(sum(runs) / len(runs))
        if reference:
            assert row["ratio_vs_dqn"] == pytest.approx(row["mean_steps_to_threshold"] / reference)
    table = open(report["files"][3]).read()
    assert "| proposals k | 1 |" in table and "**0** (default)" in table and "| DQN, no prior |" in table
    assert open(report["files"][2], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_bench_ablation_quick_trains_each_distinct_variant_once_per_seed(capsys, tmp_path, monkeypatch):
    from sandbox.results import ablation

    trained = []

    def fake_run(config, run_dir, env_key, on_evaluation=None):
        trained.append((config.run.agent, config.dqn.k, config.dqn.alpha, config.prior.mode, config.prior.epsilon,
                        config.run.seed, config.run.steps))  # fmt: skip
        success = 1.0 if config.run.agent == "dqn-prior" else 0.5
        curve = [{"env": env_key, "agent": config.run.agent, "seed": config.run.seed, "step": 50, "eval_success": success}]
        result = {"env": env_key, "agent": config.run.agent, "seed": config.run.seed, "steps": config.run.steps,
                  "final_success": success, "llm_calls": 0, "wall_s": 1.0}  # fmt: skip
        return result, curve

    monkeypatch.setattr(ablation, "run_one", fake_run)
    report = bench(capsys, "ablation", "--quick", "--out-dir", str(tmp_path), *NO_LLM)
    assert report["settings"]["seeds"] == 2 and report["settings"]["steps"] == 300
    variants = {entry[:5] for entry in trained}
    assert variants == {("dqn", 5, 10.0, "score", 0.0), ("dqn-prior", 5, 10.0, "score", 0.0),
                        ("dqn-prior", 1, 10.0, "score", 0.0), ("dqn-prior", 5, 1.0, "score", 0.0),
                        ("dqn-prior", 5, 10.0, "sample", 0.0), ("dqn-prior", 5, 10.0, "score", 0.3)}  # fmt: skip
    assert len(trained) == len(variants) * 2 and {entry[6] for entry in trained} == {300}
    assert Path(report["files"][3]).name == "ablation_coin_collector_5_quick.md"
    assert all(row["ratio_vs_dqn"] == pytest.approx(50 / 300) for row in report["summary"])  # DQN never reaches 90%


def test_sample_efficiency_summary_censors_runs_that_never_reach_the_threshold():
    from argparse import Namespace

    from sandbox.results.sample_efficiency import summarise

    def run(agent: str, seed: int, final: float) -> dict:
        return {"env": "lake", "agent": agent, "seed": seed, "steps": 300, "final_success": final, "llm_calls": 4,
                "wall_s": 2.0}  # fmt: skip

    def curve(agent: str, seed: int, successes: list[float]) -> list[dict]:
        return [
            {"env": "lake", "agent": agent, "seed": seed, "step": 100 * (i + 1), "eval_success": success}
            for i, success in enumerate(successes)
        ]

    runs = [run("dqn", 0, 1.0), run("dqn", 1, 0.0), run("dqn-prior", 0, 1.0), run("dqn-prior", 1, 1.0), run("llm", 0, 1.0)]
    curves = curve("dqn", 0, [0.0, 0.5, 1.0]) + curve("dqn", 1, [0.0, 0.0, 0.0])
    curves += curve("dqn-prior", 0, [1.0, 1.0, 1.0]) + curve("dqn-prior", 1, [0.0, 0.9, 1.0])
    curves += [{"env": "lake", "agent": "llm", "seed": 0, "step": 0, "eval_success": 1.0}]  # evaluated once, untrained
    summary = {row["agent"]: row for row in summarise(runs, curves)}
    assert summary["dqn"]["threshold"] == pytest.approx(0.9)  # 90% of the best mean final success (1.0)
    assert [r["steps_to_threshold"] for r in runs] == [300, None, 100, 200, 0]
    assert summary["dqn"]["mean_steps_to_threshold"] == 300  # the run that never got there counts as the budget
    assert (summary["dqn"]["reached"], summary["dqn-prior"]["reached"]) == (1, 2)
    assert summary["dqn-prior"]["ratio_vs_baseline"] == pytest.approx(150 / 300)
    assert summary["dqn"]["final_success"] == 0.5 and summary["dqn"]["llm_calls_per_run"] == 4
    assert summary["dqn"]["run_success"] == pytest.approx((0.5 + 0.0) / 2)  # each seed's mean over its evaluations
    assert summary["dqn-prior"]["run_success"] == pytest.approx((1.0 + 1.9 / 3) / 2)
    assert summary["llm"]["reached"] == 1 and summary["llm"]["mean_steps_to_threshold"] is None  # no step axis


def test_bench_generalisation_skips_a_missing_test_prior_with_its_reason(capsys, tmp_path, household_games, games_dir):
    report = bench(
        capsys, "generalisation", "--n-games", "1", "--games-dir", str(games_dir), "--seeds", "1", "--steps", "20",
        "--eval-episodes", "1", "--test-prior-model", str(tmp_path / "missing.gguf"), "--out-dir", str(tmp_path), *NO_LLM,
    )  # fmt: skip
    assert "not found" in report["skipped"]
    assert {(row["agent"], row["prior"]) for row in report["summary"]} == {
        ("dqn-prior", "uniform"), ("dqn", "none"), ("llm", "uniform")
    }  # fmt: skip
    assert {row["split"] for row in report["runs"]} == {"train", "unseen"}
    assert "Skipped the test prior" in open(report["files"][2]).read()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["offline", "--sizes", "0"], "at least 1"),
        (["generalisation", "--env", "TextFrozenLake-v0"], "household"),
        (["ablation", "--floor-values", "1.5"], "[0, 1]"),
        (["sample-efficiency", "--kept-only"], "--keep-runs"),
        (["ablation", "--k-values", "0"], "at least 1"),
    ],
)
def test_bench_bad_input_is_one_line(capsys, tmp_path, argv, message):
    assert main(["bench", *argv, "--out-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and message in error and "\n" not in error


@pytest.mark.parametrize("argv", [["bench", "--help"], *(["bench", name, "--help"] for name in EXPERIMENTS)])
def test_every_experiment_has_help(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: python -m sandbox bench" in capsys.readouterr().out


def test_the_curves_plot_keeps_each_agents_colour_and_names_every_agent_of_any_panel() -> None:
    """ALFWorld's first report: pick-place had the oracle arms, clean-place not yet; the legend, drawn from the
    last panel of the first row, named only clean-place's agents, and the colours shifted between panels."""
    import argparse

    from sandbox.results.common import pyplot
    from sandbox.results.sample_efficiency import plot

    arms = {"pick-place": ("dqn-prior-oracle-0.9", "dqn", "random"), "clean-place": ("dqn", "random")}
    runs = [{"env": env, "agent": agent} for env, agents in arms.items() for agent in agents]
    curves = [{**run, "step": step, "eval_success": 0.5} for run in runs for step in (100, 200)]
    figure = plot(pyplot(), curves, runs, argparse.Namespace(seeds=1))
    pick_place, clean_place = figure.axes[:2]
    (legend,) = [axis.get_legend() for axis in figure.axes if axis.get_legend() is not None]
    assert [text.get_text() for text in legend.get_texts()] == ["dqn-prior-oracle-0.9", "dqn", "random"]
    dqn_colours = [line.get_color() for axis in (pick_place, clean_place) for line in axis.lines if line.get_label() == "dqn"]
    assert len(dqn_colours) == 2 and dqn_colours[0] == dqn_colours[1]
