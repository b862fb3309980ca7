"""Closing the py4j-hosted games (TextWorldExpress, ScienceWorld) without leaving their JVM behind."""

from __future__ import annotations

import subprocess
from typing import Any

JAVA_EXIT_WAIT_S = 10  # the JVM exits within a second of its stdin closing; a hung one is killed


def close_py4j_game(game: Any) -> None:
    """Close `game`, then close its JVM's stdin (py4j's die-on-exit signal) and reap the process.

    Both packages' own `close()` only write a newline to that pipe, so the pipe stays open until the
    garbage collector finds it (a ResourceWarning) and the JVM lingers until then.
    """
    game.close()
    java = game._gateway.java_process
    java.stdin.close()
    try:
        java.wait(timeout=JAVA_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        java.kill()
        java.wait()
