"""`python -m sandbox replay PATH`: open a recorded episode in the UI's replay view, without a model.

PATH is a replay file (.jsonl), or a folder holding them — a run folder (its episodes/), the
saves folder (its episodes/) or an episodes folder itself — whose files are offered in a picker.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "replay"
HELP = "replay a recorded episode step by step (a .jsonl replay file, or a run or saves folder); loads no model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="a replay file, or a folder of them (a run folder, saves/)")
    parser.add_argument("--step", type=int, default=1, metavar="N", help="open at step N (from 1)")


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.engine.replay_files import list_episodes, load_episode

    path: Path = args.path
    if not path.exists():
        raise SandboxError(f"{path} does not exist; pass a replay file (.jsonl) or a folder holding them")
    if path.is_dir():
        folder = path / "episodes" if (path / "episodes").is_dir() else path
        files = list_episodes(folder)
        if not files:
            raise SandboxError(f"{folder} holds no replay files (*.jsonl); `train` and `play` write them to episodes/")
        from sandbox.ui.replay_app import ReplayApp

        ReplayApp(files=files, step=args.step).run()
        return 0
    episode = load_episode(path)
    from sandbox.ui.replay_app import ReplayApp

    ReplayApp(episode=episode, step=args.step).run()
    return 0
