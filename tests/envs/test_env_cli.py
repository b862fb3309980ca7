"""The envs, make-game and play-text commands, run as a person or a script would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.envs.test_env_registry import EXPECTED_FAMILIES

# `python -m sandbox` builds its parser from every command module, some owned by other
# suites; this drives one command module the way sandbox.cli.main does, errors included.
DRIVER = """
import argparse, importlib, sys
from sandbox.errors import user_error_types
module = importlib.import_module("sandbox.commands." + sys.argv[1])
parser = argparse.ArgumentParser(prog="python -m sandbox " + module.NAME)
module.add_arguments(parser)
try:
    sys.exit(module.run(parser.parse_args(sys.argv[2:])))
except user_error_types() as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
"""


def command(module: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER, module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_envs_json_lists_every_id_with_its_family() -> None:
    result = command("envs", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert list(payload) == ["envs"]
    assert {env["id"]: env["family"] for env in payload["envs"]} == EXPECTED_FAMILIES
    assert all(env["description"] for env in payload["envs"])


def test_envs_prints_a_table() -> None:
    lines = command("envs").stdout.splitlines()
    assert lines[0].split() == ["id", "family", "description"]
    assert len(lines) == 1 + len(EXPECTED_FAMILIES) and lines[-1].startswith(list(EXPECTED_FAMILIES)[-1])


def test_play_text_wins_frozen_lake_from_piped_input() -> None:
    # 4x4 lake: the start offers 1. go south 2. go east; numbers and typed commands both work.
    moves = "1\ngo south\ngo east\n2\ngo east\ngo east\n"
    result = command("play_text", "--env", "TextFrozenLake-v0", "--seed", "0", stdin=moves)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Task: Cross the frozen lake")
    assert "   1. go south\n   2. go east" in result.stdout
    assert "You won! Score 1/1, total reward 1, 6 steps." in result.stdout
    assert "won: True, lost: False" in result.stdout


def test_play_text_quits_and_survives_bad_numbers() -> None:
    result = command("play_text", "--env-arg", "map_name=8x8", stdin="99\nhello\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "There is no command 99; type 1-2 or a command." in result.stdout
    assert "That is not a move here." in result.stdout
    assert "You stopped. Score 0/1, total reward 0, 1 step." in result.stdout


def test_play_text_reports_a_bad_env_in_one_line() -> None:
    result = command("play_text", "--env", "nope-v0", stdin="")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown env id 'nope-v0'") and result.stderr.count("\n") == 1
    result = command("play_text", "--env-arg", "map_name=3x3", stdin="")
    assert result.returncode == 2 and "option map_name must be one of" in result.stderr


@pytest.mark.slow
def test_make_game_finds_the_cached_game(games_dir: Path, tw_games: dict[str, Path]) -> None:
    result = command("make_game", "--challenge", "cooking", "--games-dir", str(games_dir), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["path"] == str(tw_games["cooking"]) and payload["cached"] is True
    assert payload["seconds"] < 1.0
    plain = command("make_game", "--challenge", "treasure-hunter", "--level", "1", "--games-dir", str(games_dir))
    assert plain.stdout.strip() == str(tw_games["treasure-hunter"])


def test_make_game_rejects_options_of_another_challenge(tmp_path: Path) -> None:
    result = command("make_game", "--challenge", "coin-collector", "--cut", "--games-dir", str(tmp_path))
    assert result.returncode == 2 and "--cut: not an option of --challenge coin-collector" in result.stderr
    result = command("make_game", "--challenge", "cooking", "--go", "4", "--games-dir", str(tmp_path))
    assert result.returncode == 2 and "option go must be one of 1, 6, 9, 12" in result.stderr
    assert not any(tmp_path.iterdir())
