"""Every `python -m sandbox …` command the docs and the README show parses with the real parser.

The commands are read from code blocks (a backslash continues a line) and inline code in
`docs/**/*.md` and `README.md`, and parsed by `sandbox.cli.build_parser()` with abbreviations
off: the command exists, every flag exists, every choice is valid, every typed value converts.
A command written with a placeholder (`<command>`, `[NAME]`, `…`) is a synopsis: only the names
before the placeholder are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = (*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md")
INVOCATION = "python -m sandbox"
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`([^`]+)`")
SHELL_ENDS = {"&", "&&", "|", "||", ";", ">", ">>", "2>&1"}
PLACEHOLDER = re.compile(r"^<.+>$|^\[.+\]$|…|\.\.\.")


@dataclass(frozen=True)
class ShownCommand:
    where: str  # file:line
    text: str  # what follows `python -m sandbox`


def code_lines(markdown: str) -> list[tuple[int, str, bool]]:
    """(line number, text, in a code block) with backslash continuations joined."""
    lines: list[tuple[int, str, bool]] = []
    in_fence = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        in_code = in_fence or line.startswith("    ")
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line.strip()
            pending = None
        if in_code and line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        lines.append((number, line, in_code))
    return lines


def shown_commands(markdown: str, source: str) -> list[ShownCommand]:
    commands = []
    for number, line, in_code in code_lines(markdown):
        pieces = [line] if in_code else INLINE_CODE.findall(line)
        for piece in pieces:
            start = piece.find(INVOCATION)
            if start >= 0:
                commands.append(ShownCommand(f"{source}:{number}", piece[start + len(INVOCATION) :].strip()))
    return commands


def argv_of(text: str) -> tuple[list[str], bool]:
    """The arguments a shell would pass, up to a comment or a shell operator; and whether it is a synopsis."""
    argv: list[str] = []
    for token in shlex.split(text, comments=True):
        if token in SHELL_ENDS:
            break
        if PLACEHOLDER.search(token):
            return argv, True
        argv.append(token)
    return argv, False


def strict_parser() -> argparse.ArgumentParser:
    """The real parser, with abbreviations off everywhere: `--eval-ep` must not pass for `--eval-episodes`."""
    parser = build_parser()
    pending = [parser]
    while pending:
        current = pending.pop()
        current.allow_abbrev = False
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    return parser


def parse_error(parser: argparse.ArgumentParser, text: str) -> str | None:
    """None when the shown command parses, else argparse's message."""
    argv, synopsis = argv_of(text)
    if synopsis:
        return names_error(parser, argv)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as exit_:
        if exit_.code not in (0, None):  # --help exits 0
            return stderr.getvalue().strip().splitlines()[-1]
    return None


def names_error(parser: argparse.ArgumentParser, names: list[str]) -> str | None:
    """A synopsis: each command name before the placeholder must exist."""
    current = parser
    for name in names:
        if name.startswith("-"):
            return None
        choices = next(
            (action.choices for action in current._actions if isinstance(action, argparse._SubParsersAction)), None
        )
        if choices is None:
            return None
        if name not in choices:
            return f"unknown command {name!r}; commands: {', '.join(choices)}"
        current = choices[name]
    return None


def all_shown_commands() -> list[ShownCommand]:
    commands = []
    for path in DOC_FILES:
        commands += shown_commands(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return commands


SHOWN = all_shown_commands()


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return strict_parser()


@pytest.mark.parametrize("command", SHOWN, ids=[command.where for command in SHOWN])
def test_every_command_the_docs_show_parses(parser: argparse.ArgumentParser, command: ShownCommand) -> None:
    error = parse_error(parser, command.text)
    assert error is None, f"{command.where}: `python -m sandbox {command.text}` does not parse: {error}"


def test_the_docs_show_commands_of_every_kind() -> None:
    """The extractor finds the commands: every command of the CLI appears in the docs at least once."""
    shown = {argv_of(command.text)[0][0] for command in SHOWN if argv_of(command.text)[0]}
    missing = set(strict_parser()._subparsers._group_actions[0].choices) - shown  # type: ignore[union-attr]
    assert not missing, f"commands no page shows: {sorted(missing)}"


SAMPLE = """\
Run `python -m sandbox train --agent dqn` or `python -m sandbox <command>`.

```bash
python -m sandbox bench ablation --env overcooked-tomato \\
    --steps 200   # a comment
OPENAI_API_KEY=x python -m sandbox prior --json &
```

    python -m sandbox envs --json
"""


def test_commands_are_read_from_inline_code_fences_continuations_and_indented_code() -> None:
    texts = [command.text for command in shown_commands(SAMPLE, "sample.md")]
    assert texts == [
        "train --agent dqn",
        "<command>",
        "bench ablation --env overcooked-tomato  --steps 200   # a comment",
        "prior --json &",
        "envs --json",
    ]
    assert argv_of(texts[2]) == (["bench", "ablation", "--env", "overcooked-tomato", "--steps", "200"], False)
    assert argv_of(texts[3]) == (["prior", "--json"], False)
    assert argv_of(texts[1]) == ([], True)


@pytest.mark.parametrize(
    "text",
    [
        "train --no-such-flag",  # a flag that does not exist
        "train --agent nobody",  # a choice that is not valid
        "train --seed S",  # a value that does not convert
        "bench sample-efficiency --eval-ep 3",  # an abbreviation of a real flag
        "tarin --agent dqn",  # a command that does not exist
        "no-such-command <experiment>",  # a synopsis whose command does not exist
    ],
)
def test_a_wrong_command_is_caught(parser: argparse.ArgumentParser, text: str) -> None:
    assert parse_error(parser, text) is not None
