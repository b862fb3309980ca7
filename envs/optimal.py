"""The optimal admissible actions O at an env's current state, or a clear "unknown".

O is what `bench prior-quality` measures a prior against and what the oracle prior knows.
An env that can compute it offers `optimal_actions(along_walkthrough=False)`, returning O in
the order of its admissible commands (empty once the episode is over):

- Frozen Lake: every move on a shortest path over safe ice (breadth-first); on a slippery
  lake every move of maximal value (value iteration, gamma = 0.99).
- Overcooked: every macro-action that starts a shortest plan to a correct delivery
  (breadth-first over the kitchen's states).
- TextWorld games with a winning policy (coin collector, treasure hunter, cooking): the next
  command of TextWorld's policy (`policy_commands`) from this state; it re-plans after detours.
- TextWorld games whose quests give win conditions only (household, and such game files):
  every command that starts a shortest winning plan (breadth-first over the game's logic
  state, envs/textworld_plans.py), from any state.
- ALFWorld's games (PDDL): the next command of the Fast Downward planner's plan from this
  state, planned on demand and cached per state (envs/alfworld_env.py).
- TextWorldExpress, ScienceWorld and TextWorld games without quests know a gold path from
  the start only: with `along_walkthrough=True` its next command, while the episode has
  followed it; otherwise `OptimalActionsUnknown` says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from envs.errors import EnvError

State = TypeVar("State", bound=Hashable)


class OptimalActionsUnknown(EnvError):
    """The env cannot name its optimal actions here; the message says what is missing."""


def optimal_actions(env: Any, *, along_walkthrough: bool = False) -> tuple[str, ...]:
    """O at `env`'s current state (any wrapper around one of this package's envs)."""
    base = getattr(env, "unwrapped", env)
    method = getattr(base, "optimal_actions", None)
    if method is None:
        raise OptimalActionsUnknown(
            f"{type(base).__name__} cannot compute its optimal actions (no shortest path, policy or gold path)"
        )
    return tuple(method(along_walkthrough=along_walkthrough))


def in_action_order(optimal: Iterable[str], actions: Sequence[str]) -> tuple[str, ...]:
    chosen = set(optimal)
    return tuple(action for action in actions if action in chosen)


def first_steps_of_shortest_paths(
    start: State,
    successors: Callable[[State], Iterable[tuple[str, State]]],
    is_goal: Callable[[State], bool],
) -> frozenset[str] | None:
    """Every action that begins some shortest path from `start` to a goal; None when no goal is reachable.

    Breadth-first, layer by layer: each state found carries the first actions of all the
    shortest paths that reach it, so one search answers for every action at once.
    """
    first: dict[State, set[str]] = {}
    for action, after in successors(start):
        if after != start:
            first.setdefault(after, set()).add(action)
    seen = {start, *first}
    layer = list(first)
    while layer:
        goals = [state for state in layer if is_goal(state)]
        if goals:
            return frozenset().union(*(first[state] for state in goals))
        following: dict[State, set[str]] = {}
        for state in layer:
            for _, after in successors(state):
                if after not in seen:
                    following.setdefault(after, set()).update(first[state])
        seen.update(following)
        first.update(following)
        layer = list(following)
    return None


def state_values(
    states: Iterable[int],
    moves: Callable[[int], Iterable[int]],
    transitions: Callable[[int, int], Iterable[tuple[float, int, float, bool]]],
    gamma: float,
    tolerance: float = 1e-12,
    max_sweeps: int = 100_000,
) -> dict[int, float]:
    """V*(s) by value iteration; `transitions(s, a)` lists (probability, next state, reward, terminated)."""
    values = dict.fromkeys(states, 0.0)
    for _ in range(max_sweeps):
        change = 0.0
        for state in values:
            actions = list(moves(state))
            if not actions:
                continue
            best = max(action_value(state, action, values, transitions, gamma) for action in actions)
            change = max(change, abs(best - values[state]))
            values[state] = best
        if change < tolerance:
            break
    return values


def action_value(
    state: int,
    action: int,
    values: dict[int, float],
    transitions: Callable[[int, int], Iterable[tuple[float, int, float, bool]]],
    gamma: float,
) -> float:
    return sum(p * (reward + (0.0 if done else gamma * values[after])) for p, after, reward, done in transitions(state, action))


def same_command(left: str, right: str) -> bool:
    return " ".join(left.lower().split()) == " ".join(right.lower().split())


def next_walkthrough_command(
    walkthrough: Sequence[str] | None, taken: Sequence[str], admissible: Sequence[str], source: str
) -> tuple[str, ...]:
    """The walkthrough's next command as O while the episode has followed it, else `OptimalActionsUnknown`."""
    if not walkthrough:
        raise OptimalActionsUnknown(f"{source} has no walkthrough to take optimal actions from")
    for step, (command, expected) in enumerate(zip(taken, walkthrough), start=1):
        if not same_command(command, expected):
            raise OptimalActionsUnknown(
                f"{source}: the episode left the walkthrough at step {step} ({command!r} instead of {expected!r});"
                " optimal actions are known only along it"
            )
    if len(taken) >= len(walkthrough):
        raise OptimalActionsUnknown(f"{source}: the walkthrough is finished but the episode is not")
    expected = walkthrough[len(taken)]
    matches = tuple(action for action in admissible if same_command(action, expected))
    if not matches:
        raise OptimalActionsUnknown(f"{source}: the walkthrough's next command {expected!r} is not admissible here")
    return matches
