"""The few-shot lever's worked examples: walk train-split games and keep a few of their decisions.

`python -m sandbox prior-examples` rewrites agents/prior/examples.json (`--check` only
compares). The games below are train-split games (household, TextWorldExpress and the
cooking games by their `split` option; Frozen Lake maps, coin collector and treasure hunter
games by seed, 100 and up) that `bench prior-quality` never walks: an example from a game the
benchmark scores would hand the prior that game's answer. Overcooked has no such game (its
two recipes are the benchmark's games), so it has no examples; nor has TextWorldExpress, whose gold
paths come from an unseeded agent, so its examples could not be rebuilt the same twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES_PER_GAME = 2
FIRST_EXAMPLE_SEED = 100  # benchmark games use seeds below this


def _lake(size: int, seed: int) -> dict[str, Any]:
    from gymnasium.envs.toy_text.frozen_lake import generate_random_map

    return {"desc": generate_random_map(size=size, seed=seed)}


@dataclass(frozen=True)
class Source:
    family: str  # the prompt family (envs.env_family)
    env_id: str
    options: dict[str, Any]

    @property
    def split(self) -> str:
        """The game's split: its `split` option, else "train" (seeded games from FIRST_EXAMPLE_SEED up)."""
        return str(self.options.get("split") or "train")


def sources() -> list[Source]:
    seed = FIRST_EXAMPLE_SEED + 1
    return [
        Source("frozenlake", "TextFrozenLake-v0", {**_lake(4, seed), "map_seed": seed}),
        Source("frozenlake", "TextFrozenLake-v0", {**_lake(8, seed), "map_seed": seed}),
        Source("textworld", "tw-coin-collector-v0", {"level": 5, "game_seed": seed}),
        Source("textworld", "tw-treasure-hunter-v0", {"level": 5, "game_seed": seed}),
        Source("textworld", "tw-cooking-v0", {"split": "train", "game_seed": seed}),
        Source("household", "household-pick-place-v0", {"split": "train", "game_seed": seed}),
        Source("household", "household-heat-place-v0", {"split": "train", "game_seed": seed}),
    ]


def decisions(source: Source) -> list[dict[str, Any]]:
    """The walkthrough's decisions with a choice (two or more actions), each with the command it took."""
    from envs import make_env
    from envs.errors import EnvError

    options = {key: value for key, value in source.options.items() if key != "map_seed"}
    env = make_env(source.env_id, **options)
    try:
        observation, info = env.reset(seed=0)
        found = []
        for step, command in enumerate(env.unwrapped.walkthrough() or []):
            actions = list(info.get("admissible_commands", ()))
            if len(actions) > 1 and command in actions:
                found.append(
                    {
                        "game": f"{source.env_id} {json.dumps(source.options, sort_keys=True)}",
                        "split": source.split,
                        "step": step,
                        "task": str(info.get("task", "")),
                        "observation": str(observation).strip(),
                        "actions": actions,
                        "action": command,
                    }
                )
            observation, _, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        if not found:
            raise EnvError(f"{source.env_id}: its walkthrough has no decision with a choice")
        return found
    finally:
        env.close()


def build(chosen: list[Source] | None = None) -> dict[str, Any]:
    """Family -> examples: EXAMPLES_PER_GAME decisions per game, evenly spaced inside its walkthrough (not its
    first look around nor its last move), the games interleaved."""
    by_family: dict[str, list[list[dict[str, Any]]]] = {}
    for source in sources() if chosen is None else chosen:
        found = decisions(source)
        picks = sorted({(i * len(found)) // (EXAMPLES_PER_GAME + 1) for i in range(1, EXAMPLES_PER_GAME + 1)})
        by_family.setdefault(source.family, []).append([found[i] for i in picks])
    families = {
        family: [example for rank in range(EXAMPLES_PER_GAME) for game in games if rank < len(game) for example in [game[rank]]]
        for family, games in by_family.items()
    }
    return {"format": 1, "families": families}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def write(path: Path) -> Path:
    """Write the examples atomically (a temporary file renamed over the old one)."""
    text = render(build())
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path
