"""Every claim a lesson makes, checked on the live numbers it is made from.

A lesson's pages name checks. `LessonRun` drives the lesson's engine (the state it studies,
live training, races over several seeds) and keeps what it saw; each check reads those
observations and returns a `Verdict`: the claim, whether it held, and the numbers seen. The
screen states a claim as fact only when its verdict holds and otherwise shows what was seen;
`python -m sandbox demo NAME --check` walks the same pages headless and prints the verdicts.
Posteriors, entropies and KL divergences are the ones the Decision carries (`agents.decision`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from agents import bayes
from agents.decision import Decision, TextState
from sandbox.engine.config import RunConfig
from sandbox.ui.controller import Builders, LearningHistory, SessionController
from sandbox.ui.explain import Explanation, explain
from sandbox.ui.lessons import LESSON_ENV, SWEEP_ALPHAS, Lesson
from sandbox.ui.prior_choices import oracle_model

NOISE_FACTOR = 2.0  # Q separates two actions when their gap exceeds this many of Q's spreads
TRACE_EVERY = 10  # training steps between snapshots of Q at the studied state
TRACE_WINDOW = 10  # snapshots Q's spread is taken over: the last 100 training steps
FLAT_Q = 0.05  # "nearly flat": Q's range across the actions, on Q's 0-1 scale (the lake pays 1 at the goal)
SHARP_POSTERIOR = 0.95  # "all mass on the best Q": the posterior's share on it at the largest α
SUCCESS_WINDOW_STEPS = 100  # a race's success at step t: episodes that ended in the last 100 env steps
RACE_GRID = 25  # env steps between the points of a race's curve
GOOD_ORACLE = 0.9  # the skilled oracle the sample-efficiency race adds beside the run's own prior


def lesson_config(lesson: Lesson, base: RunConfig, agent: str, seed: int | None = None) -> RunConfig:
    """The user's prior and seeds, with the lesson's env, agent and DQN settings (and `seed` for a race's extra seeds)."""
    run = replace(base.run, env=LESSON_ENV, env_kwargs=dict(lesson.env_kwargs), agent=agent)
    dqn = replace(base.dqn, **lesson.dqn)
    if seed is not None:
        run, dqn = replace(run, seed=seed), replace(dqn, seed=seed)
    return replace(base, run=run, dqn=dqn)


# ----- what a lesson sees ---------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    """The agent's decision at the studied state, Bayes rule read with p_LLM and with the k-share,
    what the env knows there, and how much Q moved over the last snapshots of training."""

    decision: Decision
    explanation: Explanation
    optimal: tuple[str, ...]  # the env's optimal moves here
    holes: tuple[str, ...]  # moves that fall into a hole
    q_spread: np.ndarray | None  # sd of Q per row (aligned with explanation.rows) over the last snapshots; None before training

    @property
    def actions(self) -> list[str]:
        return [row.action for row in self.explanation.rows]

    def index(self, action: str) -> int:
        return self.actions.index(action)

    @property
    def q(self) -> np.ndarray:
        assert self.explanation.breakdown is not None
        return self.explanation.breakdown.q_values

    @property
    def p_llm(self) -> np.ndarray:
        return self.explanation.p_llm

    @property
    def share(self) -> np.ndarray:
        """The k-proposal share the agent acted on (p_LLM itself for an agent without proposals)."""
        return self.explanation.prior

    @property
    def exact(self) -> bayes.Posterior:
        """Bayes rule with the exact p_LLM."""
        assert self.explanation.exact is not None
        return self.explanation.exact

    @property
    def pull(self) -> float:
        """Q's pull: KL(posterior under the exact prior ‖ p_LLM), nats."""
        return self.decision.pull

    @property
    def noise(self) -> float:
        """Sampling noise: KL(k-share ‖ p_LLM), nats (0 when the agent acts on p_LLM itself)."""
        return self.decision.sampling_noise

    def alpha_sweep(self, alphas: Sequence[float]) -> list[bayes.Posterior]:
        """Bayes rule with the exact p_LLM and this state's Q at each α: what the α lesson shows and checks."""
        return self.decision.alpha_sweep(alphas)


@dataclass
class QTrace:
    """Q at the studied state, snapshotted every TRACE_EVERY training steps."""

    state: TextState
    actions: tuple[str, ...]
    snapshots: list[np.ndarray] = field(default_factory=list)

    def spread(self, rows: Sequence[str]) -> np.ndarray | None:
        """Per action in `rows`: the sd of Q over the last TRACE_WINDOW snapshots (None with fewer than two)."""
        recent = self.snapshots[-TRACE_WINDOW:]
        if len(recent) < 2:
            return None
        values = np.std(np.stack(recent), axis=0)
        return np.array([values[self.actions.index(action)] for action in rows])


@dataclass(frozen=True)
class SeedRun:
    """One agent's race on one seed: the env step at which each episode ended, and whether it was won."""

    seed: int
    steps: int
    ends: tuple[int, ...]
    wins: tuple[float, ...]

    @classmethod
    def of(cls, seed: int, steps: int, history: LearningHistory) -> SeedRun:
        count = min(len(history.episode_steps), len(history.wins))
        return cls(seed, steps, tuple(history.episode_steps[:count]), tuple(history.wins[:count]))

    @property
    def first_success(self) -> int | None:
        """The env step at which the first won episode ended."""
        return next((end for end, won in zip(self.ends, self.wins) if won), None)

    def success_at(self, step: int) -> float:
        """The share of won episodes among those that ended in the SUCCESS_WINDOW_STEPS env steps up to `step`."""
        recent = [won for end, won in zip(self.ends, self.wins) if step - SUCCESS_WINDOW_STEPS < end <= step]
        return float(np.mean(recent)) if recent else 0.0

    @property
    def final_success(self) -> float:
        return self.success_at(self.steps)

    @property
    def overall_success(self) -> float:
        return float(np.mean(self.wins)) if self.wins else 0.0


def race_grid(steps: int) -> list[int]:
    """The env steps a race's curve is drawn at: every RACE_GRID steps, and the race's last step."""
    return [*range(RACE_GRID, steps, RACE_GRID), steps]


def first_success_steps(runs: Sequence[SeedRun]) -> list[float]:
    """Each seed's first success in env steps; a seed that never won counts as one step past the race (censored)."""
    return [float(run.first_success) if run.first_success is not None else float(run.steps + 1) for run in runs]


def describe_first_successes(runs: Sequence[SeedRun]) -> str:
    values = [str(run.first_success) if run.first_success is not None else "never" for run in runs]
    return f"median {median_steps(runs)} (seeds: {', '.join(values)})"


def median_steps(runs: Sequence[SeedRun]) -> str:
    value = statistics.median(first_success_steps(runs))
    return "never" if value > runs[0].steps else f"{value:g}"


def span(values: Sequence[float]) -> str:
    return f"{min(values):.0%}–{max(values):.0%}"


@dataclass
class Observations:
    """What a lesson saw: studies by name ("before", "after"), Q's trace, races by runner name."""

    studies: dict[str, Study] = field(default_factory=dict)
    trace: QTrace | None = None
    races: dict[str, list[SeedRun]] = field(default_factory=dict)


# ----- the checks -----------------------------------------------------------------------


def skill_key(skill: float) -> str:
    """A race runner's name for the oracle prior at `skill`."""
    return f"S={skill:+g}"


@dataclass(frozen=True)
class Verdict:
    """A lesson's claim checked on live numbers; `holds` is None while what it needs has not run yet."""

    check: str
    claim: str
    holds: bool | None
    seen: str

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "claim": self.claim, "holds": self.holds, "seen": self.seen}


