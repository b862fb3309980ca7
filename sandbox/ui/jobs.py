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

from sandbox.ui.engine import Cancelled
from sandbox.ui.messages import EngineBusy

Job = Callable[[Worker], None]


class JobRunner:
    """Runs jobs as thread workers of `node`; the node forwards `Worker.StateChanged` to `state_changed`."""

    def __init__(self, node: DOMNode, on_finished: Callable[[WorkerState], None]) -> None:
        self.node = node
        self.on_finished = on_finished
        self.worker: Worker | None = None
        self.queued: tuple[str, Job] | None = None

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

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
