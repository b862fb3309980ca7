"""One real first state per env family, as the agents query the prior there: the states that the
OpenAI-compatible engine tests (llama-cpp-python's server, and vLLM under `make test-engines`) score."""

from __future__ import annotations

from pathlib import Path

from agents.prior import PriorQuery
from envs import env_family, make_env

FAMILY_ENVS = {
    "frozenlake": ("TextFrozenLake-v0", {}),
    "overcooked": ("overcooked-tomato-salad-v0", {}),
    "textworld": ("tw-coin-collector-v0", {"games": True}),
    "household": ("household-pick-place-v0", {"games": True}),
    "textworld-express": ("twx-coin-collector-v0", {}),
    "scienceworld": ("scienceworld-v0", {"task": "lifespan-longest-lived"}),
}


def first_state_queries(games_dir: Path, max_actions: int | None = None) -> dict[str, PriorQuery]:
    """Each family's first state after reset(seed=0), with its first `max_actions` admissible actions (all by default)."""
    queries = {}
    for family, (env_id, options) in FAMILY_ENVS.items():
        options = dict(options)
        if options.pop("games", False):
            options["games_dir"] = str(games_dir)
        env = make_env(env_id, **options)
        try:
            observation, info = env.reset(seed=0)
        finally:
            env.close()
        assert env_family(env_id) == family
        actions = tuple(info["admissible_commands"])[:max_actions]
        queries[family] = PriorQuery(family, str(info.get("task", "")), str(observation).strip(), actions)
    return queries
