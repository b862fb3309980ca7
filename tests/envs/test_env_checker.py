"""gymnasium's own env checker passes for every registered env, without warnings."""

from __future__ import annotations

import gc
import importlib.util
import warnings
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env

from envs import EnvSpec, env_family, list_envs, make_env
from tests.envs.conftest import JVM_FAMILIES

ALFWORLD_MISSING = importlib.util.find_spec("alfworld") is None
ALFWORLD_FIXTURES = Path(__file__).parents[1] / "fixtures" / "alfworld"


def env_kwargs(env_id: str, games_dir: Path, tw_games: dict[str, Path]) -> dict[str, object]:
    if env_id == "tw-game-file-v0":
        return {"path": str(tw_games["cooking"])}
    if env_id == "alfworld-v0":
        return {"data_dir": str(ALFWORLD_FIXTURES), "split": "valid_train"}
    if env_id.startswith(("tw-", "household-")):
        return {"games_dir": str(games_dir)}
    return {}


def marks(spec: EnvSpec) -> list[pytest.MarkDecorator]:
    if spec.id == "alfworld-v0":
        return [pytest.mark.slow, pytest.mark.skipif(ALFWORLD_MISSING, reason="needs pip install -e .[alfworld]")]
    # Generated games, or a JVM to start (TextWorldExpress ~1 s, ScienceWorld ~3 s).
    slow = ("textworld", "household", "textworld-express", "scienceworld")
    return [pytest.mark.slow] if spec.family in slow else []


@pytest.mark.parametrize("env_id", [pytest.param(spec.id, marks=marks(spec)) for spec in list_envs()])
def test_check_env_passes_without_warnings(env_id: str, games_dir: Path, tw_games: dict[str, Path], jvm_env) -> None:
    shared = env_family(env_id) in JVM_FAMILIES
    env = jvm_env(env_id) if shared else make_env(env_id, **env_kwargs(env_id, games_dir, tw_games))
    gc.collect()  # what earlier tests left unclosed warns when collected, not from check_env
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(warning.message) for warning in caught] == []
    if not shared:
        env.close()


def test_check_env_passes_on_slippery_8x8_ice() -> None:
    env = make_env("TextFrozenLake-v0", map_name="8x8", is_slippery=True, misleading=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(warning.message) for warning in caught] == []
