"""Every env id, registered with gymnasium on `import envs`, and `make_env` with clear errors.

`gymnasium.make(id, **kwargs)` works for every id; `make_env` adds what a person needs when
something is wrong: the valid ids, or the env's options with their defaults, in one line.

A family from outside this module is one `register_family(EnvFamily(...))`: its ids, their
options, and as plain data what the rest of the project looks up by the family's name (its prompt
pieces, its tuned-defaults file). Envs know nothing of agents or the sandbox, so they carry that
data without reading it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from envs.alfworld_env import make_alfworld_env
from envs.errors import EnvError
from envs.frozen_lake import TextFrozenLakeEnv, episode_step_limit
from envs.games import CHALLENGES
from envs.household import FAMILIES as HOUSEHOLD_FAMILIES
from envs.options import OptionError, check_int
from envs.overcooked import RECIPES
from envs.scienceworld_env import make_scienceworld_env
from envs.textworld_express import GAME_TYPES as TWX_GAME_TYPES

FROZEN_LAKE_ID = "TextFrozenLake-v0"
REQUIRED: Any = object()  # an option's default that marks it required (`make_env` says so when it is missing)
_POOL_OPTIONS = {"game_seed": 0, "n_games": 1, "games_dir": None}
OVERCOOKED_STEPS = 30  # the paper's online horizon; its offline setting is max_episode_steps=50
HOUSEHOLD_STEPS = 50  # ALFWorld's evaluation budget
TWX_STEPS = 100  # TextWorldExpress's own default step limit
SCIENCEWORLD_STEPS = 100  # ScienceWorld's own default step limit
_ENV_LIST_HINT = "see `python -m sandbox envs`"


@dataclass(frozen=True)
class EnvSpec:
    """What a person or UI needs to pick an env."""

    id: str
    family: str
    description: str


@dataclass(frozen=True)
class _Entry:
    spec: EnvSpec
    entry_point: str | Callable[..., gymnasium.Env]
    kwargs: Mapping[str, Any]
    options: Mapping[str, Any]
    step_limit: Callable[[Mapping[str, Any]], int]


def _challenge_entry(env_id: str, challenge: str, description: str, max_steps: int) -> _Entry:
    return _Entry(
        spec=EnvSpec(env_id, "textworld", description),
        entry_point="envs.textworld_env:make_challenge_env",
        kwargs={"challenge": challenge},
        options={**CHALLENGES[challenge].defaults, **_POOL_OPTIONS},
        step_limit=lambda _: max_steps,
    )


def _defaults(function: Callable[..., Any]) -> dict[str, Any]:
    """A constructor's options with their defaults, read from its signature."""
    parameters = inspect.signature(function).parameters.items()
    return {name: parameter.default for name, parameter in parameters if name != "self"}


def _overcooked_entry(recipe: str) -> _Entry:
    return _Entry(
        spec=EnvSpec(
            f"overcooked-{recipe}-v0",
            "overcooked",
            f"Text Overcooked (TWOSOME): one cook makes and serves a {RECIPES[recipe].name} with macro-actions.",
        ),
        entry_point="envs.overcooked:TextOvercookedEnv",
        kwargs={"recipe": recipe},
        options={},
        step_limit=lambda _: OVERCOOKED_STEPS,
    )


def _household_entry(family: str) -> _Entry:
    return _Entry(
        spec=EnvSpec(
            f"household-{family}-v0",
            "household",
            "ALFWorld-style household task in TextWorld (train or unseen split): "
            f"{HOUSEHOLD_FAMILIES[family].description}.",
        ),
        entry_point="envs.household:make_household_env",
        kwargs={"family": family},
        options={"split": "train", **_POOL_OPTIONS},
        step_limit=lambda _: HOUSEHOLD_STEPS,
    )


def _twx_entry(game_type: str) -> _Entry:
    twx = TWX_GAME_TYPES[game_type]
    return _Entry(
        spec=EnvSpec(
            f"twx-{game_type}-v0",
            "textworld-express",
            f"TextWorldExpress {twx.title} (fast, on a JVM): {twx.description}; train/dev/test folds.",
        ),
        entry_point="envs.textworld_express:make_twx_env",
        kwargs={"game_type": game_type},
        options={
            **{name: param.default for name, param in twx.params.items()},
            "split": "train",
            "game_seed": 0,
            "n_games": 1,
        },
        step_limit=lambda _: TWX_STEPS,
    )


