"""TextWorld envs on generated games: walkthroughs win, the 5-tuple and info are right."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envs import EnvError, make_env

pytestmark = pytest.mark.slow  # every test here plays generated games
CHALLENGE_IDS = {
    "coin-collector": "tw-coin-collector-v0",
    "treasure-hunter": "tw-treasure-hunter-v0",
    "cooking": "tw-cooking-v0",
}
INFO_TYPES = {
    "admissible_commands": list,
    "task": str,
    "won": bool,
    "lost": bool,
    "score": int,
    "max_score": int,
    "description": str,
    "inventory": str,
}


@pytest.fixture
def make(games_dir: Path, tw_games: dict[str, Path]):
    """make_env for a challenge id, on the session's cached games."""

    def _make(env_id: str, **kwargs):
        return make_env(env_id, games_dir=str(games_dir), **kwargs)

    return _make


@pytest.mark.parametrize("challenge", CHALLENGE_IDS)
def test_the_walkthrough_wins_each_generated_game(make, challenge: str) -> None:
    env = make(CHALLENGE_IDS[challenge])
    observation, info = env.reset(seed=0)
    assert observation and info["task"] and info["admissible_commands"]
    assert {key: type(info[key]) for key in INFO_TYPES} == INFO_TYPES
    walkthrough = env.unwrapped.walkthrough()
    assert walkthrough and all(isinstance(command, str) for command in walkthrough)
    total = 0.0
    for number, command in enumerate(walkthrough, start=1):
        observation, reward, terminated, truncated, info = env.step(command)
        total += reward
        assert terminated == (number == len(walkthrough)) and not truncated
    assert info["won"] and not info["lost"]
    assert total == info["score"] == info["max_score"] > 0
    env.close()


@pytest.mark.parametrize("challenge", CHALLENGE_IDS)
def test_observation_drops_title_art_and_status_line_but_keeps_the_text(make, challenge: str) -> None:
    env = make(CHALLENGE_IDS[challenge])
    observation, info = env.reset(seed=0)
    assert info["description"].splitlines()[0] in observation
    assert "$$" not in observation  # the title art is gone
    assert any(char.isalpha() for char in observation.splitlines()[0])
    assert not observation.rstrip().endswith("0/1") and "\n>" not in observation


def test_nonsense_commands_answer_in_words(make) -> None:
    env = make("tw-coin-collector-v0")
    _, before = env.reset(seed=0)
    for command in ["xyzzy plugh", "", "take the moon\nand stars", "\\x41 escape", "é" * 500]:
        observation, reward, terminated, truncated, info = env.step(command)
        assert isinstance(observation, str) and observation in env.observation_space
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert info["admissible_commands"] == before["admissible_commands"]


@pytest.mark.parametrize("command", ["quit", "restart", "RESTORE", "undo", "save"])
def test_interpreter_commands_cannot_end_or_rewind_the_game_behind_the_env(make, command: str) -> None:
    env = make("tw-coin-collector-v0")
    _, before = env.reset(seed=0)
    observation, reward, terminated, _, info = env.step(command)
    assert "reset()" in observation and reward == 0.0 and not terminated
    assert info["admissible_commands"] == before["admissible_commands"]
    observation, *_ = env.step("y")
    assert "Are you sure" not in observation


def test_truncated_at_the_step_limit(make) -> None:
    env = make("tw-coin-collector-v0", max_episode_steps=3)
    env.reset(seed=0)
    results = [env.step("look")[2:4] for _ in range(3)]
    assert results == [(False, False), (False, False), (False, True)]


def test_default_step_limits(make) -> None:
    assert make("tw-coin-collector-v0").spec.max_episode_steps == 50
    assert make("tw-treasure-hunter-v0").spec.max_episode_steps == 50
    assert make("tw-cooking-v0").spec.max_episode_steps == 100


def test_seeded_resets_repeat_exactly(make) -> None:
    env = make("tw-cooking-v0")
    first = env.reset(seed=5)
    env.step("examine cookbook")
    assert env.reset(seed=5) == first


def test_a_pool_draws_its_game_from_the_reset_seed(make, games_dir: Path) -> None:
    env = make("tw-treasure-hunter-v0", n_games=2)
    assert [path.name for path in env.unwrapped.game_paths] == [
        "treasure-hunter-level1-seed0.z8",
        "treasure-hunter-level1-seed1.z8",
    ]
    games = {seed: env.reset(seed=seed)[1]["game"] for seed in range(8)}
    assert len(set(games.values())) == 2
    assert all(env.reset(seed=seed)[1]["game"] == game for seed, game in games.items())
    env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    *_, info = [env.step(command) for command in walkthrough][-1]
    assert info["won"]


def test_walkthrough_before_any_reset_is_the_first_games(make) -> None:
    env = make("tw-treasure-hunter-v0")
    walkthrough = env.unwrapped.walkthrough()
    env.reset(seed=0)
    assert env.unwrapped.walkthrough() == walkthrough


def test_game_file_env_plays_a_z8_or_its_json(tw_games: dict[str, Path]) -> None:
    game = tw_games["treasure-hunter"]
    for path in (game, game.with_suffix(".json")):
        env = make_env("tw-game-file-v0", path=str(path))
        assert env.spec.max_episode_steps == 100
        _, info = env.reset(seed=0)
        assert info["game"] == str(game)
        *_, terminated, _, info = [env.step(command) for command in env.unwrapped.walkthrough()][-1]
        assert terminated and info["won"]


def copy_game(source: Path, folder: Path, name: str = "game") -> Path:
    target = folder / f"{name}.z8"
    shutil.copyfile(source, target)
    shutil.copyfile(source.with_suffix(".json"), target.with_suffix(".json"))
    return target


def test_missing_and_corrupt_game_files_name_the_path(tw_games: dict[str, Path], tmp_path: Path) -> None:
    source = tw_games["treasure-hunter"]
    truncated = copy_game(source, tmp_path, "truncated")
    truncated.write_bytes(source.read_bytes()[:50_000])
    garbage = copy_game(source, tmp_path, "garbage")
    garbage.write_bytes(b"garbage")
    flipped = copy_game(source, tmp_path, "flipped")
    data = bytearray(source.read_bytes())
    data[5000] ^= 0xFF
    flipped.write_bytes(bytes(data))
    bad_metadata = copy_game(source, tmp_path, "bad_metadata")
    bad_metadata.with_suffix(".json").write_text('{"not": "a game"}')
    lonely = tmp_path / "lonely.z8"
    shutil.copyfile(source, lonely)
    (tmp_path / "old.ulx").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hi")
    cases = {
        tmp_path / "absent.z8": "game file not found",
        truncated: "is corrupt (header says",
        garbage: "is corrupt (not a Z-machine story file)",
        flipped: "is corrupt (checksum mismatch)",
        bad_metadata: "cannot load game",
        lonely: "has no lonely.json beside it",
        tmp_path / "absent.json": "the .json alone has no game text",
        tmp_path / "old.ulx": "Glulx (.ulx) games are not supported",
        tmp_path / "notes.txt": "not a TextWorld game",
    }
    for path, expected in cases.items():
        with pytest.raises(EnvError) as caught:
            make_env("tw-game-file-v0", path=str(path)).reset()
        message = str(caught.value)
        assert expected in message and str(path.with_suffix(".z8") if path.suffix == ".json" else path) in message
        assert "\n" not in message
