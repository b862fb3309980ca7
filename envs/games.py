"""TextWorld games made with TextWorld's own generator, cached on disk.

A game is fixed by (challenge, settings, seed), so the cache key is just that triple spelt
out as a file name; a second request is a file lookup. `find_or_make` is the cache itself,
shared with the games other modules build (envs/household.py). Generation (~1-5 s of Python plus
the Inform 7 compiler) runs in-process and writes into a temporary folder first, so a crash
never leaves a half-written game where the cache would find it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.errors import EnvError
from envs.options import OptionError, check_bool, check_choice, check_int

GAMES_DIR_ENV_VAR = "SANDBOX_GAMES_DIR"
DEFAULT_GAMES_DIR = Path("saves") / "games"
MAX_GAME_SEED = 2**31 - 1
COOKING_LOCATIONS = (1, 6, 9, 12)
COOKING_SPLITS = (None, "train", "valid", "test")


@dataclass(frozen=True)
class Challenge:
    """A TextWorld challenge under our name, with tw-make's settings and our defaults."""

    name: str
    tw_name: str
    defaults: Mapping[str, Any]


CHALLENGES: dict[str, Challenge] = {
    challenge.name: challenge
    for challenge in (
        Challenge("coin-collector", "tw-coin_collector", {"level": 5}),
        Challenge("treasure-hunter", "tw-treasure_hunter", {"level": 1}),
        Challenge(
            "cooking",
            "tw-cooking",
            {
                "recipe": 1,
                "take": 1,
                "go": 1,
                "open": False,
                "cook": False,
                "cut": False,
                "drop": False,
                "recipe_seed": 0,
                "split": None,
            },
        ),
    )
}


@dataclass(frozen=True)
class GameFile:
    """Where a game lies, and whether this request found it in the cache."""

    path: Path
    cached: bool
    seconds: float


def games_dir_or_default(games_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder given, else $SANDBOX_GAMES_DIR, else saves/games under the working directory."""
    if games_dir is not None:
        return Path(games_dir)
    return Path(os.environ.get(GAMES_DIR_ENV_VAR) or DEFAULT_GAMES_DIR)


def challenge_settings(challenge: str, **options: Any) -> dict[str, Any]:
    """The challenge's defaults updated with `options`, checked the way tw-make would fail."""
    if challenge not in CHALLENGES:
        raise EnvError(f"unknown challenge {challenge!r}; choose one of {', '.join(CHALLENGES)}")
    defaults = CHALLENGES[challenge].defaults
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise OptionError(f"{challenge} games have no option {', '.join(unknown)}")
    settings = {**defaults, **options}
    if challenge == "coin-collector":
        level = check_int("level", settings["level"], 1, 300)
        # Rooms = (distractor groups + 1) x quest length; TextWorld 1.7 (.z8 only) allows 100.
        rooms = ((level - 1) // 100 + 1) * ((level - 1) % 100 + 1)
        if rooms > 100:
            raise OptionError(f"coin-collector level {level} needs {rooms} rooms; TextWorld 1.7 allows at most 100")
    elif challenge == "treasure-hunter":
        check_int("level", settings["level"], 1, 30)
    else:
        recipe = check_int("recipe", settings["recipe"], 1, 5)
        take = check_int("take", settings["take"], 0, recipe)
        check_choice("go", settings["go"], COOKING_LOCATIONS)
        for skill in ("open", "cook", "cut", "drop"):
            check_bool(skill, settings[skill])
        if check_int("recipe_seed", settings["recipe_seed"], 0, MAX_GAME_SEED) and not take:
            raise OptionError("option recipe_seed > 0 shuffles the recipe, which needs take >= 1")
        check_choice("split", settings["split"], COOKING_SPLITS)
    return settings


def game_stem(challenge: str, settings: Mapping[str, Any], seed: int) -> str:
    """The cache key as a file name, e.g. `cooking-recipe1-take1-go1-cut-recipe_seed0-seed3`."""
    parts = [challenge]
    for key, value in settings.items():
        if value is True:
            parts.append(key)
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key}{value}")
        elif isinstance(value, str):
            parts.append(f"{key}_{value}")
    parts.append(f"seed{seed}")
    return "-".join(parts)


def find_or_make_game(
    challenge: str,
    settings: Mapping[str, Any],
    seed: int,
    games_dir: str | os.PathLike[str] | None = None,
) -> GameFile:
    """The cached game for (challenge, settings, seed), generating it first if needed.

    `settings` must come from `challenge_settings`.
    """
    check_int("game_seed", seed, 0, MAX_GAME_SEED)
    tw_name = CHALLENGES[challenge].tw_name
    return find_or_make(
        game_stem(challenge, settings, seed), lambda game_path: _generate(tw_name, settings, seed, game_path), games_dir
    )


def find_or_make(
    stem: str, make: Callable[[Path], None], games_dir: str | os.PathLike[str] | None = None
) -> GameFile:
    """The cached game `stem` in the games folder, made by `make(scratch_z8_path)` first if missing.

    `make` writes the .z8 and the .json beside it (TextWorld's metadata: objective, walkthrough,
    admissible-command logic) into a scratch folder; the .json is moved into place first, so
    an existing .z8 always has its .json, and a crash leaves nothing the cache would find.
    """
    started = time.perf_counter()
    folder = games_dir_or_default(games_dir)
    game_path = folder / f"{stem}.z8"
    metadata_path = folder / f"{stem}.json"
    if game_path.is_file() and metadata_path.is_file():
        return GameFile(game_path, cached=True, seconds=time.perf_counter() - started)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".making-{stem}-", dir=folder))
    except OSError as error:
        raise EnvError(f"cannot write games to {folder}: {error.strerror or error}") from None
    try:
        make(scratch / f"{stem}.z8")
        os.replace(scratch / f"{stem}.json", metadata_path)
        os.replace(scratch / f"{stem}.z8", game_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return GameFile(game_path, cached=False, seconds=time.perf_counter() - started)


def _generate(tw_name: str, settings: Mapping[str, Any], seed: int, game_path: Path) -> None:
    """Run TextWorld's challenge generator and Inform 7 compiler, as `tw-make` does."""
    import textworld
    import textworld.challenges
    from textworld.generator import compile_game

    options = textworld.GameOptions()
    options.seeds = seed
    options.path = str(game_path)
    options.file_ext = ".z8"
    _, make, _ = textworld.challenges.CHALLENGES[tw_name]
    try:
        game = make(settings=dict(settings), options=options)
        compile_game(game, options)
    except Exception as error:  # the generator's failures are many and untyped
        raise EnvError(f"TextWorld could not make {game_path.stem}: {type(error).__name__}: {error}") from None
