"""Typed messages the engine workers post to the app; panels update from them and tests assert on them.

Workers run in threads and post these with `App.post_message`, which is thread-safe,
so the UI thread alone touches widgets.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual.message import Message

from agents.decision import Decision, TextState
from sandbox.engine.config import RunConfig
from sandbox.engine.session import StepRecord
from sandbox.engine.training import EvalResult
from sandbox.ui.controller import LearningHistory
from sandbox.ui.lesson_checks import SeedRun, Study


class SessionReady(Message):
    """A session was built (start-up, env or agent switch, load)."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.config = config


class EpisodeStarted(Message):
    def __init__(self, episode: int, state: TextState) -> None:
        super().__init__()
        self.episode = episode
        self.state = state


class DecisionReady(Message):
    """The agent's decision on the current state; `preview` when recomputed without a step; `optimal`:
    the env's optimal actions there, when the table marks them (None: not asked, or the env cannot say)."""

    def __init__(self, decision: Decision, preview: bool = False, optimal: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.decision = decision
        self.preview = preview
        self.optimal = optimal


class OptimalShown(Message):
    """The env's optimal actions at the current state, asked for when the table's marks were switched on."""

    def __init__(self, optimal: tuple[str, ...] | None) -> None:
        super().__init__()
        self.optimal = optimal


class StepTaken(Message):
    def __init__(self, record: StepRecord) -> None:
        super().__init__()
        self.record = record

    @property
    def human(self) -> bool:
        return self.record.decision.rule == "human"


class EpisodeEnded(Message):
    def __init__(self, episode: int, steps: int, episode_return: float, won: bool) -> None:
        super().__init__()
        self.episode = episode
        self.steps = steps
        self.episode_return = episode_return
        self.won = won


class EvaluationDone(Message):
    def __init__(self, result: EvalResult, step: int) -> None:
        super().__init__()
        self.result = result
        self.step = step


class SessionSaved(Message):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class SessionLoaded(Message):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class EngineBusy(Message):
    """The engine started (label) or finished (None) a call that may take a while."""

    def __init__(self, label: str | None) -> None:
        super().__init__()
        self.label = label


class PriorOutage(Message):
    """The prior's server is down and being waited for (what the wait says), or back (None)."""

    def __init__(self, label: str | None) -> None:
        super().__init__()
        self.label = label


class Barrier(Message):
    """Handled after every message posted before it: a fast auto-play waits on it for the screen."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()


class StudyReady(Message):
    """A lesson's decision on the shown state, read as a Study (made in the engine thread, where the env is)."""

    def __init__(self, study: Study) -> None:
        super().__init__()
        self.study = study


class StateShown(Message):
    """A lesson moved to a state: the heading to show above its whole observation."""

    def __init__(self, heading: str, state: TextState) -> None:
        super().__init__()
        self.heading = heading
        self.state = state


class Trained(Message):
    """A lesson's live training moved on: a copy of its learning history after `done` steps."""

    def __init__(self, history: LearningHistory, done: int) -> None:
        super().__init__()
        self.history = history
        self.done = done


class RaceProgress(Message):
    """A lesson's race moved on: every runner's seeds so far, by runner name."""

    def __init__(self, races: dict[str, list[SeedRun]]) -> None:
        super().__init__()
        self.races = races


class SkillDialMoved(Message):
    """The prior-strength lesson's dial moved: the oracle prior's skill and DQN-Prior's α to race with next."""

    def __init__(self, skill: float, alpha: float) -> None:
        super().__init__()
        self.skill = skill
        self.alpha = alpha


class RaceFinished(Message):
    """A race at one (skill, α) ran its steps on every seed: every race finished so far, by runner name."""

    def __init__(self, skill: float, alpha: float, races: dict[str, list[SeedRun]]) -> None:
        super().__init__()
        self.skill = skill
        self.alpha = alpha
        self.races = races
