"""Text spaces and sanitising shared by all environments.

Observations and actions are strings in a gymnasium `spaces.Text`; game text can hold
characters outside any fixed charset (curly quotes, accents), so every string an env
returns goes through `sanitize_text` and always lies inside its space.
"""

from __future__ import annotations

import re
import unicodedata

from gymnasium import spaces

from envs.errors import EnvError

CHARSET = "\n" + "".join(chr(code) for code in range(32, 127))
"""Printable ASCII plus newline: enough for real game text once sanitised."""

OBSERVATION_MAX_LENGTH = 16_384
ACTION_MAX_LENGTH = 198
"""The Z-machine interpreter reads at most 198 bytes a command (Jericho's 200-byte buffer)."""

_OUTSIDE_CHARSET = re.compile(r"[^\n\x20-\x7e]")
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\t": "    ",
        "\r": "",
    }
)
_WHITESPACE_RUN = re.compile(r"\s+")


def text_space(max_length: int, min_length: int = 0) -> spaces.Text:
    """A `spaces.Text` over `CHARSET`; observations may be empty (a game can answer nothing)."""
    return spaces.Text(max_length=max_length, min_length=min_length, charset=CHARSET)


def _to_charset(char: str) -> str:
    if unicodedata.combining(char):
        return ""  # accents split off by NFKD: "e" + "\u0301" keeps the "e"
    return "?"


def sanitize_text(text: str, max_length: int = OBSERVATION_MAX_LENGTH) -> str:
    """Map `text` into `CHARSET` (ASCII look-alikes, else '?') and cut it to `max_length`."""
    if _OUTSIDE_CHARSET.search(text):
        text = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
        text = _OUTSIDE_CHARSET.sub(lambda match: _to_charset(match.group()), text)
    return text[:max_length]


def normalize_command(action: object) -> str:
    """One line of at most `ACTION_MAX_LENGTH` characters: what a game's parser can read.

    Any string is a legal action; anything else is a caller's bug, reported as `EnvError`.
    """
    if not isinstance(action, str):
        raise EnvError(f"an action is a command string, got {type(action).__name__} {action!r}")
    # A backslash starts an escape in the interpreter's input (dumb-frotz prints a complaint).
    command = sanitize_text(action, max_length=4 * ACTION_MAX_LENGTH).replace("\\", " ")
    return _WHITESPACE_RUN.sub(" ", command).strip()[:ACTION_MAX_LENGTH]
