"""`python -m sandbox replay`: the UI's replay view on its own, over one replay file or a folder of
them. It reads files only: no env, agent or model is built."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from sandbox.errors import SandboxError
from sandbox.engine.replay_files import RecordedEpisode, load_episode
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.replay import ReplayScreen


class ReplayApp(App[None]):
    """One episode (closing it quits), or a picker over `files` (closing a replay returns to it)."""

    CSS_PATH = "app.tcss"
    TITLE = "LLM-prior sandbox · replay"

    def __init__(
        self, *, episode: RecordedEpisode | None = None, files: list[Path] | None = None, step: int = 1
    ) -> None:
        super().__init__()
        self.episode = episode
        self.files = files or []
        self.step = step

    def on_mount(self) -> None:
        if self.episode is not None:
            self.push_screen(ReplayScreen(self.episode, self.step), lambda _: self.exit())
        else:
            self._pick()

    def _pick(self) -> None:
        choices = [(str(path), path.stem) for path in self.files]
        self.push_screen(PickerScreen("Replay an episode (esc quits)", choices), self._open)

    def _open(self, name: str | None) -> None:
        if name is None:
            self.exit()
            return
        try:
            episode = load_episode(Path(name))
        except SandboxError as error:  # a damaged file among good ones
            self.notify(str(error), severity="error")
            self._pick()
            return
        self.push_screen(ReplayScreen(episode, self.step), lambda _: self._pick())
