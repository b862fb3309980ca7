"""Running a trainer from a command: a progress bar, a clean stop on Ctrl-C, the result printed."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from sandbox.arguments import print_json


class StopAtStepBoundary:
    """Ctrl-C (or SIGTERM) during training asks it to stop after the current step.

    A KeyboardInterrupt raised wherever the signal lands can fall between the env step and
    the agent's learning, and the checkpoint saved on the way out would then resume into a
    different run; stopping between steps (between epochs for offline training) keeps it
    exact. A second Ctrl-C stops at once, without saving: the last checkpoint is kept.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopAtStepBoundary":
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Called at step and epoch boundaries: raise there once a stop was asked for."""
        if self.requested:
            raise KeyboardInterrupt


def run_trainer(trainer: "Trainer", args: argparse.Namespace) -> int:  # noqa: F821
    """Train with a progress bar; Ctrl-C saves a checkpoint first, and so does a prior server that stayed
    away too long (with the command that resumes); print the result (or --json)."""
    from sandbox.errors import SandboxError
    from sandbox.prior_service.outage import PriorUnavailable, outage_watch
    from sandbox.engine.progress import TrainingProgress

    progress = TrainingProgress(trainer, enabled=not args.quiet and not args.json)
    stop = StopAtStepBoundary()
    watch = outage_watch(getattr(trainer.agent, "prior", None))
    if watch is not None:

        def on_outage(message: str | None) -> None:
            progress.show_outage(message)
            stop.check()  # Ctrl-C while waiting for the server: stop now (the step is saved unfinished)

        watch.listener = on_outage

    def on_step(record: Any) -> None:
        progress.on_step(record)
        stop.check()

    def on_epoch(row: dict[str, float]) -> None:
        progress.on_epoch(row)
        if not trainer.finished:  # a run that just finished has saved its final checkpoint
            stop.check()

    try:
        with stop, progress:
            trainer.run(on_epoch=on_epoch, on_step=on_step)
    except PriorUnavailable as error:
        folder = trainer.save_checkpoint()  # mid-step is fine: the step's unfinished learning is saved with it
        raise SandboxError(
            f"{error}; checkpoint saved at step {trainer.steps_done} ({folder.name}): once the server is back, "
            f"continue with `python -m sandbox train --resume {trainer.run_dir}`"
        ) from None
    except KeyboardInterrupt:
        if stop.forced:
            print(f"interrupted twice: stopped without saving; --resume {trainer.run_dir} continues from its last checkpoint")
            return 130
        folder = trainer.save_checkpoint()
        print(f"interrupted: checkpoint saved to {folder}; continue with --resume {trainer.run_dir}")
        return 130
    finally:
        trainer.close()
    if args.json:
        print_json({"run": str(trainer.run_dir), **(trainer.metrics[-1] if trainer.metrics else {})})
    else:
        print(f"run saved in {trainer.run_dir} (metrics.csv, tb/, checkpoints/)")
    return 0