Outcome = tuple[bool, str] | None  # (holds, what was seen), or None: not run yet
CheckFn = Callable[[Observations], Outcome]


@dataclass(frozen=True)
class Check:
    claim: str
    run: CheckFn


def _unique_optimal(o: Observations) -> Outcome:
    study = o.studies.get("before")
    if study is None:
        return None
    return len(study.optimal) == 1, f"optimal here: {', '.join(study.optimal) or 'none'}"


def _unproposed_zero(o: Observations) -> Outcome:
    study = o.studies.get("before")
    if study is None:
        return None
    never = [i for i, share in enumerate(study.share) if share == 0]
    posterior = study.explanation.acting
    names = ", ".join(f"{study.actions[i]} {posterior[i]:.2f}" for i in never) or "every action was proposed"
    return all(posterior[i] == 0 for i in never), f"posterior of the unproposed: {names}"


def _column_is_bayes(o: Observations) -> Outcome:
    study = o.studies.get("before")
    if study is None:
        return None
    rows = study.explanation.rows
    k = len(study.explanation.decision.proposals)
    share = np.array([row.proposal_count / k for row in rows]) if k else study.p_llm  # the n/k the table shows
    likelihood = np.array([row.likelihood for row in rows])  # the exp(αQ) column
    shown = np.array([row.posterior for row in rows])
    products = share * likelihood  # Bayes rule done as the lesson teaches it, on the table's own columns
    return bool(np.allclose(shown, products / products.sum(), atol=1e-9)), "posterior column " + " ".join(
        f"{p:.2f}" for p in shown
    )


