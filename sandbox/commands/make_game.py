"""`python -m sandbox make-game`: generate a TextWorld game (or find it in the games cache)."""

from __future__ import annotations

import argparse
from typing import Any

from sandbox.arguments import print_json
from sandbox.errors import SandboxError

NAME = "make-game"
HELP = "generate a TextWorld game with TextWorld's generator, or find it in the games cache"

_LEVEL_CHALLENGES = ("coin-collector", "treasure-hunter")
_COOKING_FLAGS = ("recipe", "take", "go", "open", "cook", "cut", "drop", "recipe_seed", "split")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--challenge", required=True, choices=("coin-collector", "treasure-hunter", "cooking"))
    parser.add_argument("--seed", type=int, default=0, help="game seed (default: 0)")
    parser.add_argument("--level", type=int, help="difficulty (coin-collector: 1-300, default 5; treasure-hunter: 1-30, default 1)")
    cooking = parser.add_argument_group("cooking options (as tw-make tw-cooking)")
    cooking.add_argument("--recipe", type=int, help="ingredients in the recipe, 1-5 (default 1)")
    cooking.add_argument("--take", type=int, help="ingredients to find, 0 to --recipe (default 1)")
    cooking.add_argument("--go", type=int, help="locations: 1, 6, 9 or 12 (default 1)")
    for skill, meaning in (
        ("open", "containers and doors need opening"),
        ("cook", "some ingredients need cooking"),
        ("cut", "some ingredients need cutting"),
        ("drop", "the inventory has limited capacity"),
    ):
        cooking.add_argument(f"--{skill}", action="store_true", default=None, help=meaning)
    cooking.add_argument("--recipe-seed", type=int, help="seed of the recipe; > 0 needs --take >= 1 (default 0)")
    cooking.add_argument("--split", choices=("train", "valid", "test"), help="food distribution (default: all)")
    parser.add_argument("--games-dir", help="games cache folder (default: $SANDBOX_GAMES_DIR or saves/games)")
    parser.add_argument("--json", action="store_true", help='print one JSON object {"path", "cached", "seconds"}')


def _given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The challenge options the user typed; the rest keep the challenge's defaults."""
    own = ("level",) if args.challenge in _LEVEL_CHALLENGES else _COOKING_FLAGS
    foreign = [name for name in ("level", *_COOKING_FLAGS) if name not in own and getattr(args, name) is not None]
    if foreign:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in foreign)
        raise SandboxError(f"{flags}: not an option of --challenge {args.challenge}")
    return {name: getattr(args, name) for name in own if getattr(args, name) is not None}


def run(args: argparse.Namespace) -> int:
    from envs.games import challenge_settings, find_or_make_game

    settings = challenge_settings(args.challenge, **_given_options(args))
    game = find_or_make_game(args.challenge, settings, args.seed, args.games_dir)
    if args.json:
        print_json({"path": str(game.path), "cached": game.cached, "seconds": round(game.seconds, 3)})
    else:
        print(game.path)
    return 0
