"""MkDocs hook: the CLI and config reference pages, generated at build time from the code.

`docs/reference/cli.md` holds the marker `<!-- generated: cli -->`, replaced here by every
command of `sandbox.cli.build_parser()` (and every `bench` experiment): usage, description and
a table of its options with their defaults and choices. `docs/reference/config.md` holds
`<!-- generated: config -->`, replaced by the keys of each config section, read from the
dataclasses of `sandbox.engine.config.RunConfig` with the comment written beside each field.
Nothing is hand-copied, so a new flag or key appears in the next `make docs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- generated: (?P<what>[a-z]+) -->$", re.MULTILINE)
FIELD_LINE = re.compile(r"^\s+(?P<name>[a-z_][a-z0-9_]*)\s*:[^#]*?(?:#\s*(?P<comment>.*))?$")


def import_project() -> None:
    """Import this checkout's packages, not whichever copy an editable install points at."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


def cell(text: object) -> str:
    """A table cell: one line, pipes escaped, code where it reads as code."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(value: object) -> str:
    text = cell(value)
    return f"`{text}`" if text else ""


def option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | default | values | what it does |", "| --- | --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            name = ", ".join(f"`{flag}`" for flag in action.option_strings)
            if action.nargs != 0 and action.metavar:
                name += f" `{action.metavar}`"
        else:
            name = f"`{action.metavar or action.dest}` (positional)"
        if action.nargs == 0:
            default = ""  # a switch: off unless given
            values = "switch"
        else:
            default = code(action.default) if action.default not in (None, [], argparse.SUPPRESS) else ""
            if action.choices is not None:
                values = ", ".join(f"`{choice}`" for choice in action.choices)
            elif action.type is not None:
                values = getattr(action.type, "__name__", str(action.type))
            else:
                values = "text"
            if action.nargs in ("*", "+"):
                values += ", several"
            elif isinstance(action, argparse._AppendAction):
                values += ", repeatable"
        help_text = (action.help or "").replace("%%", "%")
        if action.required:
            help_text = f"**required.** {help_text}"
        rows.append(f"| {name} | {default} | {cell(values)} | {cell(help_text)} |")
    return rows if len(rows) > 2 else []


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def usage_of(parser: argparse.ArgumentParser) -> str:
    """argparse's usage, wrapped at 96 columns whatever the terminal building the site."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "96"
    try:
        return parser.format_usage().removeprefix("usage: ").rstrip()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def describe(parser: argparse.ArgumentParser, level: int, title: str) -> list[str]:
    lines = [f"{'#' * level} {title}", ""]
    if parser.description:
        lines += [inspect.cleandoc(parser.description).replace("%%", "%"), ""]
    lines += ["```text", usage_of(parser), "```", ""]
    rows = option_rows(parser)
    if rows:
        lines += [*rows, ""]
    return lines


def cli_reference() -> str:
    import_project()
    from sandbox.cli import build_parser

    root = build_parser()
    lines = ["```text", usage_of(root), "```", ""]
    commands = subcommands(root)
    lines += ["| command | what it does |", "| --- | --- |"]
    lines += [f"| [`{name}`](#{name}) | {cell(sub.description)} |" for name, sub in commands.items()]
    lines.append("")
    for name, sub in commands.items():
        lines += describe(sub, 2, name)
        for experiment, experiment_parser in subcommands(sub).items():
            lines += describe(experiment_parser, 3, f"{name} {experiment}")
    return "\n".join(lines)


def field_comments(cls: type) -> dict[str, str]:
    """The comment beside each field, and any comment lines right above it."""
    comments: dict[str, str] = {}
    above: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# "))
            continue
        match = FIELD_LINE.match(line)
        if match and match["name"] in {f.name for f in dataclasses.fields(cls)}:
            comments[match["name"]] = " ".join([*above, match["comment"] or ""]).strip()
        above = []
    return comments


def default_of(field: dataclasses.Field[Any]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return ""


def toml_value(value: object) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def train_flags() -> dict[str, argparse.Action]:
    """`train`'s flags by destination: the words for a config key whose field has no comment."""
    from sandbox.cli import build_parser

    train = subcommands(build_parser())["train"]
    return {action.dest: action for action in train._actions if action.option_strings and action.help}


def key_text(section: str, key: str, comment: str, flags: dict[str, argparse.Action]) -> str:
    if comment:
        return comment
    flag = flags.get(f"prior_{key}" if section == "prior" else key)
    if flag is None:
        return ""
    return f"{flag.help} (`{flag.option_strings[-1]}`)".replace("%%", "%")


def config_reference() -> str:
    import_project()
    from sandbox.engine.config import RunConfig

    flags = train_flags()

    lines: list[str] = []
    sections = [f for f in dataclasses.fields(RunConfig) if dataclasses.is_dataclass(default_of(f))]
    if not sections:
        raise PluginError("RunConfig has no dataclass sections: the config reference would be empty")
    for section in sections:
        cls = type(default_of(section))
        lines += [f"## `[{section.name}]`", ""]
        if cls.__doc__:
            lines += [inspect.cleandoc(cls.__doc__), ""]
        lines += [f"Dataclass `{cls.__module__}.{cls.__qualname__}`.", ""]
        lines += ["| key | type | built-in default | what it sets |", "| --- | --- | --- | --- |"]
        comments = field_comments(cls)
        for field in dataclasses.fields(cls):
            kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
            lines.append(
                f"| `{field.name}` | {code(kind)} | {code(toml_value(default_of(field)))} "
                f"| {cell(key_text(section.name, field.name, comments.get(field.name, ''), flags))} |"
            )
        lines.append("")
    return "\n".join(lines)


GENERATORS = {"cli": cli_reference, "config": config_reference}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def generate(match: re.Match[str]) -> str:
        what = match["what"]
        if what not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: unknown generated section {what!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[what]()

    return MARKER.sub(generate, markdown)