def _q_flat_before(o: Observations) -> Outcome:
    study = o.studies.get("before")
    if study is None:
        return None
    gap = float(np.max(study.q) - np.min(study.q))
    return gap < FLAT_Q, f"Q ranges over {gap:.3f} (flat: under {FLAT_Q})"


def _separation(study: Study) -> tuple[bool, str]:
    """Q ranks the unique optimal move first, ahead of the next by more than NOISE_FACTOR of their spreads."""
    if len(study.optimal) != 1 or study.q_spread is None:
        return False, "needs a unique optimal move and Q's spread from training"
    best = study.optimal[0]
    i = study.index(best)
    others = [j for j in range(len(study.actions)) if j != i]
    j = max(others, key=lambda index: study.q[index])
    gap = float(study.q[i] - study.q[j])
    noise = NOISE_FACTOR * max(study.q_spread[i], study.q_spread[j])
    seen = (
        f"Q({best}) {study.q[i]:.3f} ±{study.q_spread[i]:.3f}, Q({study.actions[j]}) {study.q[j]:.3f} "
        f"±{study.q_spread[j]:.3f}: gap {gap:+.3f} vs noise {noise:.3f}"
    )
    return gap > noise, seen


def _q_separates(o: Observations) -> Outcome:
    study = o.studies.get("after")
    return None if study is None else _separation(study)


def _pull_grows(o: Observations) -> Outcome:
    before, after = o.studies.get("before"), o.studies.get("after")
    if before is None or after is None:
        return None
    seen = f"Q's pull {before.pull:.3f} → {after.pull:.3f} nats; sampling noise {before.noise:.3f} → {after.noise:.3f}"
    return after.pull > before.pull, seen


def _pull_beats_noise(o: Observations) -> Outcome:
    after = o.studies.get("after")
    if after is None:
        return None
    return after.pull > after.noise, f"Q's pull {after.pull:.3f} nats, sampling noise {after.noise:.3f} nats"


def _sweep(o: Observations) -> tuple[Study, list[bayes.Posterior]] | None:
    study = o.studies.get("after")
    if study is None:
        return None
    return study, study.alpha_sweep(SWEEP_ALPHAS)


def _alpha_zero_is_prior(o: Observations) -> Outcome:
    swept = _sweep(o)
    if swept is None:
        return None
    study, posteriors = swept
    zero = posteriors[SWEEP_ALPHAS.index(0.0)].posterior
    return bool(np.allclose(zero, study.p_llm)), "α=0: " + " ".join(f"{p:.2f}" for p in zero)


def _large_alpha_best_q(o: Observations) -> Outcome:
    swept = _sweep(o)
    if swept is None:
        return None
    study, posteriors = swept
    best = int(np.argmax(np.where(study.p_llm > 0, study.q, -np.inf)))
    mass = float(posteriors[-1].posterior[best])
    return mass > SHARP_POSTERIOR, f"α={SWEEP_ALPHAS[-1]:g}: {mass:.2f} on {study.actions[best]}, the best Q"


def _best_q_is_optimal(o: Observations) -> Outcome:
    study = o.studies.get("after")
    if study is None:
        return None
    best = study.actions[int(np.argmax(study.q))]
    return best in study.optimal, f"best Q: {best}; optimal: {', '.join(study.optimal)}"


def _hole_and_way(study: Study) -> tuple[str, str] | None:
    if not study.holes or len(study.optimal) != 1:
        return None
    return study.holes[0], study.optimal[0]


def _prior_favours_hole(o: Observations) -> Outcome:
    study = o.studies.get("before")
    if study is None:
        return None
    pair = _hole_and_way(study)
    if pair is None:
        return False, "no hole beside a unique optimal move here"
    hole, way = pair
    p = study.p_llm
    favoured = p[study.index(hole)] == np.max(p) and p[study.index(hole)] > p[study.index(way)]
    return bool(favoured), f"p_LLM({hole}) {p[study.index(hole)]:.2f}, p_LLM({way}) {p[study.index(way)]:.2f}"


