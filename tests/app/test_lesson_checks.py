"""The lessons' checks on hand-made decisions, with every expected number worked out by hand here
(plain `math`, not agents.bayes), and `demo NAME --check` on the live engine."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from agents import bayes
from agents.decision import Candidate, Decision
from agents.prior.types import PriorResult
from sandbox.commands import demo as demo_command
from sandbox.ui.explain import explain
from sandbox.ui.lesson_checks import CHECKS, Observations, SeedRun, Study, verdicts
from sandbox.ui.lessons import LESSONS
from sandbox.ui.widgets.lesson_panels import bayes_text, races_csv, spread_bar

ACTIONS = ("go south", "go east")
P_LLM = (0.6, 0.4)
Q = (0.0, 0.1)
ALPHA = 10.0
PROPOSALS = ("go south",) * 4 + ("go east",)  # k = 5: share 0.8 / 0.2


def decision(q: tuple[float, float] = Q, posterior_from: tuple[float, float] | None = None) -> Decision:
    """DQN-Prior's decision as the agent makes it: acting on the k-share; `posterior_from` plants another prior."""
    share = np.array([PROPOSALS.count(action) / len(PROPOSALS) for action in ACTIONS])
    breakdown = bayes.posterior(posterior_from if posterior_from is not None else share, q, ALPHA)
    rows = tuple(
        Candidate(action, P_LLM[i], q[i], float(breakdown.likelihood[i]), float(breakdown.posterior[i]), PROPOSALS.count(action))
        for i, action in enumerate(ACTIONS)
    )
    result = PriorResult(model="test", mode="score", actions=ACTIONS, probs=np.array(P_LLM))
    return Decision(ACTIONS[1], rows, "posterior-sample", alpha=ALPHA, proposals=PROPOSALS, prior_result=result, breakdown=breakdown)


def study(made: Decision, spread: tuple[float, float] | None = None, holes: tuple[str, ...] = ()) -> Study:
    return Study(made, explain(made), ("go east",), holes, np.array(spread) if spread is not None else None)


def by_hand() -> dict[str, float]:
    """Bayes rule with p_LLM and α·Q = (0, 1), Q's pull and the sampling noise, worked out with `math`."""
    e = math.e
    post = (0.6 / (0.6 + 0.4 * e), 0.4 * e / (0.6 + 0.4 * e))
    pull = post[0] * math.log(post[0] / 0.6) + post[1] * math.log(post[1] / 0.4)
    noise = 0.8 * math.log(0.8 / 0.6) + 0.2 * math.log(0.2 / 0.4)
    agent = (0.8 / (0.8 + 0.2 * e), 0.2 * e / (0.8 + 0.2 * e))
    return {"exact_east": post[1], "pull": pull, "noise": noise, "agent_east": agent[1]}


def test_pull_and_noise_are_the_kl_they_name() -> None:
    hand = by_hand()
    seen = study(decision())
    assert seen.exact.posterior[1] == pytest.approx(hand["exact_east"])  # ≈ 0.644
    assert seen.pull == pytest.approx(hand["pull"])  # ≈ 0.121 nats: the posterior under p_LLM, from p_LLM
    assert seen.noise == pytest.approx(hand["noise"])  # ≈ 0.092 nats: the k-share from p_LLM
    assert seen.explanation.acting[1] == pytest.approx(hand["agent_east"])  # the table's posterior column


def test_the_bayes_panel_names_each_prior_with_its_own_numbers() -> None:
    hand = by_hand()
    text = bayes_text(study(decision())).plain
    assert f"p_LLM 0.40 × likelihood 0.73 ÷ Σ {0.6 * 0.2689 + 0.4 * 0.7311:.3f} → posterior {hand['exact_east']:.2f}" in text
    assert f"k-share 0.20 × likelihood 0.73 ÷ Σ {0.8 * 0.2689 + 0.2 * 0.7311:.3f} → posterior {hand['agent_east']:.2f}" in text
    assert f"Q's pull KL(posterior under p_LLM ‖ p_LLM) {hand['pull']:.3f}" in text
    assert f"sampling noise KL(k-share ‖ p_LLM) {hand['noise']:.3f}" in text


def test_the_posterior_column_check_catches_a_column_built_from_another_prior() -> None:
    honest = Observations(studies={"before": study(decision())})
    assert verdicts(["column-is-bayes"], honest)[0].holds
    planted = Observations(studies={"before": study(decision(posterior_from=P_LLM))})  # the column from p_LLM
    assert verdicts(["column-is-bayes"], planted)[0].holds is False


def test_q_separates_only_beyond_twice_its_spread() -> None:
    # Gap 0.1: more than 2 × 0.04, less than 2 × 0.06.
    clear = Observations(studies={"after": study(decision(), spread=(0.04, 0.01))})
    noisy = Observations(studies={"after": study(decision(), spread=(0.06, 0.01))})
    assert verdicts(["q-separates"], clear)[0].holds
    assert verdicts(["q-separates"], noisy)[0].holds is False
    wrong = Observations(studies={"after": study(decision(q=(0.1, 0.0)), spread=(0.01, 0.01))})
    assert verdicts(["q-separates"], wrong)[0].holds is False  # Q ranks the non-optimal move first
    untrained = Observations(studies={"after": study(decision())})
    assert verdicts(["q-separates"], untrained)[0].holds is False  # no spread: no claim


