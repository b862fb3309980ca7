"""The games cache: keyed by (challenge, settings, seed), instant on a hit, never half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs import EnvError, games, make_env
from envs.games import challenge_settings, find_or_make_game, game_stem, games_dir_or_default


def never_generate(*args: object) -> None:
    raise AssertionError("a cached game was generated again")


@pytest.mark.slow
def test_a_second_request_is_a_cache_hit(games_dir: Path, tw_games: dict[str, Path], monkeypatch) -> None:
    monkeypatch.setattr(games, "_generate", never_generate)
    for challenge, path in tw_games.items():
        again = find_or_make_game(challenge, challenge_settings(challenge), 0, games_dir)
        assert again.cached and again.path == path
        assert path.with_suffix(".json").is_file()
        assert not list(games_dir.glob(f".making-{path.stem}-*"))  # another pytest-xdist worker may be making others


@pytest.mark.slow
def test_making_an_env_twice_reuses_the_game(games_dir: Path, tw_games: dict[str, Path], monkeypatch) -> None:
    monkeypatch.setattr(games, "_generate", never_generate)
    env = make_env("tw-cooking-v0", games_dir=str(games_dir))
    assert env.unwrapped.game_paths == (tw_games["cooking"],)


def test_the_file_name_spells_out_the_key() -> None:
    assert game_stem("coin-collector", challenge_settings("coin-collector"), 0) == "coin-collector-level5-seed0"
    cooking = challenge_settings("cooking", recipe=2, cut=True, split="train")
    assert game_stem("cooking", cooking, 3) == "cooking-recipe2-take1-go1-cut-recipe_seed0-split_train-seed3"


def test_a_failed_generation_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(tw_name, settings, seed, game_path: Path) -> None:
        game_path.with_suffix(".json").write_text("{}")
        game_path.write_bytes(b"half a game")
        raise EnvError("TextWorld could not make it")

    monkeypatch.setattr(games, "_generate", crash)
    with pytest.raises(EnvError, match="could not make"):
        find_or_make_game("treasure-hunter", challenge_settings("treasure-hunter"), 0, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_games_dir_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(EnvError, match="cannot write games to"):
        find_or_make_game("treasure-hunter", challenge_settings("treasure-hunter"), 0, blocker / "games")


def test_games_dir_default_and_environment_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(games.GAMES_DIR_ENV_VAR, raising=False)
    assert games_dir_or_default() == Path("saves/games")
    monkeypatch.setenv(games.GAMES_DIR_ENV_VAR, str(tmp_path))
    assert games_dir_or_default() == tmp_path
    assert games_dir_or_default("elsewhere") == Path("elsewhere")


def test_unknown_challenge_or_setting(tmp_path: Path) -> None:
    with pytest.raises(EnvError, match="unknown challenge 'zork'"):
        challenge_settings("zork")
    with pytest.raises(EnvError, match="coin-collector games have no option recipe"):
        challenge_settings("coin-collector", recipe=2)
