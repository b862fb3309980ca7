"""Helpers for the UI tests: a fast config, a message recorder, and waiting for the engine."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from textual._context import message_hook
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.worker import WorkerFailed, WorkerState

from agents.dqn import DQNConfig
from agents.ppo import PPOConfig
from agents.prior.config import PriorConfig
from sandbox.engine.config import RunConfig, RunSettings
from sandbox.ui.jobs import JobRunner
from sandbox.ui.widgets.learning_pane import LearningPane


def posterior_by_hand(prior: Sequence[float], q: Sequence[float], alpha: float) -> list[float]:
    """p(a)·exp(α·Q(a)) / Σ_b p(b)·exp(α·Q(b)), written out here so a UI test's expectation does not come
    from agents.bayes, the code under test (exponents shifted by the largest Q, which cancels)."""
    top = max(q)
    weights = [p * math.exp(alpha * (value - top)) for p, value in zip(prior, q)]
    return [weight / sum(weights) for weight in weights]


def fast_config(agent: str = "dqn-prior", prior: PriorConfig | None = None, **run: object) -> RunConfig:
    """Hash features, learning from the fourth step, fixed seeds: fast and deterministic."""
    return RunConfig(
        run=RunSettings(agent=agent, seed=0, **run),
        dqn=DQNConfig(features="hash", learning_starts=4, batch_size=8, epsilon_decay_steps=200, seed=0),
        ppo=PPOConfig(features="hash", rollout_steps=8, minibatches=2, seed=0),
        prior=prior or PriorConfig(model="uniform", cache_path=None),
    )


class Messages:
    """Every message any pump in the app received (pass `.hook` as run_test's message_hook)."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def hook(self, message: Message) -> None:
        self.seen.append(message)

    def of(self, kind: type[Message]) -> list:
        return [message for message in self.seen if isinstance(message, kind)]


@contextmanager
def recording(messages: Messages) -> Iterator[None]:
    """What run_test's `message_hook` does, for an app that snap_compare runs (it takes no hook): set before
    the app starts, the hook is in the context every message pump's task copies."""
    token = message_hook.set(messages.hook)
    try:
        yield
    finally:
        message_hook.reset(token)


def _engine_pending(app: App) -> bool:
    """A worker running, or an engine job whose end the app has not handled yet (it may start a queued job)."""
    runners = [getattr(node, "jobs", None) for node in (app, app.screen)]
    return any(worker.state in (WorkerState.PENDING, WorkerState.RUNNING) for worker in app.workers) or any(
        isinstance(runner, JobRunner) and not runner.idle for runner in runners
    )


async def settle(pilot: Pilot) -> None:
    """Let every engine job (and any job queued behind it) finish, and the screen take in its messages."""
    await pilot.pause()  # until idle: a key's messages may bubble through several widgets before a job starts
    while _engine_pending(pilot.app):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerFailed:
            pass  # the app turns the error into a notification; the test asserts on that
        await pilot.pause(0)
    await pilot.pause(0)


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    waited = 0.0
    while not condition():
        assert waited < timeout, "condition not reached in time"
        await pilot.pause(0.05)
        waited += 0.05


async def plots_drawn(pilot: Pilot) -> None:
    """Wait for every learning pane on the screen stack to redraw what it was last given (a timer redraws
    twice a second), then for the repaint: a snapshot shows the plots of the state it was taken at."""
    panes = [pane for screen in pilot.app.screen_stack for pane in screen.query(LearningPane)]
    await wait_until(pilot, lambda: not any(pane._stale for pane in panes))
    await pilot.pause()
