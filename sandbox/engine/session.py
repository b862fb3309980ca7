"""The session engine: env + agent (+ its prior), advanced one step at a time.

The Textual UI and the headless trainer both drive this class, so a step a person
watches and a step in training are the same code. It knows nothing of widgets or
progress bars: it turns env output into text states, asks the agent for a
decision, steps the env, lets the agent learn, and returns a `StepRecord`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import Agent
from agents.decision import ActingSettings, Candidate, Decision, TextState
from agents.errors import AgentError
from agents.prior.types import reads_optimal_actions
from envs.optimal import OptimalActionsUnknown, optimal_actions
from sandbox.errors import SandboxError


LIVE_ACTING = tuple(item.name for item in fields(ActingSettings) if item.name != "acts_on")  # what acts_on decides stays


@dataclass(frozen=True)
class StepRecord:
    """Everything that happened in one step, for logs, replays and the UI."""

    episode: int
    t: int  # steps taken in this episode, this one included
    state: TextState
    decision: Decision
    reward: float
    next_state: TextState
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    learn_stats: dict[str, float] = field(default_factory=dict)
    episode_return: float = 0.0

    @property
    def action(self) -> str:
        return self.decision.action

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @property
    def won(self) -> bool:
        return bool(self.info.get("won", False))


def text_state(
    family: str,
    observation: str,
    info: dict[str, Any],
    history: tuple[tuple[str, str], ...],
    optimal: tuple[str, ...] | None = None,
) -> TextState:
    """Turn the env's (observation, info) into the agent's text state (with the env's optimal actions, if given)."""
    return TextState(
        family=family,
        task=str(info.get("task", "")),
        observation=str(observation).strip(),
        actions=tuple(info.get("admissible_commands", ())),
        history=history,
        optimal=optimal,
    )


class Session:
    """One env and one agent, stepped by a person (UI) or a loop (training, evaluation)."""

    def __init__(
        self,
        env: gym.Env,
        agent: Agent,
        *,
        family: str,
        seed: int = 0,
        history_length: int = 0,
        learn: bool = True,
        act_rng: np.random.Generator | None = None,
        track_optimal: bool | None = None,
    ) -> None:
        self.env = env
        self.agent = agent
        self.family = family
        # Attach the env's optimal actions to every state: by default only when the agent's prior reads them (the oracle).
        self.track_optimal = reads_optimal_actions(getattr(agent, "prior", None)) if track_optimal is None else track_optimal
        self.seed = seed
        self.learn = learn
        self.act_rng = act_rng  # None: the agent's own RNG (training); evaluation passes a private one
        self.episode = 0  # episodes started
        self.episode_seed: int | None = None  # the current episode's reset seed: with its actions, it replays the episode
        self.total_steps = 0
        self.t = 0
        self.episode_return = 0.0
        self.state: TextState | None = None
        self.info: dict[str, Any] = {}
        self.done = True
        self._history: deque[tuple[str, str]] = deque(maxlen=history_length)
        self._decision: Decision | None = None  # the decision for the current state, computed once, kept until the step
        self.episode_actions: list[str] = []  # the actions of the current episode, for mid-episode resume
        # A step the env took but the agent has not learnt from: its learning was cut off (the prior's server
        # went away, Ctrl-C while waiting for it). `finish_step` completes it; a checkpoint carries it.
        self.unlearned: StepRecord | None = None

    def reset(self, seed: int | None = None) -> TextState:
        """Start the next episode; by default episode i uses seed `seed + i`, so runs replay exactly."""
        episode_seed = self.seed + self.episode if seed is None else seed
        observation, info = self.env.reset(seed=episode_seed)
        self.episode_seed = episode_seed
        self.episode += 1
        self.t = 0
        self.episode_return = 0.0
        self._history.clear()
        self.episode_actions = []
        self.unlearned = None  # a new episode leaves an unfinished step behind
        self.info = dict(info)
        self.state = text_state(self.family, observation, info, (), self._optimal())
        self.done = False
        self._decision = None
        return self.state

    @property
    def acting(self) -> ActingSettings:
        """How the agent acts now (α, k, eval_k, the acting rules, the prior's mode and floor).

        The agent holds the value and reads it on every decision, and this session is the only one to
        replace it (`update_acting`); each Decision carries the one it was made under. The user's config
        is never written to: a run's config.toml stays what was asked for.
        """
        return self.agent.acting

    def update_acting(self, **changes: Any) -> ActingSettings:
        """A new frozen ActingSettings with `changes`, validated, handed to the agent (and to its prior, whose
        mode and floor are applied where it answers); the next decision is made under it. A change of k, the
        prior's mode or floor draws new proposals by itself; one of α re-weighs the ones drawn."""
        unknown = sorted(set(changes) - set(LIVE_ACTING))
        if unknown:
            raise SandboxError(f"{', '.join(unknown)} is not a live acting setting; those are {', '.join(LIVE_ACTING)}")
        try:
            acting = replace(self.acting, **changes)
        except AgentError as error:
            raise SandboxError(str(error)) from None
        prior = self.agent.prior
        if (acting.prior_mode, acting.floor) != (self.acting.prior_mode, self.acting.floor):
            if prior is None or acting.prior_mode is None:
                raise SandboxError(f"the {self.agent.name} agent has no prior whose mode or floor could change")
            # The prior's own copy of its config (its variant applied), replaced: the run's config is left alone.
            prior.config = replace(prior.config, mode=acting.prior_mode, epsilon=acting.floor)
        self.agent.acting = acting
        self._decision = None
        return acting

    def decide(self, *, greedy: bool = False) -> Decision:
        """The agent's decision for the current state, computed once and kept until the step."""
        if self.state is None or self.done:
            raise SandboxError("the episode is over; start a new one first")
        if self._decision is None:
            self._decision = self.agent.act(self.state, greedy=greedy, rng=self.act_rng)
        return self._decision

    def preview(self, *, greedy: bool = False, redraw: bool = False) -> Decision:
        """Recompute the decision on the current state without stepping.

        The agent keeps its draw of proposals for this state (see `update_acting`); `redraw=True`
        asks the prior again after what the settings do not show changed (a prompt template).
        """
        self._decision = None
        if redraw:
            self.agent.forget_proposals()
        return self.decide(greedy=greedy)

    def step(self, action: str | None = None, *, greedy: bool = False) -> StepRecord:
        """Take the agent's action, or `action` typed by a person (recorded with rule "human")."""
        decision = self.decide(greedy=greedy)
        if action is not None:
            decision = human_decision(decision, action)
        assert self.state is not None
        state = self.state
        next_state, reward, terminated, truncated = self._advance(decision.action)
        self.total_steps += 1
        self.unlearned = StepRecord(
            episode=self.episode,
            t=self.t,
            state=state,
            decision=decision,
            reward=reward,
            next_state=next_state,
            terminated=terminated,
            truncated=truncated,
            info=self.info,
            episode_return=self.episode_return,
        )
        return self.finish_step()

    def finish_step(self) -> StepRecord:
        """Let the agent learn from the step the env took (`unlearned`) and return its record. Learning may ask
        the prior (DQN-Prior draws at s'); if that fails, the step stays unlearned and this can be called again,
        also after a checkpoint carrying it was restored."""
        record = self.unlearned
        assert record is not None, "no step waits for its learning"
        stats: dict[str, float] = {}
        if self.learn:
            stats = self.agent.learn(record.state, record.action, record.reward, record.next_state, record.terminated)
        elif self.act_rng is None:
            # The agent's draw was this step's (a learner moves on to a draw at s' itself); branches and
            # evaluations act with a private RNG and never touch the agent's draw.
            self.agent.forget_proposals()
        self.unlearned = None
        return replace(record, learn_stats=stats)

    def play(self, action: str | None = None, *, greedy: bool = False) -> StepRecord:
        """A step of play that runs on across episodes: once an episode is over, the next one
        starts (`reset`) and its first step is taken. The trainer, the UI and the benchmarks play this way."""
        if self.done:
            self.reset()
        return self.step(action, greedy=greedy)

    def _advance(self, action: str) -> tuple[TextState, float, bool, bool]:
        """Step the env and the episode's bookkeeping (no agent involved)."""
        assert self.state is not None
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        self.episode_return += float(reward)
        self.episode_actions.append(action)
        # (a, o) pairs: each action with the observation it was taken at, so the history of s'
        # ends with the action that led to s' and reads as a transcript.
        self._history.append((action, self.state.observation))
        self.state = text_state(self.family, observation, info, tuple(self._history), self._optimal())
        self.info = dict(info)
        self.done = bool(terminated or truncated)
        self._decision = None
        return self.state, float(reward), bool(terminated), bool(truncated)

    def optimal_here(self) -> tuple[str, ...] | None:
        """O at the env's current state, or None when the env cannot name it (shown in the UI, never acted on)."""
        try:
            return optimal_actions(self.env)
        except OptimalActionsUnknown:
            return None

    def _optimal(self) -> tuple[str, ...] | None:
        """O at the env's current state when tracked; an env that cannot say stops the run with its reason."""
        if not self.track_optimal:
            return None
        try:
            return optimal_actions(self.env)
        except OptimalActionsUnknown as error:
            raise SandboxError(f"the optimal actions are unknown: {error}") from None

    def replay_actions(self, actions: list[str]) -> None:
        """Re-enter an episode after a resume: re-apply its actions to the freshly reset env.

        Episodes are deterministic given their reset seed, so this restores the exact env
        state a checkpoint taken mid-episode left, without asking the agent anything.
        """
        for action in actions:
            self._advance(action)

    def run_episode(
        self,
        *,
        greedy: bool = False,
        seed: int | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
    ) -> list[StepRecord]:
        self.reset(seed=seed)
        records = []
        while not self.done:
            records.append(self.step(greedy=greedy))
            if on_step is not None:
                on_step(records[-1])
        return records


def human_decision(agent_decision: Decision, action: str) -> Decision:
    """A person's action keeps the agent's numbers on screen but records who chose."""
    known = agent_decision.candidate(action) is not None
    candidates = agent_decision.candidates if known else agent_decision.candidates + (
        Candidate(action=action, prior=0.0, q_value=None, likelihood=None, posterior=0.0),
    )
    return replace(agent_decision, action=action, candidates=candidates, rule="human")
