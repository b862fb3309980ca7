"""`python -m sandbox bench prior-quality`: skill, top-1 and log(p(O)/u) by hand on a small case, and
the experiment end to end on two tiny games with priors that need no model."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from agents.prior import PriorQuery, PriorResult
from sandbox.cli import main
from sandbox.results import prior_quality
from sandbox.results.prior_quality import Decision, Game, overall, score, summary

ACTIONS = ("a", "b", "c", "d")


class FixedPrior:
    """Answers a fixed distribution per observation."""

    def __init__(self, answers: dict[str, list[float]]) -> None:
        self.answers = answers

    def __call__(self, query: PriorQuery) -> PriorResult:
        probs = np.array(self.answers[query.observation])
        return PriorResult(model="fixed", mode="score", actions=query.actions, probs=probs, ms=2.0, tokens_evaluated=7)


def decision(observation: str, optimal: tuple[str, ...], family: str = "f") -> Decision:
    query = PriorQuery(family="textworld", task="t", observation=observation, actions=ACTIONS, optimal=optimal)
    return Decision(family, "g", 0, query)


def test_skill_top1_and_log_ratio_by_hand() -> None:
    prior = FixedPrior({"one": [0.4, 0.2, 0.2, 0.2], "two": [0.1, 0.1, 0.4, 0.4], "all": [1, 0, 0, 0]})
    rows = score([decision("one", ("a",)), decision("two", ("a", "b")), decision("all", ACTIONS)], prior)
    assert len(rows) == 2  # every action optimal: nothing to tell priors apart, left out
    one, two = rows
    # u = 1/4, p(O) = 0.4: skill (0.4 - 0.25) / 0.75 = 0.2; the argmax a is optimal.
    assert (one.skill, one.top1, one.log_ratio) == (pytest.approx(0.2), 1.0, pytest.approx(math.log(0.4 / 0.25)))
    # u = 1/2, p(O) = 0.2: skill (0.2 - 0.5) / 0.5 = -0.6; the tied argmax {c, d} holds no optimal action.
    assert (two.skill, two.top1, two.log_ratio) == (pytest.approx(-0.6), 0.0, pytest.approx(math.log(0.2 / 0.5)))
    family = summary("fixed", "default", "f", rows)
    assert family["skill"] == pytest.approx(-0.2) and family["top1"] == 0.5 and family["decisions"] == 2
    assert (family["ms_per_query"], family["tokens_per_query"]) == (2.0, 7.0)


def test_ties_split_top1_so_uniform_scores_u() -> None:
    rows = score([decision("u", ("b",))], FixedPrior({"u": [0.25] * 4}))
    assert (rows[0].skill, rows[0].top1) == (0.0, 0.25)


def test_overall_is_the_mean_over_families() -> None:
    prior = FixedPrior({"one": [0.4, 0.2, 0.2, 0.2], "two": [0.1, 0.1, 0.4, 0.4]})
    rows = score([decision("one", ("a",), "x"), decision("one", ("a",), "x"), decision("two", ("a", "b"), "y")], prior)
    families = [summary("p", "default", name, [row for row in rows if row.family == name]) for name in ("x", "y")]
    assert overall("p", "default", families)["skill"] == pytest.approx((0.2 - 0.6) / 2)


def test_bench_prior_quality_end_to_end(capsys, tmp_path, monkeypatch) -> None:
    games = [
        Game("lake", "TextFrozenLake-v0", {"desc": ["SFF", "FHF", "FFG"]}),
        Game("kitchen", "overcooked-tomato-salad-v0", {}),
    ]
    monkeypatch.setattr(prior_quality, "_games", lambda quick, splits=prior_quality.SPLITS: games)
    argv = ["bench", "prior-quality", "--quick", "--priors", "uniform,oracle:skill=0.5,oracle:skill=-1"]
    assert main([*argv, "--out-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    skills = {(row["prior"], row["family"]): row["skill"] for row in report["rows"]}
    for family in ("lake", "kitchen", "overall"):
        assert skills[("uniform", family)] == pytest.approx(0.0)
        assert skills[("oracle:skill=0.5", family)] == pytest.approx(0.5)  # the oracle's skill S measures as S
        assert skills[("oracle:skill=-1", family)] < 0
    with open(tmp_path / "prior_quality_quick_decisions.csv") as stream:
        decisions = list(csv.DictReader(stream))
    minus_one = [row for row in decisions if row["prior"] == "oracle:skill=-1"]
    assert minus_one and all(row["top1"] == "0.0" for row in minus_one)  # S = -1: no mass on O
    assert {path.rsplit(".", 1)[1] for path in report["files"]} == {"csv", "png", "md"}


def test_unknown_variant_is_one_line(capsys, tmp_path) -> None:
    assert main(["bench", "prior-quality", "--variants", "nope", "--out-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "unknown prior variant 'nope'" in error and "\n" not in error


def test_splits_train_leaves_every_unseen_game_out() -> None:
    """Tuning runs (`--splits train`) never walk an unseen-split game; --families narrows the walk."""
    import argparse

    from sandbox.errors import SandboxError

    def selected(**flags: str) -> list:
        return prior_quality._selected_games(argparse.Namespace(quick=True, **{"splits": "train,unseen", "families": "", **flags}))

    everything = selected()
    assert any(game.options.get("split") == "unseen" for game in everything)
    train = selected(splits="train")
    assert train and all(game.options.get("split") != "unseen" for game in train)
    assert [game for game in everything if game.options.get("split") != "unseen"] == train
    assert {game.family for game in selected(families="overcooked,frozenlake-4x4")} == {"overcooked", "frozenlake-4x4"}
    with pytest.raises(SandboxError, match="--splits takes train and/or unseen"):
        selected(splits="test")
    with pytest.raises(SandboxError, match="--families: no family nope"):
        selected(families="nope")


def test_sharpening_matches_dividing_log_probs_by_the_temperature():
    from sandbox.results.prior_quality import sharpened

    assert np.allclose(sharpened(np.array([0.5, 0.25, 0.25]), 1.0), [0.5, 0.25, 0.25])
    assert np.allclose(sharpened(np.array([0.5, 0.25, 0.25]), 0.5), np.array([0.25, 0.0625, 0.0625]) / 0.375)


def test_the_temperature_scan_scores_by_hand_and_picks_the_best_log_score():
    from sandbox.results.prior_quality import temperature_scan

    def row(probs, actions, optimal, family="frozenlake-4x4"):
        return {"prior": "p", "variant": "v", "family": family, "game": "TextFrozenLake-v0(map_name=4x4)",
                "probs": probs, "actions": actions, "optimal": optimal, "n_optimal": "1", "skill": "nan"}  # fmt: skip

    # Right once and wrong once, by the same margin: at T = 1 skill (0.2 - 0.2)/2 = 0 and the log score
    # (ln 1.2 + ln 0.8)/2 < 0, so the flattest temperature is the calibrated one.
    rows = [row("0.6 0.4", "go east|go west", "go east"), row("0.6 0.4", "go east|go west", "go west")]
    scan = temperature_scan(rows, [0.5, 1.0, 3.0])
    at = {entry["temperature"]: entry for entry in scan}
    assert at[1.0]["skill"] == pytest.approx(0.0, abs=1e-12)
    assert at[1.0]["log_ratio"] == pytest.approx((math.log(1.2) + math.log(0.8)) / 2)
    assert at[1.0]["env_family"] == "frozenlake" and at[1.0]["decisions"] == 2
    assert [entry["temperature"] for entry in scan if entry["best"]] == [3.0]
    # Right three times in four: sharpening raises skill all the way down, the log score peaks in between.
    rows = [row("0.6 0.4", "go east|go west", "go east")] * 3 + [row("0.6 0.4", "go east|go west", "go west")]
    scan = temperature_scan(rows, [0.05, 0.5, 1.0, 3.0])
    skills = [entry["skill"] for entry in scan]
    assert skills == sorted(skills, reverse=True)
    assert [entry["temperature"] for entry in scan if entry["best"]] == [0.5]


def test_rows_written_before_the_actions_column_name_their_optimal_action_through_skill():
    from sandbox.results.prior_quality import optimal_mask

    probs = np.array([0.7, 0.2, 0.1])
    u = 1 / 3
    old_row = {"n_optimal": "1", "skill": str((0.2 - u) / (1 - u)), "probs": "0.7 0.2 0.1"}
    assert optimal_mask(old_row, probs).tolist() == [False, True, False]
