"""What-if branches: fork the episode at the current step, play the fork beside the agent, keep or discard it.

A fork starts two branches at the main session's current state, each a `Session` of the
same agent on an env of its own: "main", where the agent plays on as it would, and
"fork", where a person takes another action. Both reach the fork point the same way for
every env: reset with the episode's seed, then replay the episode's actions. Our envs
are seeded, so this is exact — each branch checks it, its state must equal main's — and
one code path serves TextWorld, Frozen Lake and Overcooked alike, where copying state
would need a copy routine per env. It costs an env build and reset plus the prefix, per
branch: for TextWorld about 90 ms + 15 ms a step on a busy 2-core machine (a 20-step fork
took 0.8 s for both branches), for Frozen Lake and Overcooked a few ms in all.

Branches act with private RNGs and learn only when asked, so after a discarded fork the
agent (its replay buffer, counters and randomness) is exactly as it was. A kept fork
becomes the main session from the fork point on. This module knows nothing of the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import gymnasium as gym
import numpy as np

from agents.decision import Decision
from sandbox.errors import SandboxError
from sandbox.engine.session import Session, StepRecord, human_decision

BRANCHES = ("main", "fork")


@dataclass
class Branch:
    """One line of play from the fork point: its session and the steps taken since."""

    name: str
    session: Session
    next_decision: Decision | None = None  # main's decision at the fork point: what the first step acts on
    records: list[StepRecord] = field(default_factory=list)

    def decide(self) -> Decision:
        return self.next_decision if self.next_decision is not None else self.session.decide()

    def step(self, action: str | None = None) -> StepRecord:
        """The agent's action, or `action` chosen by a person; the first step keeps main's numbers on screen."""
        planned, self.next_decision = self.next_decision, None
        if planned is None:
            record = self.session.step(action)
        else:
            record = self.session.step(planned.action if action is None else action)
            record = replace(record, decision=planned if action is None else human_decision(planned, action))
        self.records.append(record)
        return record

    @property
    def gained(self) -> float:
        """Reward collected since the fork point."""
        return sum(record.reward for record in self.records)

    @property
    def outcome(self) -> str:
        """"running", "won", "lost" or "out of steps"."""
        if not self.records or not self.records[-1].done:
            return "running"
        last = self.records[-1]
        return "won" if last.won else "lost" if last.info.get("lost") else "out of steps"


@dataclass
class Fork:
    """The two branches from one fork point of episode `episode`, after `at` steps."""

    episode: int
    at: int
    actions: tuple[str, ...]  # the episode's actions up to the fork point
    main: Branch
    fork: Branch

    def branch(self, name: str) -> Branch:
        if name not in BRANCHES:
            raise SandboxError(f"a fork has the branches {', '.join(BRANCHES)}, not {name!r}")
        return self.main if name == "main" else self.fork

    @property
    def learn(self) -> bool:
        """Whether steps in the fork enter the replay buffer (off unless the person says so)."""
        return self.fork.session.learn

    def close(self, *, keep_fork_env: bool = False) -> None:
        self.main.session.env.close()
        if not keep_fork_env:
            self.fork.session.env.close()


def replay_branch(main: Session, env: gym.Env, history_length: int, rng: np.random.Generator) -> Session:
    """A session of main's agent on `env`, at main's current state: reset with the episode's seed, replay its actions."""
    branch = Session(
        env, main.agent, family=main.family, seed=main.seed, history_length=history_length, learn=False, act_rng=rng
    )
    branch.reset(seed=main.episode_seed)
    branch.replay_actions(list(main.episode_actions))
    if branch.state != main.state:
        env.close()
        raise SandboxError(
            f"replaying the episode's {main.t} actions from seed {main.episode_seed} did not reach the same state; "
            "forking needs an env that is deterministic given its seed"
        )
    branch.episode, branch.total_steps = main.episode, main.total_steps
    return branch


def check_forkable(main: Session) -> None:
    if main.state is None or main.done:
        raise SandboxError("the episode is over: start a new one (n) and fork it while it runs")


def start_fork(main: Session, decision: Decision, make_env: Callable[[], gym.Env], history_length: int) -> Fork:
    """Fork `main` at its current state; `decision` is main's decision there (both branches start from it)."""
    check_forkable(main)
    branches: list[Branch] = []
    try:
        for index, name in enumerate(BRANCHES):
            rng = np.random.default_rng([main.seed, main.episode, main.t, index])
            session = replay_branch(main, make_env(), history_length, rng)
            branches.append(Branch(name, session, next_decision=decision))
    except BaseException:
        for branch in branches:
            branch.session.env.close()
        raise
    return Fork(main.episode, main.t, tuple(main.episode_actions), *branches)


def check_keepable(main: Session, fork: Fork) -> None:
    """A fork replaces main from the fork point, so main must still be there."""
    if main.episode != fork.episode or tuple(main.episode_actions) != fork.actions:
        raise SandboxError(
            f"the main episode moved on since the fork at step {fork.at} of episode {fork.episode}; "
            "discard this fork (x) and fork again"
        )


def adopt(main: Session, fork: Fork) -> Session:
    """The fork's session, set up to carry on as main: main's learning switch and RNG, main's env closed."""
    check_keepable(main, fork)
    kept = fork.fork.session
    kept.learn, kept.act_rng = main.learn, main.act_rng
    fork.close(keep_fork_env=True)
    main.env.close()
    return kept