def _q_below_hole(o: Observations) -> Outcome:
    study = o.studies.get("after")
    if study is None:
        return None
    pair = _hole_and_way(study)
    if pair is None or study.q_spread is None:
        return False, "needs a hole, a unique optimal move and Q's spread"
    hole, way = pair
    i, j = study.index(way), study.index(hole)
    gap = float(study.q[i] - study.q[j])
    noise = NOISE_FACTOR * max(study.q_spread[i], study.q_spread[j])
    seen = f"Q({way}) {study.q[i]:.3f}, Q({hole}) {study.q[j]:.3f}: gap {gap:+.3f} vs noise {noise:.3f}"
    return gap > noise, seen


def _posterior_leaves_hole(o: Observations) -> Outcome:
    study = o.studies.get("after")
    if study is None:
        return None
    pair = _hole_and_way(study)
    if pair is None:
        return False, "no hole beside a unique optimal move here"
    hole, way = pair
    i, j = study.index(way), study.index(hole)
    post, p = study.exact.posterior, study.p_llm
    seen = f"{hole}: p_LLM {p[j]:.2f} → posterior {post[j]:.2f}; {way}: {p[i]:.2f} → {post[i]:.2f}"
    return bool(post[j] < p[j] and post[i] > p[i] and post[i] > post[j]), seen


def race_check(fast: str, slow: str, strictly: bool = True) -> CheckFn:
    """`fast` reaches its first success in fewer env steps than `slow` (medians over the seeds; `strictly=False`:
    no more)."""

    def check(o: Observations) -> Outcome:
        if fast not in o.races or slow not in o.races:
            return None
        a, b = o.races[fast], o.races[slow]
        first_a, first_b = statistics.median(first_success_steps(a)), statistics.median(first_success_steps(b))
        holds = first_a < first_b if strictly else first_a <= first_b
        seen = f"first success, env steps: {fast} {describe_first_successes(a)}; {slow} {describe_first_successes(b)}"
        return holds, seen

    return check


def success_check(better: str, worse: str) -> CheckFn:
    """`better` wins a larger share of its race's episodes than `worse` (means over the seeds)."""

    def check(o: Observations) -> Outcome:
        if better not in o.races or worse not in o.races:
            return None
        a = [run.overall_success for run in o.races[better]]
        b = [run.overall_success for run in o.races[worse]]
        seen = f"episodes won over the race: {better} {np.mean(a):.0%} ({span(a)}), {worse} {np.mean(b):.0%} ({span(b)})"
        return float(np.mean(a)) > float(np.mean(b)), seen

    return check


CHECKS: dict[str, Check] = {
    "unique-optimal": Check("the studied state has exactly one optimal move", _unique_optimal),
    "unproposed-zero": Check("an action never proposed gets zero posterior", _unproposed_zero),
    "column-is-bayes": Check("the posterior column is k-share × likelihood, normalised", _column_is_bayes),
    "q-flat-before": Check("before learning Q is nearly flat", _q_flat_before),
    "q-separates": Check("after learning Q ranks the optimal move first, beyond its noise", _q_separates),
    "pull-grows": Check("learning grew Q's pull away from p_LLM", _pull_grows),
    "pull-beats-noise": Check("after learning Q's pull is larger than the sampling noise", _pull_beats_noise),
    "alpha-zero-is-prior": Check("at α = 0 the posterior is p_LLM", _alpha_zero_is_prior),
    "large-alpha-best-q": Check("at α = 100 the posterior puts its mass on the best Q", _large_alpha_best_q),
    "best-q-is-optimal": Check("the best Q is the optimal move, so a large α amplifies knowledge, not error", _best_q_is_optimal),
    "prior-favours-hole": Check("p_LLM favours the move into the hole over the way to the goal", _prior_favours_hole),
    "q-below-hole": Check("after training Q rates the hole below the way to the goal, beyond its noise", _q_below_hole),
    "posterior-leaves-hole": Check("the posterior moves mass from the hole to the way to the goal", _posterior_leaves_hole),
    "good-prior-sooner": Check(
        f"dqn-prior with a skilled oracle (S = {GOOD_ORACLE:+g}) finds the goal in fewer env steps than dqn",
        race_check(f"dqn-prior {skill_key(GOOD_ORACLE)}", "dqn"),
    ),
    "this-prior-not-sooner": Check(
        "dqn-prior with this run's prior finds the goal no sooner than dqn: this prior is too poor to help here",
        race_check("dqn", "dqn-prior", strictly=False),
    ),
    "skill-beats-control": Check(
        "a skilled oracle (S = +0.5) wins more than the uniform control (S = 0)", success_check("S=+0.5", "S=+0")
    ),
    "wrong-below-control": Check(
        "a wrong oracle (S = −0.5) wins less than the uniform control (S = 0)", success_check("S=+0", "S=-0.5")
    ),
}


