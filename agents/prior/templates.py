"""User prompt templates: one TOML file per env family (e.g. saves/prompts/frozenlake.toml).

A file sets any of a `PromptTemplate`'s pieces; the pieces it leaves out keep the family's
built-in text. Each piece may use only its own placeholders and must use the ones it
needs, so a typo fails when the file is read, naming the file and the piece, instead of
quietly producing prompts without the observation in them.
"""

from __future__ import annotations

import dataclasses
import string
import tomllib
from pathlib import Path

import tomli_w

from agents.errors import PriorError
from agents.prior.prompts import PromptTemplate, template_for

PIECES = tuple(item.name for item in dataclasses.fields(PromptTemplate))
ALLOWED: dict[str, frozenset[str]] = {
    "intro": frozenset(),
    "task": frozenset({"task"}),
    "history_header": frozenset(),
    "step": frozenset({"action", "observation"}),
    "current": frozenset({"observation"}),
    "actions": frozenset({"actions"}),
    "cue": frozenset(),
    "question": frozenset(),
}
REQUIRED: dict[str, frozenset[str]] = {
    "task": frozenset({"task"}),
    "step": frozenset({"action"}),
    "current": frozenset({"observation"}),
    "actions": frozenset({"actions"}),
}
"""A non-empty piece needs these; an empty piece simply leaves its part out of the prompt, except
`current`, which may not be empty: a prior that never sees the state is no prior over it."""


def placeholders(text: str, where: str) -> set[str]:
    """The `{name}` fields of a piece; PriorError for an unmatched brace or a field like `{}` or `{a.b}`."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise PriorError(f"{where} has an unmatched brace ({error}); write {{{{ or }}}} for a literal brace") from error
    for name in names:
        if not name.isidentifier():
            raise PriorError(f"{where} has a placeholder {{{name}}}; use a name such as {{observation}}")
    return set(names)


def check_template(template: PromptTemplate, source: str) -> None:
    """Every piece uses only its own placeholders and the ones it needs (see ALLOWED, REQUIRED)."""
    if not template.current.strip():
        raise PriorError(f"{source}: 'current' may not be empty; it shows the state, e.g. \"Now:\\n{{observation}}\\n\"")
    for piece in PIECES:
        text = getattr(template, piece)
        where = f"{source}: {piece!r}"
        used = placeholders(text, where)
        unknown = used - ALLOWED[piece]
        if unknown:
            allowed = ", ".join(f"{{{name}}}" for name in sorted(ALLOWED[piece])) or "none"
            raise PriorError(f"{where} uses {', '.join(f'{{{n}}}' for n in sorted(unknown))}; allowed here: {allowed}")
        missing = REQUIRED.get(piece, frozenset()) - used
        if text and missing:
            raise PriorError(f"{where} must contain {', '.join(f'{{{n}}}' for n in sorted(missing))} (or be empty)")


def parse_template(text: str, family: str, source: str) -> PromptTemplate:
    """A template from TOML text: the family's built-in template with the file's pieces on top."""
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PriorError(f"{source} is not valid TOML: {error}") from error
    unknown = sorted(set(values) - set(PIECES))
    if unknown:
        raise PriorError(f"{source}: unknown key {', '.join(map(repr, unknown))}; valid keys: {', '.join(PIECES)}")
    for key, value in values.items():
        if not isinstance(value, str):
            raise PriorError(f"{source}: {key!r} must be text, got {value!r}")
    template = dataclasses.replace(template_for(family), **values)
    check_template(template, source)
    return template


def template_to_toml(template: PromptTemplate, family: str) -> str:
    """Every piece as TOML (multi-line strings, so the text reads as it renders), with a short guide."""
    guide = [
        f"# Prompt template for the {family!r} env family, read by the LLM prior on start.",
        "# Pieces render in this order; placeholders: task {task}, step {action} {observation},",
        "# current {observation}, actions {actions}. Write {{ and }} for literal braces.",
        "",
    ]
    body = tomli_w.dumps({piece: getattr(template, piece) for piece in PIECES}, multiline_strings=True)
    return "\n".join(guide) + body


def template_path(folder: str | Path, family: str) -> Path:
    return Path(folder) / f"{family}.toml"


def load_templates(folder: str | Path | None) -> dict[str, PromptTemplate]:
    """The user templates in `folder`, by family (the file's stem); {} when there is no such folder."""
    if folder is None or not Path(folder).is_dir():
        return {}
    templates = {}
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PriorError(f"cannot read prompt template {path} ({error}); fix or remove it") from error
        templates[path.stem] = parse_template(text, path.stem, f"prompt template {path}")
    return templates
