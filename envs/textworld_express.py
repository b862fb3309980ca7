"""TextWorldExpress (Jansen & Cote 2022) games under this project's env contract.

TextWorldExpress re-implements CookingWorld, TextWorld Commonsense, Coin Collector and five
smaller games (map reader, arithmetic, sorting, Simon says, pecking order) in Scala; the
`textworld-express` wheel bundles the jar and drives it from Python through py4j. A step
costs 1-3 ms, so this is the env for long training runs and benchmarks.

Each game type is generated from a seed; TextWorldExpress splits the seeds into train, dev
and test folds of 1,000 games each (with held-out objects and recipes in dev and test).
An env is a pool of `n_games` consecutive games of one fold, starting at its `game_seed`-th;
`reset` picks the pool's game with `np_random`. Every env starts its own JVM (~1 s); close
it with `close()`. Rewards are the change in TextWorldExpress's normalised score, so a won
game returns 1 in total, and `info["score"]` is that score (`max_score` 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from envs.errors import EnvError
from envs.jvm import close_py4j_game
from envs.optimal import OptimalActionsUnknown, next_walkthrough_command
from envs.options import OptionError, check_bool, check_choice, check_int
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, normalize_command, sanitize_text, text_space

SPLITS = ("train", "dev", "test")
INSTALL_HINT = "pip install textworld-express==1.1.0 (it needs Java 1.8+ on the PATH)"


@dataclass(frozen=True)
class Param:
    """One generation parameter: its name in TextWorldExpress, default and valid range (from its generators)."""

    twx_name: str
    default: int | bool
    low: int = 0
    high: int = 1


@dataclass(frozen=True)
class GameType:
    twx_name: str  # TextWorldExpress's game name
    title: str
    description: str
    params: Mapping[str, Param] = field(default_factory=dict)  # our option name -> parameter


_DOORS = Param("includeDoors", True)
_NO_DOORS = Param("includeDoors", False)
_SMALL_INVENTORY = Param("limitInventorySize", True)
_ANY_INVENTORY = Param("limitInventorySize", False)

# Keys are the id's middle part (twx-<key>-v0); defaults are TextWorldExpress's own.
GAME_TYPES: dict[str, GameType] = {
    "cooking": GameType(
        "cookingworld",
        "CookingWorld",
        "gather the cookbook's ingredients in the house, slice and cook them, prepare the meal and eat it",
        {
            "num_locations": Param("numLocations", 11, 1, 11),
            "num_ingredients": Param("numIngredients", 3, 1, 5),
            "num_distractor_items": Param("numDistractorItems", 10, 0, 10),
            "include_doors": _DOORS,
            "limit_inventory_size": _SMALL_INVENTORY,
        },
    ),
    "commonsense": GameType(
        "twc",
        "TextWorld Commonsense",
        "put each misplaced household object where it belongs",
        {
            "num_locations": Param("numLocations", 3, 1, 3),
            "num_items_to_put_away": Param("numItemsToPutAway", 4, 1, 4),
            "include_doors": _NO_DOORS,
            "limit_inventory_size": _ANY_INVENTORY,
        },
    ),
    "coin-collector": GameType(
        "coin",
        "Coin Collector",
        "explore the house to find the coin and take it",
        {
            "num_locations": Param("numLocations", 11, 1, 11),
            "num_distractor_items": Param("numDistractorItems", 0, 0, 10),
            "include_doors": _DOORS,
            "limit_inventory_size": _SMALL_INVENTORY,
        },
    ),
    "map-reader": GameType(
        "mapreader",
        "Map Reader",
        "read the map, fetch the coin from the named room and bring it back to the box",
        {
            "num_locations": Param("numLocations", 15, 1, 15),
            "max_distance_apart": Param("maxDistanceApart", 4, 1, 4),
            "max_distractor_items_per_location": Param("maxDistractorItemsPerLocation", 3, 0, 3),
            "include_doors": _NO_DOORS,
            "limit_inventory_size": _ANY_INVENTORY,
        },
    ),
    "arithmetic": GameType(
        "arithmetic", "Arithmetic", "solve the math problem, then put the item whose quantity is the answer in the box"
    ),
    "sorting": GameType(
        "sorting", "Sorting", "put the objects in the box from the smallest quantity to the largest"
    ),
    "simon-says": GameType(
        "simonsays",
        "Simon Says",
        "do exactly what Simon says, one instruction after another",
        {
            "game_length": Param("gameLength", 5, 1, 100),
            "num_distractors": Param("numDistractors", 3, 0, 5),
            "memorization": Param("memorization", False),  # all instructions at once, then from memory
        },
    ),
    "pecking-order": GameType(
        "peckingorder",
        "Pecking Order",
        "read the instructions book and follow it, again and again, until the game is done"
    ),
}


def _twx_class() -> Any:
    try:
        from textworld_express import TextWorldExpressEnv
    except ImportError:
        raise EnvError(f"TextWorldExpress envs need the textworld-express package: {INSTALL_HINT}") from None
    return TextWorldExpressEnv


def game_params(game_type: str, **options: Any) -> str:
    """The `gameParams` string for TextWorldExpress, every parameter spelled out; OptionError if one is bad."""
    params = GAME_TYPES[game_type].params
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise OptionError(f"unknown option {', '.join(unknown)}")
    values = []
    for name, param in params.items():
        value = options.get(name, param.default)
        if isinstance(param.default, bool):
            number = int(check_bool(name, value))
        else:
            number = check_int(name, value, param.low, param.high)
        values.append(f"{param.twx_name}={number}")
    return ",".join(values)


class TextWorldExpressEnv(gymnasium.Env[str, str]):
    """A pool of generated games of one TextWorldExpress game type and fold, on one JVM."""

    metadata = {"render_modes": []}

    def __init__(self, game_type: str, params: str, split: str, game_seed: int, n_games: int) -> None:
        self.game_type = GAME_TYPES[game_type]
        self.split = split
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        try:
            # TextWorldExpress's own step limit only sets its `done`, which is not used: TimeLimit truncates.
            self._twx = _twx_class()(envStepLimit=10**9)
        except OSError as error:  # no `java` on the PATH
            raise EnvError(f"cannot start TextWorldExpress's JVM ({error}): {INSTALL_HINT}") from None
        try:
            self._twx.load(self.game_type.twx_name, params)
            fold_seeds = {"train": self._twx.getValidSeedsTrain, "dev": self._twx.getValidSeedsDev}
            seeds = fold_seeds.get(split, self._twx.getValidSeedsTest)()
        except ValueError as error:  # the generator's own check of the parameters
            self.close()
            raise OptionError(str(error).strip()) from None
        if game_seed + n_games > len(seeds):
            self.close()
            count = len(seeds)
            raise OptionError(f"the {split} fold has {count} games: game_seed + n_games must be at most {count}")
        self.seeds = tuple(seeds[game_seed : game_seed + n_games])
        self._seed = self.seeds[0]
        self._commands: list[str] = []
        self._walkthroughs: dict[int, list[str]] = {}
        self._state: dict[str, Any] | None = None

    def _generate(self, seed: int, gold_path: bool = False) -> dict[str, Any]:
        _, state = self._twx.reset(seed=seed, gameFold=self.split, generateGoldPath=gold_path)
        return state

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if len(self.seeds) > 1:
            self._seed = self.seeds[int(self.np_random.integers(len(self.seeds)))]
        self._state = self._generate(self._seed)
        self._commands = []
        return sanitize_text(self._state["observation"].strip()), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise EnvError("call reset() before step()")
        command = normalize_command(action)
        score = self._state["score"]
        observation, _, _, self._state = self._twx.step(command)
        self._commands.append(command)
        info = self._info()
        terminated = info["won"] or info["lost"]
        return sanitize_text(observation.strip()), float(self._state["score"] - score), terminated, False, info

    def walkthrough(self) -> list[str] | None:
        """The generator's gold path for the current game, cut where it wins (its gold agents may wander on).

        Making the gold path regenerates the game, so a running episode is replayed afterwards.
        """
        if self._seed not in self._walkthroughs:
            self._generate(self._seed, gold_path=True)
            self._walkthroughs[self._seed] = self._winning_prefix(list(self._twx.getGoldActionSequence()))
            if self._state is not None:
                self._generate(self._seed)
                for command in self._commands:
                    self._twx.step(command)
        return list(self._walkthroughs[self._seed]) or None

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """The gold path's next command while the episode follows it (`along_walkthrough`);
        TextWorldExpress knows no optimal actions anywhere else."""
        if self._state is None:
            raise EnvError("call reset() before asking for optimal actions")
        if self._state["tasksuccess"] or self._state["taskfailure"]:
            return ()
        source = f"TextWorldExpress {self.game_type.twx_name} seed {self._seed}"
        if not along_walkthrough:
            raise OptimalActionsUnknown(
                f"{source} gives only a gold path from its start, not the optimal actions of every state"
            )
        return next_walkthrough_command(self.walkthrough(), self._commands, sorted(self._state["validActions"]), source)

    def _winning_prefix(self, commands: list[str]) -> list[str]:
        for number, command in enumerate(commands, start=1):
            *_, state = self._twx.step(command)
            if state["tasksuccess"]:
                return commands[:number]
        return []

    def close(self) -> None:
        if self._twx is not None:
            close_py4j_game(self._twx)
            self._twx = None
        self._state = None

    def _info(self) -> dict[str, Any]:
        state = self._state
        return {
            "admissible_commands": sorted(state["validActions"]),
            "task": sanitize_text(state["taskDescription"].strip()),
            "won": bool(state["tasksuccess"]),
            "lost": bool(state["taskfailure"]),
            "score": state["score"],
            "max_score": 1.0,
            "description": sanitize_text(state["look"].strip()),
            "inventory": sanitize_text(state["inventory"].strip()),
            "game": f"textworld-express {self.game_type.twx_name} {self.split} seed {self._seed}",
        }


def make_twx_env(
    game_type: str, split: str = "train", game_seed: int = 0, n_games: int = 1, **options: Any
) -> TextWorldExpressEnv:
    """Entry point of the twx-* ids: games game_seed..+n_games-1 of the fold `split`."""
    params = game_params(game_type, **options)
    check_choice("split", split, SPLITS)
    check_int("game_seed", game_seed, 0)
    check_int("n_games", n_games, 1)
    return TextWorldExpressEnv(game_type, params, split, game_seed, n_games)
