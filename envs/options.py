"""Checks for env options, so a wrong value fails at make time with a one-line reason.

Options arrive from Python callers and from the CLI's `--env-arg k=v` (JSON-parsed), so a
check names the option, the value it got, and what would be accepted.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from envs.errors import EnvError


class OptionError(EnvError):
    """A bad option value; `make_env` adds the env's valid options to the message."""


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An int (bools are rejected: `level=true` is a typo, not level 1) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"option {name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{low} to {high}" if high is not None else f"at least {low}"
        raise OptionError(f"option {name} must be {bounds}, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"option {name} must be true or false, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise OptionError(f"option {name} must be one of {listed}, got {value!r}")
    return value


def check_path(name: str, value: Any) -> str:
    """A file or folder path as text (CLI) or a path object (Python callers)."""
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise OptionError(f"option {name} must be a path, got {value!r}")
    return os.fspath(value)