def verdicts(names: Sequence[str], observations: Observations) -> list[Verdict]:
    out = []
    for name in names:
        check = CHECKS[name]
        outcome = check.run(observations)
        holds, seen = (bool(outcome[0]), outcome[1]) if outcome is not None else (None, "not run yet")
        out.append(Verdict(name, check.claim, holds, seen))
    return out


def lesson_checks(lesson: Lesson) -> list[str]:
    """Every check the lesson's pages name, in page order."""
    return list(dict.fromkeys(name for page in lesson.pages for name in page.checks))


# ----- driving a lesson -------------------------------------------------------------------


class LessonRun:
    """A lesson's engine: one controller per agent it shows (its rivals, else its one agent), plus one per
    extra seed of a race; the state it studies; and what it has seen. Every method may block (a worker's job)."""

    def __init__(
        self,
        lesson: Lesson,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
    ) -> None:
        self.lesson = lesson
        self.base = config
        self.saves_dir = saves_dir
        self.builders = builders
        self.controllers = {agent: self._controller(agent) for agent in lesson.rivals or (lesson.agent,)}
        self.controller = self.controllers[lesson.agent]
        self.seeds = [config.run.seed + offset for offset in range(lesson.seeds)]
        self.observations = Observations()
        self.study_state: TextState | None = None

    def _controller(self, agent: str, seed: int | None = None) -> SessionController:
        return SessionController(
            lesson_config(self.lesson, self.base, agent, seed),
            saves_dir=self.saves_dir,
            builders=self.builders,
            record_episodes=False,
        )

    def build(self) -> None:
        for controller in self.controllers.values():
            controller.build()

    def close(self) -> None:
        for controller in self.controllers.values():
            controller.close()

    # ----- the studied state ------------------------------------------------------------

    def reach_study(self) -> TextState:
        """A fresh episode walked to the studied state (no learning); its Q is traced during training."""
        state = self.controller.reach(self.lesson.probe)
        if self.observations.trace is None:
            self.observations.trace = QTrace(state, state.actions)
        return state

    def study(self, label: str) -> Study:
        """Decide at the studied state and keep it under `label` ("before" or "after" training)."""
        self.reach_study()
        decision = self.controller.decide()
        result = self.make_study(decision)
        self.observations.studies[label] = result
        return result

    def make_study(self, decision: Decision) -> Study:
        session = self.controller.session
        assert session is not None
        explanation = explain(decision)
        rows = [row.action for row in explanation.rows]
        trace = self.observations.trace
        spread = trace.spread(rows) if trace is not None and trace.state.observation == decision_state(session) else None
        optimal = session.optimal_here() or ()
        holes = tuple(getattr(session.env.unwrapped, "moves_into_holes", lambda: ())())
        return Study(decision, explanation, optimal, holes, spread)

    # ----- training and races -----------------------------------------------------------

    def train(self, steps: int, should_stop: Callable[[], bool], on_progress: Callable[[str, LearningHistory, int], None]) -> None:
        """Train the lesson's agent live, snapshotting Q at the studied state every TRACE_EVERY steps."""
        controller = self.controller
        trace = self.observations.trace
        done = {"steps": 0}

        def on_step(_record: object) -> None:
            done["steps"] += 1
            if done["steps"] % TRACE_EVERY == 0:
                if trace is not None:
                    trace.snapshots.append(controller.agent.q_for_actions(trace.state, trace.actions))
                on_progress(self.lesson.agent, controller.history.copy(), done["steps"])

        controller.train(steps, on_step, should_stop)
        on_progress(self.lesson.agent, controller.history.copy(), steps)

    def race(
        self,
        runners: Mapping[str, RunConfig | None],
        steps: int,
        should_stop: Callable[[], bool],
        on_progress: Callable[[str, dict[str, list[SeedRun]]], None],
        chunk: int = 25,
    ) -> None:
        """Race each runner (a name and the config it trains with; None: the lesson's controller of that agent) over
        the lesson's seeds for `steps` env steps, by turns of `chunk` steps; keeps each runner's SeedRuns."""
        controllers: dict[str, list[SessionController]] = {}
        for name, config in runners.items():
            controllers[name] = []
            for seed in self.seeds:
                if config is None:
                    own = seed == self.base.run.seed  # the lesson's own controller: its live plots show this seed
                    controller = self.controllers[name] if own else self._controller(name, seed)
                    controller.build()
                else:
                    controller = self._controller(config.run.agent, seed)
                    controller.build(replace(config, run=replace(config.run, seed=seed), dqn=replace(config.dqn, seed=seed)))
                controllers[name].append(controller)
        partial = dict(self.observations.races)  # a race stopped half-way is shown, never checked
        try:
            for done in range(0, steps, chunk):
                size = min(chunk, steps - done)
                for name, per_seed in controllers.items():
                    for controller in per_seed:
                        controller.train(size, lambda _record: None, should_stop)
                    partial[name] = [SeedRun.of(seed, steps, controller.history) for seed, controller in zip(self.seeds, per_seed)]
                    on_progress(name, partial)
            self.observations.races.update({name: partial[name] for name in controllers})
        finally:
            for per_seed in controllers.values():
                for controller in per_seed:
                    if controller not in self.controllers.values():
                        controller.close()

    def race_runners(self) -> dict[str, RunConfig | None]:
        """A page's race: the lesson's rivals, and dqn-prior with a skilled oracle when the lesson adds one."""
        runners: dict[str, RunConfig | None] = {agent: None for agent in self.lesson.rivals}
        if self.lesson.oracle_rival is not None:
            alpha = self.controllers[PRIOR_AGENT].config.dqn.alpha
            runners[f"{PRIOR_AGENT} {skill_key(self.lesson.oracle_rival)}"] = oracle_config(self, self.lesson.oracle_rival, alpha)
        return runners

    def verdicts(self, names: Sequence[str]) -> list[Verdict]:
        return verdicts(names, self.observations)