def test_the_hole_premise_needs_the_prior_to_favour_the_hole() -> None:
    favoured = Observations(studies={"before": study(decision(), holes=("go south",))})  # p_LLM 0.6 on the hole
    assert verdicts(["prior-favours-hole"], favoured)[0].holds
    elsewhere = Observations(studies={"before": study(decision(), holes=("go east",))})
    assert verdicts(["prior-favours-hole"], elsewhere)[0].holds is False


def test_a_claim_whose_run_has_not_happened_is_not_checked_yet() -> None:
    (verdict,) = verdicts(["pull-grows"], Observations())
    assert verdict.holds is None and verdict.seen == "not run yet"


def run(seed: int, ends: tuple[int, ...], wins: tuple[float, ...], steps: int = 300) -> SeedRun:
    return SeedRun(seed, steps, ends, wins)


def test_races_compare_medians_of_first_successes_in_env_steps() -> None:
    fast = [run(0, (40, 90), (1.0, 1.0)), run(1, (30, 70), (0.0, 1.0)), run(2, (200,), (0.0,))]  # 40, 70, never
    slow = [run(0, (50, 100), (0.0, 1.0)), run(1, (60,), (1.0,)), run(2, (80, 160), (0.0, 1.0))]  # 100, 60, 160
    observed = Observations(races={"dqn-prior S=+0.9": fast, "dqn": slow})
    (verdict,) = verdicts(["good-prior-sooner"], observed)
    assert verdict.holds  # medians 70 < 100 (a seed that never won counts as 301)
    assert "median 70" in verdict.seen and "median 100" in verdict.seen and "never" in verdict.seen
    swapped = Observations(races={"dqn-prior S=+0.9": slow, "dqn": fast})
    assert verdicts(["good-prior-sooner"], swapped)[0].holds is False
    # "No sooner" holds on a tie of medians, fails when the prior is faster.
    assert verdicts(["this-prior-not-sooner"], Observations(races={"dqn-prior": slow, "dqn": slow}))[0].holds
    assert verdicts(["this-prior-not-sooner"], Observations(races={"dqn-prior": fast, "dqn": slow}))[0].holds is False


def test_success_at_a_step_counts_episodes_ended_in_the_last_100_steps() -> None:
    seed = run(0, (20, 90, 150, 190, 260), (1.0, 0.0, 1.0, 1.0, 0.0))
    assert seed.success_at(160) == pytest.approx(0.5)  # (60, 160]: 90 lost, 150 won
    assert seed.success_at(200) == pytest.approx(1.0)  # (100, 200]: 150 and 190 won
    assert seed.success_at(300) == pytest.approx(0.0)  # (200, 300]: 260 lost
    assert seed.first_success == 20


def test_races_csv_has_one_row_per_episode() -> None:
    text = races_csv({"dqn": [run(3, (10, 25), (0.0, 1.0))]})
    assert text.splitlines() == ["runner,seed,race_steps,episode,end_step,won", "dqn,3,300,1,10,0", "dqn,3,300,2,25,1"]


def test_q_bar_is_absolute_with_its_spread_shaded() -> None:
    assert spread_bar(0.5, 0.125, 8).plain == "███▒▒   "  # 0.375 → 3 cells solid, 0.625 → 5 cells
    assert spread_bar(0.00004, 0.0, 8).plain == "        "  # a tiny Q draws a tiny bar, not a full one


def test_every_check_a_page_names_exists() -> None:
    for lesson in LESSONS.values():
        for page in lesson.pages:
            assert set(page.checks) <= set(CHECKS), (lesson.name, page.title)


def check_json(lesson: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    code = demo_command.run(parser.parse_args([lesson, "--check", "--json", "--saves", str(tmp_path), *extra]))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["bayes", "alpha", "wrong-prior", "sample-efficiency", "prior-strength"])
def test_every_claim_of_every_lesson_holds_on_the_default_model_and_seed(
    lesson: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, payload = check_json(lesson, tmp_path, capsys)
    failed = [check for check in payload["checks"] if not check["holds"]]
    assert code == 0 and payload["passed"] and not failed, failed
    assert payload["prior_model"] == "smollm2-135m" and payload["seed"] == 0


def test_check_reports_a_claim_that_fails_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The uniform prior cannot favour the hole: the wrong-prior lesson's premise fails, and says what was seen.
    code, payload = check_json("wrong-prior", tmp_path, capsys, "--prior-model", "uniform", "--steps", "40")
    premise = next(check for check in payload["checks"] if check["check"] == "prior-favours-hole")
    assert code == 1 and not payload["passed"]
    assert premise["holds"] is False and "p_LLM(go south) 0.33, p_LLM(go north) 0.33" in premise["seen"]
