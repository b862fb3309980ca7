"""`python -m sandbox watch RUN`: the learning dashboard of a run that `train` is writing, read-only.

A timer rereads the run folder — metrics.csv (one row per evaluation), episodes.csv (one row
per training episode) and the replay files in episodes/ — whenever they changed. Nothing is
written and no env, agent or model is loaded, so watching never slows or disturbs the run.
Enter on a recent episode opens it in the replay view.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from sandbox.engine.config import RunConfig, load_run_config
from sandbox.errors import SandboxError
from sandbox.engine.metrics import EPISODE_FIELDS
from sandbox.engine.replay_files import list_episodes, load_episode
from sandbox.engine.training import EPISODES
from sandbox.ui.controller import LearningHistory
from sandbox.ui.screens.replay import ReplayScreen
from sandbox.ui.widgets.learning_pane import LearningPane

RECENT_EPISODES = 50


def number(text: str | None) -> float:
    """A CSV cell as a float; empty (a column an older run lacks) is NaN."""
    return float(text) if text else float("nan")


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV's complete rows: `train` may be halfway through appending the last one."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def history_from_run(run_dir: Path) -> LearningHistory:
    """What the learning pane plots, from the CSVs `train` writes (the replay size is not logged)."""
    history = LearningHistory()
    for row in read_rows(run_dir / "episodes.csv"):
        metrics = {field: number(row.get(field)) for field in EPISODE_FIELDS}
        history.returns.append(metrics["return"])
        history.wins.append(metrics["success"])
        history.episode_rows.append({"episode": number(row["episode"]), "step": number(row["step"]), **metrics})
    for row in read_rows(run_dir / "metrics.csv"):
        step = int(number(row["step"]))
        metrics = {field: number(row.get(f"eval_{field}")) for field in EPISODE_FIELDS}
        history.eval_steps.append(step)
        history.eval_success.append(metrics["success"])
        history.eval_returns.append(metrics["return"])
        history.eval_rows.append({"step": step, **metrics})
        loss, epsilon = number(row.get("loss")), number(row.get("epsilon"))
        if not math.isnan(loss):
            history.loss_steps.append(step)
            history.losses.append(loss)
        if not math.isnan(epsilon):
            history.stat_steps.append(step)
            history.epsilons.append(epsilon)
    return history


def run_folder_config(run_dir: Path) -> RunConfig:
    if not (run_dir / "config.toml").is_file():
        raise SandboxError(
            f"{run_dir} is not a run folder (no config.toml); point watch at a folder `train --out` writes"
        )
    return load_run_config(run_dir / "config.toml")


@dataclass(frozen=True)
class RunSnapshot:
    """The run folder as last read."""

    history: LearningHistory
    episodes: list[Path]  # replay files, newest first
    step: int  # env steps of the newest training episode or evaluation
    updated: float  # modification time of the newest file read (seconds since the epoch)


def modified(path: Path) -> float:
    """Modification time, 0 for a file that is gone (`train` prunes old replay files at any moment)."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def read_run(run_dir: Path) -> RunSnapshot:
    history = history_from_run(run_dir)
    steps = [int(row["step"]) for row in history.episode_rows[-1:] + history.eval_rows[-1:]]
    updated = max(modified(run_dir / "metrics.csv"), modified(run_dir / "episodes.csv"))
    episodes = list_episodes(run_dir / EPISODES)
    episodes.sort(key=modified, reverse=True)  # training and evaluation files interleaved
    return RunSnapshot(history, episodes[:RECENT_EPISODES], max(steps, default=0), updated)


def folder_signature(run_dir: Path) -> tuple:
    """Changes whenever `train` appends a row or writes a replay file. Sizes and names, not only
    times: file times tick every few milliseconds, and two episodes can end within one tick."""
    sizes = []
    for name in ("metrics.csv", "episodes.csv"):
        try:
            status = (run_dir / name).stat()
            sizes.append((status.st_mtime_ns, status.st_size))
        except FileNotFoundError:
            sizes.append(None)
    return tuple(sizes), tuple(path.name for path in list_episodes(run_dir / EPISODES))


class WatchScreen(Screen[None]):
    """Follows a run folder: learning plots and metrics, and its newest episodes to replay."""

    def __init__(self, run_dir: Path, config: RunConfig, interval: float) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.config = config
        self.interval = interval
        self.snapshot = RunSnapshot(LearningHistory(), [], 0, 0.0)
        self._signature: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="watch-title")
        with Horizontal(id="watch-main"):
            yield LearningPane(id="watch-learning")
            yield OptionList(id="watch-episodes")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#watch-learning").border_title = "learning (read-only)"
        self.query_one("#watch-episodes").border_title = "recent episodes (enter replays)"
        self.poll()
        self.set_interval(self.interval, self.poll)

    def poll(self) -> None:
        """Reread the folder if anything in it changed; the title's age updates every time."""
        signature = folder_signature(self.run_dir)
        if signature != self._signature:
            self._signature = signature
            self.snapshot = read_run(self.run_dir)
            self.query_one(LearningPane).show(self.snapshot.history)
            self._show_episodes()
        self._show_title()

    def _show_title(self) -> None:
        run, snapshot = self.config.run, self.snapshot
        finished = snapshot.step >= run.steps
        state = "finished" if finished else f"updated {time.time() - snapshot.updated:.0f}s ago"
        self.query_one("#watch-title", Static).update(
            Text.assemble(
                ("watch ", "bold"),
                f"{self.run_dir} · {run.env} · {run.agent} · ",
                (f"step {snapshot.step}/{run.steps}", "bold"),
                f" · {len(snapshot.history.returns)} episodes · {len(snapshot.history.eval_steps)} evaluations · ",
                (state, "green" if finished else "dim"),
            )
        )

    def _show_episodes(self) -> None:
        options = self.query_one("#watch-episodes", OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option is not None else None
        options.clear_options()
        options.add_options([Option(path.stem, id=str(path)) for path in self.snapshot.episodes])
        ids = [str(path) for path in self.snapshot.episodes]
        if highlighted in ids:
            options.highlighted = ids.index(highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        try:
            episode = load_episode(Path(event.option.id))
        except SandboxError as error:  # pruned by `train` since the list was read
            self.notify(str(error), severity="warning")
            return
        self.app.push_screen(ReplayScreen(episode))


class WatchApp(App[None]):
    """`python -m sandbox watch`: the dashboard screen, with replays pushed over it."""

    CSS_PATH = "app.tcss"
    TITLE = "LLM-prior sandbox · watch"
    BINDINGS = [Binding("q", "quit", "quit")]

    def __init__(self, run_dir: Path, *, interval: float = 1.0) -> None:
        super().__init__()
        self.dashboard = WatchScreen(run_dir, run_folder_config(run_dir), interval)

    def get_default_screen(self) -> Screen:
        return self.dashboard