_ENTRIES: dict[str, _Entry] = {
    entry.spec.id: entry
    for entry in (
        _challenge_entry(
            "tw-coin-collector-v0",
            "coin-collector",
            "TextWorld Coin Collector: follow a chain of rooms to find and take the coin (level sets the length).",
            50,
        ),
        _challenge_entry(
            "tw-treasure-hunter-v0",
            "treasure-hunter",
            "TextWorld Treasure Hunter: find the named object in the house and take it (levels 1-30).",
            50,
        ),
        _challenge_entry(
            "tw-cooking-v0",
            "cooking",
            "TextWorld cooking game: gather and prepare the cookbook's ingredients, then eat the meal.",
            100,
        ),
        _Entry(
            spec=EnvSpec("tw-game-file-v0", "textworld", "A TextWorld game file you have (.z8 from tw-make, or its .json)."),
            entry_point="envs.textworld_env:game_file_env",
            kwargs={},
            options={"path": REQUIRED},
            step_limit=lambda _: 100,
        ),
        _Entry(
            spec=EnvSpec(
                FROZEN_LAKE_ID,
                "frozenlake",
                "Gymnasium's Frozen Lake in words: walk from the start to the goal without falling into a hole.",
            ),
            entry_point="envs.frozen_lake:TextFrozenLakeEnv",
            kwargs={},
            options=_defaults(TextFrozenLakeEnv.__init__),
            step_limit=lambda options: episode_step_limit(options.get("map_name", "4x4"), options.get("desc")),
        ),
        *(_overcooked_entry(recipe) for recipe in RECIPES),
        *(_household_entry(family) for family in HOUSEHOLD_FAMILIES),
        _Entry(
            spec=EnvSpec(
                "alfworld-v0",
                "household",
                "ALFWorld's own household games: data_dir (default $ALFWORLD_DATA) holds json_2.1.1/<split>/…;"
                " split train, valid_train, valid_seen or valid_unseen; task one of six types.",
            ),
            entry_point="envs.alfworld_env:make_alfworld_env",
            kwargs={},
            options=_defaults(make_alfworld_env),
            step_limit=lambda _: HOUSEHOLD_STEPS,
        ),
        *(_twx_entry(game_type) for game_type in TWX_GAME_TYPES),
        _Entry(
            spec=EnvSpec(
                "scienceworld-v0",
                "scienceworld",
                "ScienceWorld (on a JVM): 30 elementary-science tasks with variations in train/dev/test splits.",
            ),
            entry_point="envs.scienceworld_env:make_scienceworld_env",
            kwargs={},
            options=_defaults(make_scienceworld_env),
            step_limit=lambda _: SCIENCEWORLD_STEPS,
        ),
    )
}


@dataclass(frozen=True)
class FamilyEnv:
    """One id of a registered family: what `gymnasium.register` and `make_env` need."""

    id: str
    description: str
    entry_point: str | Callable[..., gymnasium.Env]  # "module:callable", or the callable itself
    options: Mapping[str, Any] = field(default_factory=dict)  # keyword -> default (REQUIRED: no default)
    max_episode_steps: int | Callable[[Mapping[str, Any]], int] = 100  # or a function of the options given
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # fixed keywords the id passes to its entry point


@dataclass(frozen=True)
class EnvFamily:
    """An env family: its ids, and what the agents and the sandbox find by its name.

    `prompt` holds the prior's prompt pieces, named like the fields of
    `agents.prior.prompts.PromptTemplate` (intro, task, history_header, actions, question, and
    optionally step, current, cue); without it the prior uses its generic template.
    `guided_prompt` holds the pieces that differ in the "guided" wording. `defaults` is a TOML file
    of tuned defaults, one table per agent like `sandbox/defaults/frozenlake.toml`.
    """

    name: str
    envs: tuple[FamilyEnv, ...]
    prompt: Mapping[str, str] | None = None
    guided_prompt: Mapping[str, str] | None = None
    defaults: Path | None = None


_FAMILIES: dict[str, EnvFamily] = {}  # families registered by `register_family`