# ----- the prior-strength lesson's runners -----------------------------------------------

PRIOR_AGENT, REFERENCE = "dqn-prior", "dqn"  # the prior-strength lesson's rivals
CONTROL_SKILL = 0.0  # the oracle that says nothing: dqn-prior's cost of acting among proposals, without knowledge
START_SKILL = 0.5
WRONG_SKILL = -0.5
START_ALPHA = 10.0  # the paper's


def oracle_config(run: LessonRun, skill: float, alpha: float) -> RunConfig:
    """DQN-Prior's config with the oracle at `skill` as its prior and α as its posterior's inverse temperature."""
    config = run.controllers[PRIOR_AGENT].config
    return replace(config, prior=replace(config.prior, model=oracle_model(skill)), dqn=replace(config.dqn, alpha=alpha))


def never() -> bool:
    return False


def check_lesson(lesson: Lesson, config: RunConfig, *, saves_dir: Path = Path("saves"), steps: int | None = None) -> list[Verdict]:
    """Walk a lesson's pages headless, doing what each page does on screen, and check every claim they make."""
    run = LessonRun(lesson, config, saves_dir=saves_dir)
    try:
        run.build()
        if lesson.screen == "strength":
            race_steps = steps or lesson.pages[0].steps
            runners: dict[str, RunConfig | None] = {REFERENCE: None}
            for skill in (CONTROL_SKILL, START_SKILL, WRONG_SKILL):
                runners[skill_key(skill)] = oracle_config(run, skill, START_ALPHA)
            run.race(runners, race_steps, never, lambda *_: None)
        else:
            run.reach_study()
            for page in lesson.pages:
                if page.action == "study":
                    run.study(page.study)
                elif page.action == "train":
                    run.train(steps or page.steps, never, lambda *_: None)
                elif page.action == "compare":
                    run.race(run.race_runners(), steps or page.steps, never, lambda *_: None)
        return run.verdicts(lesson_checks(lesson))
    finally:
        run.close()


def decision_state(session: object) -> str:
    state = getattr(session, "state", None)
    return state.observation if state is not None else ""
