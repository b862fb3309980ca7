"""A rich progress bar for headless training: episode, success, ε, LLM calls, cache hits."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sandbox.engine.session import StepRecord
from sandbox.engine.training import Trainer


class TrainingProgress:
    """Follows a Trainer through its callbacks; prints one line per evaluation."""

    def __init__(self, trainer: Trainer, enabled: bool = True) -> None:
        self.trainer = trainer
        self.enabled = enabled
        self.console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]train[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self._task = self._progress.add_task(
            "train", total=trainer.config.run.steps, completed=trainer.steps_done, status=""
        )

    def __enter__(self) -> "TrainingProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, value, tb)

    def show_outage(self, message: str | None) -> None:
        """The prior's server is down and waited for (`message`), or back (None): shown in the bar's status
        (the bar redraws itself while the training loop waits)."""
        if self.enabled:
            status = "" if message is None else f"[yellow]{escape(message)}[/]"
            self._progress.update(self._task, status=status)

    def on_step(self, record: StepRecord) -> None:
        if not self.enabled:
            return
        prior = getattr(self.trainer.agent, "prior", None)
        llm = f" llm {prior.stats.llm_calls} hit {prior.stats.cache_hits}" if prior else ""
        epsilon = record.learn_stats.get("epsilon")
        eps = f" ε {epsilon:.2f}" if epsilon is not None else ""
        last = self.trainer.metrics[-1]["eval_success"] if self.trainer.metrics else float("nan")
        status = f"ep {record.episode} eval {last:.0%}{eps}{llm}"
        self._progress.update(self._task, completed=self.trainer.steps_done, status=status)

    def on_epoch(self, row: dict[str, float]) -> None:
        """Offline training has no env steps, so its bar moves here: the count of gradient steps done."""
        if self.enabled:
            self._progress.update(self._task, completed=self.trainer.steps_done)
            self._progress.console.print(
                f"step {int(row['step']):>7}  eval success {row['eval_success']:.0%}  "
                f"return {row['eval_return']:.3f}  steps {row['eval_steps']:.1f}  loss {row['loss']:.4f}"
            )
