"""The public registry: ids, families, gymnasium registration and one-line option errors."""

from __future__ import annotations

import warnings

import gymnasium
import pytest

from envs import EnvError, EnvSpec, env_family, list_envs, make_env
from envs.registry import register_envs

EXPECTED_FAMILIES = {
    "tw-coin-collector-v0": "textworld",
    "tw-treasure-hunter-v0": "textworld",
    "tw-cooking-v0": "textworld",
    "tw-game-file-v0": "textworld",
    "TextFrozenLake-v0": "frozenlake",
    "overcooked-tomato-salad-v0": "overcooked",
    "overcooked-tomato-lettuce-salad-v0": "overcooked",
    "household-pick-place-v0": "household",
    "household-pick-two-place-v0": "household",
    "household-examine-in-light-v0": "household",
    "household-clean-place-v0": "household",
    "household-heat-place-v0": "household",
    "household-cool-place-v0": "household",
    "alfworld-v0": "household",
    "twx-cooking-v0": "textworld-express",
    "twx-commonsense-v0": "textworld-express",
    "twx-coin-collector-v0": "textworld-express",
    "twx-map-reader-v0": "textworld-express",
    "twx-arithmetic-v0": "textworld-express",
    "twx-sorting-v0": "textworld-express",
    "twx-simon-says-v0": "textworld-express",
    "twx-pecking-order-v0": "textworld-express",
    "scienceworld-v0": "scienceworld",
}


def test_list_envs_names_every_id_with_its_family() -> None:
    specs = list_envs()
    assert all(isinstance(spec, EnvSpec) and spec.description for spec in specs)
    assert {spec.id: spec.family for spec in specs} == EXPECTED_FAMILIES
    assert all(env_family(env_id) == family for env_id, family in EXPECTED_FAMILIES.items())


def test_env_spec_is_frozen() -> None:
    spec = list_envs()[0]
    with pytest.raises(AttributeError):
        spec.id = "other"  # type: ignore[misc]


def test_every_id_is_registered_with_gymnasium_on_import() -> None:
    assert set(EXPECTED_FAMILIES) <= set(gymnasium.registry)
    env = gymnasium.make("TextFrozenLake-v0", map_name="8x8")
    observation, info = env.reset(seed=0)
    assert "8x8" in observation and info["admissible_commands"]


def test_registering_again_is_a_no_op() -> None:
    # Importing envs registered every id already; a second registration must neither warn
    # ("Overriding environment ...") nor replace gymnasium's specs.
    before = {spec.id: gymnasium.registry[spec.id] for spec in list_envs()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_envs()
    assert all(gymnasium.registry[env_id] is spec for env_id, spec in before.items())


@pytest.mark.parametrize("call", [lambda: make_env("tw-nope-v0"), lambda: env_family("tw-nope-v0")])
def test_unknown_id_names_it_and_lists_the_valid_ids(call) -> None:
    with pytest.raises(EnvError) as caught:
        call()
    message = str(caught.value)
    assert "tw-nope-v0" in message and "python -m sandbox envs" in message and "\n" not in message
    assert all(env_id in message for env_id in EXPECTED_FAMILIES)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "expected"),
    [
        ("TextFrozenLake-v0", {"map": "4x4"}, "unknown option map"),
        ("TextFrozenLake-v0", {"map_name": "5x5"}, "option map_name must be one of"),
        ("TextFrozenLake-v0", {"is_slippery": "yes"}, "option is_slippery must be true or false"),
        ("TextFrozenLake-v0", {"desc": ["SFG", "HH"]}, "same length"),
        ("TextFrozenLake-v0", {"desc": ["SFX", "HHG"]}, "may only use"),
        ("TextFrozenLake-v0", {"desc": ["FFF", "HHG"]}, "exactly one S"),
        ("TextFrozenLake-v0", {"desc": "SFFG"}, "list of map rows"),
        ("TextFrozenLake-v0", {"max_episode_steps": 0}, "max_episode_steps must be at least 1"),
        ("tw-coin-collector-v0", {"level": 0}, "option level must be 1 to 300"),
        ("tw-coin-collector-v0", {"level": "five"}, "option level must be an integer"),
        ("tw-coin-collector-v0", {"level": True}, "option level must be an integer"),
        ("tw-coin-collector-v0", {"level": 250}, "TextWorld 1.7 allows at most 100"),
        ("tw-treasure-hunter-v0", {"level": 31}, "option level must be 1 to 30"),
        ("tw-treasure-hunter-v0", {"n_games": 0}, "option n_games must be 1 to"),
        ("tw-treasure-hunter-v0", {"game_seed": -1}, "option game_seed must be 0 to"),
        ("tw-treasure-hunter-v0", {"games_dir": 3}, "option games_dir must be a path"),
        ("tw-cooking-v0", {"level": 1}, "unknown option level"),
        ("tw-cooking-v0", {"go": 2}, "option go must be one of 1, 6, 9, 12"),
        ("tw-cooking-v0", {"take": 2}, "option take must be 0 to 1"),
        ("tw-cooking-v0", {"cut": 1}, "option cut must be true or false"),
        ("tw-cooking-v0", {"recipe_seed": 3, "take": 0}, "needs take >= 1"),
        ("tw-cooking-v0", {"split": "dev"}, "option split must be one of"),
        ("tw-game-file-v0", {}, "missing option path"),
        ("tw-game-file-v0", {"path": 3}, "option path must be a path"),
    ],
)
def test_bad_options_fail_in_one_line_that_lists_the_valid_options(env_id, kwargs, expected, tmp_path) -> None:
    if env_id.startswith("tw-") and env_id != "tw-game-file-v0":
        kwargs.setdefault("games_dir", str(tmp_path))  # nothing may be generated
    with pytest.raises(EnvError) as caught:
        make_env(env_id, **kwargs)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(env_id) and "valid options:" in message and "\n" not in message
    assert not any(tmp_path.iterdir())


def test_frozen_lake_step_limit_scales_with_the_map() -> None:
    assert make_env("TextFrozenLake-v0").spec.max_episode_steps == 30
    assert make_env("TextFrozenLake-v0", map_name="8x8").spec.max_episode_steps == 100
    assert make_env("TextFrozenLake-v0", desc=["SFFFFF"] + ["FFFFFF"] * 4 + ["FFFFFG"]).spec.max_episode_steps == 57
    assert make_env("TextFrozenLake-v0", map_name="8x8", max_episode_steps=7).spec.max_episode_steps == 7