def _check_family(family: EnvFamily) -> None:
    taken = {entry.spec.family for entry in _ENTRIES.values()}
    if family.name in taken:
        raise EnvError(f"env family {family.name!r} is registered already; choose another name")
    if not family.envs:
        raise EnvError(f"env family {family.name!r} has no envs; give it at least one FamilyEnv")
    ids = [env.id for env in family.envs]
    clashes = sorted({name for name in ids if name in _ENTRIES or name in gymnasium.registry or ids.count(name) > 1})
    if clashes:
        raise EnvError(f"env family {family.name!r}: id {', '.join(clashes)} is registered already; choose another id")
    for label, pieces in (("prompt", family.prompt), ("guided_prompt", family.guided_prompt)):
        if pieces is not None and not all(isinstance(name, str) and isinstance(text, str) for name, text in pieces.items()):
            raise EnvError(f"env family {family.name!r}: {label} must map piece names to strings")
    if family.defaults is not None and not Path(family.defaults).is_file():
        raise EnvError(f"env family {family.name!r}: defaults file {family.defaults} does not exist")


def _family_entry(family: str, env: FamilyEnv) -> _Entry:
    limit = env.max_episode_steps
    return _Entry(
        spec=EnvSpec(env.id, family, env.description),
        entry_point=env.entry_point,
        kwargs=env.kwargs,
        options=env.options,
        step_limit=limit if callable(limit) else lambda _: limit,
    )


def register_family(family: EnvFamily) -> None:
    """Add a family and register its ids with gymnasium; a name or id already taken is an `EnvError`.

    `python -m sandbox envs`, the UI's env picker, `train`, `eval`, `bench prior-quality`, the
    prior's prompt and the tuned defaults then find it by its name.
    """
    _check_family(family)
    _FAMILIES[family.name] = family
    for env in family.envs:
        _ENTRIES[env.id] = _family_entry(family.name, env)
    register_envs()


def registered_family(name: str) -> EnvFamily | None:
    """The `EnvFamily` registered under `name`; None for a built-in family or an unknown name."""
    return _FAMILIES.get(name)


def register_envs() -> None:
    """Register every id with gymnasium (once: re-registering would warn)."""
    for env_id, entry in _ENTRIES.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=entry.entry_point,
                kwargs=dict(entry.kwargs),
                max_episode_steps=entry.step_limit({}),
            )


def list_envs() -> list[EnvSpec]:
    return [entry.spec for entry in _ENTRIES.values()]


def _entry(env_id: str) -> _Entry:
    if env_id not in _ENTRIES:
        raise EnvError(f"unknown env id {env_id!r}; valid ids: {', '.join(_ENTRIES)} ({_ENV_LIST_HINT})")
    return _ENTRIES[env_id]


def env_family(env_id: str) -> str:
    """The id's family name ("frozenlake", "textworld", ..., or a registered family's).

    Agents pick their prompts by family, the sandbox its tuned defaults.
    """
    return _entry(env_id).spec.family


def _describe_options(entry: _Entry) -> str:
    described = [
        f"{name} (required)" if default is REQUIRED else f"{name}={default!r}" for name, default in entry.options.items()
    ]
    return ", ".join([*described, f"max_episode_steps={entry.step_limit({})}"])


def make_env(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """`gymnasium.make(env_id, **kwargs)`, with every user mistake raised as a one-line `EnvError`.

    `max_episode_steps` overrides the id's step limit (Frozen Lake's default grows with the map).
    """
    entry = _entry(env_id)
    unknown = sorted(set(kwargs) - set(entry.options) - {"max_episode_steps"})
    missing = [name for name, default in entry.options.items() if default is REQUIRED and name not in kwargs]
    if unknown or missing:
        problem = f"unknown option {', '.join(unknown)}" if unknown else f"missing option {', '.join(missing)}"
        raise EnvError(f"{env_id}: {problem}; valid options: {_describe_options(entry)}")
    env_kwargs = {name: value for name, value in kwargs.items() if name != "max_episode_steps"}
    try:
        max_steps = check_int("max_episode_steps", kwargs.get("max_episode_steps", entry.step_limit(env_kwargs)), 1)
        return gymnasium.make(env_id, max_episode_steps=max_steps, **env_kwargs)
    except OptionError as error:
        raise EnvError(f"{env_id}: {error}; valid options: {_describe_options(entry)}") from None
