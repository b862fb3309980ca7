"""One engine job at a time, in a thread worker, for the main screen and the lessons alike.

A request made while a job runs waits for it (only the latest waiting request is kept,
so holding a key does not pile up work); escape cancels the running job. Errors become
notifications, never a traceback on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState, get_current_worker

from agents.decision import Decision
from sandbox.engine.session import StepRecord
from sandbox.ui.controller import Cancelled, SessionController
from sandbox.ui.messages import Barrier, DecisionReady, EngineBusy, EpisodeEnded, EpisodeStarted, StepTaken

Job = Callable[[Worker], None]


class JobRunner:
    """Runs jobs as thread workers of `node`; the node forwards `Worker.StateChanged` to `state_changed`."""

    def __init__(self, node: DOMNode, on_finished: Callable[[WorkerState], None]) -> None:
        self.node = node
        self.on_finished = on_finished
        self.worker: Worker | None = None
        self.queued: tuple[str, Job] | None = None
        self._reported: Worker | None = None  # the last worker whose end reached `on_finished`

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @property
    def idle(self) -> bool:
        """Nothing running, nothing waiting, and the last job's end handled: its worker thread may be done
        before the node has the state message that reports it and starts the waiting request."""
        return self.queued is None and self.worker is self._reported

    def submit(self, label: str, job: Job) -> None:
        """Run `job` now, or right after the running one (the latest waiting request wins)."""
        if self.busy:
            self.queued = (label, job)
            return
        self.worker = self.node.run_worker(
            lambda: self._run(job), name=label, group="engine", thread=True, exit_on_error=False
        )

    @staticmethod
    def _run(job: Job) -> None:
        try:
            job(get_current_worker())
        except Cancelled:
            pass

    def cancel(self) -> bool:
        """Cancel the running job and drop the waiting one; True if something was running."""
        self.queued = None
        if not self.busy:
            return False
        self.worker.cancel()
        return True

    def state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        if event.state == WorkerState.ERROR:
            self.queued = None
            error = event.worker.error
            self.node.log.error(repr(error))
            self.node.notify(str(error) or type(error).__name__, title=f"{event.worker.name} failed", severity="error")
        if event.state == WorkerState.CANCELLED:
            self.queued = None
        self._reported = event.worker
        self.on_finished(event.state)
        if self.queued is not None:
            label, job = self.queued
            self.queued = None
            self.submit(label, job)

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """Announce a possibly slow engine call (from the worker thread), so a spinner shows while it runs."""
        self.node.post_message(EngineBusy(label))
        try:
            yield
        finally:
            self.node.post_message(EngineBusy(None))


class PlayJobs:
    """The engine jobs the main screen and the lessons share: start an episode, decide, step. Each runs
    in a worker of `node` and reports through typed messages posted to it."""

    def __init__(self, node: DOMNode, controller: SessionController, runner: JobRunner) -> None:
        self.node = node
        self.controller = controller
        self.runner = runner
        self.posted: Decision | None = None  # the decision last announced (written by the engine thread only)
        self.show_optimal = False  # decisions come with the env's optimal actions, marked in the table (key *)

    def llm_label(self) -> str:
        agent = self.controller.agent
        return "asking the LLM" if agent is not None and agent.prior is not None else "computing Q"

    def decide(self, worker: Worker, preview: bool = False) -> None:
        """The decision on the current state (recomputed after a settings change with `preview`), announced once."""
        with self.runner.phase(self.llm_label()):
            decision = self.controller.preview() if preview else self.controller.decide()
        if worker.is_cancelled:
            raise Cancelled
        if decision is not self.posted:  # a decision already on screen is not announced twice
            self.posted = decision
            self.node.post_message(DecisionReady(decision, preview=preview, optimal=self.optimal_if_shown()))

    def optimal_if_shown(self) -> tuple[str, ...] | None:
        """Engine thread: the env's optimal actions at the current state, when the table marks them."""
        return self.controller.optimal() if self.show_optimal else None

    def new_episode(self, worker: Worker) -> None:
        state = self.controller.new_episode()
        self.node.post_message(EpisodeStarted(self.controller.session.episode, state))
        self.wait_for_screen(worker)
        self.decide(worker)

    def wait_for_screen(self, worker: Worker) -> None:
        """Block until the screen has painted what was posted so far: an LLM call holds the CPU (and
        the GIL) for seconds, and without this the first observation appeared only with its decision.
        The node answers the Barrier after its next repaint."""
        barrier = Barrier()
        self.node.post_message(barrier)
        while not barrier.event.wait(0.02):
            if worker.is_cancelled:
                raise Cancelled

    def step(self, worker: Worker, action: str | None = None) -> StepRecord | None:
        """The agent's step (or `action`, a person's), then the next decision. After an episode's end it
        starts the next episode instead and returns None: its first state and decision show before a step."""
        session = self.controller.session
        if session is None or session.done:
            self.new_episode(worker)
            return None
        if action is None:
            self.decide(worker)
        record = self.controller.step(action)
        self.node.post_message(StepTaken(record))
        if record.done:
            self.node.post_message(EpisodeEnded(record.episode, record.t, record.episode_return, record.won))
        else:
            self.decide(worker)
        return record
