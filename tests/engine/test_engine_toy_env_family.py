"""An env family added from outside the project: its env class lives in this test module, and one
`register_family` makes `python -m sandbox envs`, the UI's env picker, `train`, `eval` and
`bench prior-quality` find it, with the prior's prompt and the tuned defaults looked up by its name."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium
import pytest

from agents.errors import PriorError
from agents.prior import PriorQuery, render_prompt
from agents.prior.prompts import template_for
from envs import EnvError, EnvFamily, FamilyEnv, env_family, make_env, register_family
from envs import registry as env_registry
from envs.options import check_int
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, text_space
from sandbox.cli import main
from sandbox.engine.config import load_config
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import StepTaken
from sandbox.ui.screens.picker import PickerScreen
from tests.app.support import Messages, fast_config, settle

FAMILY = "corridor"
ENV_ID = "corridor-v0"
PROMPT = {
    "intro": "You walk along a corridor of rooms. Choose one step per turn.\n",
    "task": "Task: {task}\n",
    "history_header": "\nRecent steps:\n",
    "actions": "Possible steps: {actions}\n",
    "question": "Reply with the next step only.",
}
GUIDED_INTRO = "You walk along a corridor of rooms; the rooms ahead lie to the east. Choose one step per turn.\n"
DEFAULTS = """
[dqn-prior.run]
steps = 120
eval_every = 60
eval_episodes = 2

[dqn-prior.dqn]
gamma = 0.8
features = "hash"
learning_starts = 8
batch_size = 8
"""
NO_CACHE = ["--prior-cache", "none"]
HALL = FamilyEnv("hall-v0", "a hall", f"{__name__}:CorridorEnv")  # a second family's one id


class CorridorEnv(gymnasium.Env):
    """Rooms 1..length in a row: "go east" walks on, "go west" back, "wait" stays; the last room wins (reward 1)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, length: int = 3) -> None:
        self.length = check_int("length", length, 2)
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH, min_length=1)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        self.room = 1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self.room = 1
        return self._describe(), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if action not in self._commands():
            return f"You cannot {action} here. {self._describe()}", 0.0, False, False, self._info()
        self.room += {"go east": 1, "go west": -1, "wait": 0}[action]
        won = self.room == self.length
        return self._describe(), float(won), won, False, self._info()

    def _commands(self) -> list[str]:
        return ["go east", "wait"] + (["go west"] if self.room > 1 else [])

    def _describe(self) -> str:
        if self.room == self.length:
            return f"You are in room {self.room} of {self.length}, the last one: you have made it."
        return f"You are in room {self.room} of {self.length}. The corridor goes on to the east."

    def _info(self) -> dict[str, Any]:
        won = self.room == self.length
        return {
            "admissible_commands": [] if won else self._commands(),
            "task": "reach the last room",
            "won": won,
            "lost": False,
            "score": int(won),
            "max_score": 1,
        }

    def walkthrough(self) -> list[str]:
        return ["go east"] * (self.length - 1)

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        return () if self.room == self.length else ("go east",)


def corridor_family(defaults: Path | None = None, **changes: Any) -> EnvFamily:
    """The corridor family, with `changes` to its fields."""
    env = FamilyEnv(
        ENV_ID,
        "A corridor of rooms: walk east to the last one.",
        f"{__name__}:CorridorEnv",
        options={"length": 3},
        max_episode_steps=lambda options: 4 * options.get("length", 3),
    )
    family = EnvFamily(FAMILY, (env,), prompt=PROMPT, guided_prompt={"intro": GUIDED_INTRO}, defaults=defaults)
    return replace(family, **changes)


@pytest.fixture
def corridor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[EnvFamily]:
    """The corridor registered for this test only (the registry's dicts and gymnasium's id are restored afterwards)."""
    monkeypatch.setattr(env_registry, "_ENTRIES", dict(env_registry._ENTRIES))
    monkeypatch.setattr(env_registry, "_FAMILIES", dict(env_registry._FAMILIES))
    defaults = tmp_path / "corridor.toml"
    defaults.write_text(DEFAULTS)
    family = corridor_family(defaults)
    register_family(family)
    yield family
    gymnasium.registry.pop(ENV_ID, None)


def test_the_envs_command_lists_a_registered_family(corridor: EnvFamily, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs", "--json"]) == 0
    listed = {env["id"]: env for env in json.loads(capsys.readouterr().out)["envs"]}
    description = "A corridor of rooms: walk east to the last one."
    assert listed[ENV_ID] == {"id": ENV_ID, "family": FAMILY, "description": description}
    assert "TextFrozenLake-v0" in listed
    assert main(["envs"]) == 0
    assert any(line.split()[:2] == [ENV_ID, FAMILY] for line in capsys.readouterr().out.splitlines())


def test_make_env_checks_a_registered_familys_options(corridor: EnvFamily) -> None:
    env = make_env(ENV_ID, length=5)
    assert env.spec is not None and env.spec.max_episode_steps == 20  # the family's step limit, a function of the options
    env.close()
    with pytest.raises(EnvError, match=r"corridor-v0: unknown option size; valid options: length=3, max_episode_steps=12"):
        make_env(ENV_ID, size=5)
    with pytest.raises(EnvError, match="corridor-v0: option length must be at least 2, got 1; valid options: length=3"):
        make_env(ENV_ID, length=1)


def test_the_prior_renders_the_familys_prompt_by_its_name(corridor: EnvFamily) -> None:
    assert env_family(ENV_ID) == FAMILY
    query = PriorQuery(FAMILY, "reach the last room", "You are in room 1 of 3.", actions=("go east", "wait"))
    assert render_prompt(query) == (
        "You walk along a corridor of rooms. Choose one step per turn.\n"
        "Task: reach the last room\n"
        "\nNow:\nYou are in room 1 of 3.\n"
        "Possible steps: go east, wait\n"
        ">"
    )
    guided = template_for(FAMILY, "guided")
    assert guided.intro == GUIDED_INTRO and guided.question == "Reply with the next step only."
    assert template_for("frozenlake").intro.startswith("You are crossing a frozen lake")  # built-ins keep theirs


def test_train_takes_the_familys_defaults_and_eval_runs_it(
    corridor: EnvFamily, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    flags = ["--env", ENV_ID, "--agent", "dqn-prior", "--seed", "2", "--prior-model", "oracle", *NO_CACHE]
    assert main(["train", *flags, "--out", str(run_dir), "--quiet"]) == 0
    saved = load_config(run_dir / "config.toml")
    assert (saved.run.steps, saved.run.eval_every, saved.dqn.gamma, saved.dqn.features) == (120, 60, 0.8, "hash")
    assert saved.source_of("dqn", "gamma") == f"{corridor.defaults} [dqn-prior]"
    with open(run_dir / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["step"] for row in rows] == ["60", "120"]
    assert rows[-1]["eval_success"] == "1.0"  # the oracle prior proposes only "go east"
    capsys.readouterr()

    assert main(["eval", "--run", str(run_dir), "--episodes", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["episodes"], result["success_rate"]) == (3, 1.0)


def test_bench_prior_quality_walks_a_registered_family(
    corridor: EnvFamily, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "prior-quality", "--quick", "--families", FAMILY, "--priors", "uniform,oracle:skill=1"]
    assert main([*argv, "--out-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["games"] == [ENV_ID] and report["decisions"] == 2  # its walkthrough: two steps east
    skills = {(row["prior"], row["family"]): row["skill"] for row in report["rows"]}
    assert skills[("uniform", FAMILY)] == pytest.approx(0.0)
    assert skills[("oracle:skill=1", FAMILY)] == pytest.approx(1.0)


async def test_the_ui_picks_and_plays_a_registered_family(corridor: EnvFamily, tmp_path: Path) -> None:
    messages = Messages()
    app = SandboxApp(fast_config(env=ENV_ID), saves_dir=tmp_path, record_episodes=False)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        for _ in range(2):
            await pilot.press("space")
            await settle(pilot)
        steps = messages.of(StepTaken)
        assert len(steps) == 2 and app.controller.session.family == FAMILY
        app.action_pick_env()
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen) and ENV_ID in [choice for choice, _ in app.screen.choices]


def test_a_family_that_breaks_the_contract_is_refused(corridor: EnvFamily, tmp_path: Path) -> None:
    with pytest.raises(EnvError, match="env family 'corridor' is registered already"):
        register_family(corridor)
    with pytest.raises(EnvError, match="env family 'frozenlake' is registered already"):
        register_family(corridor_family(name="frozenlake"))
    clash = FamilyEnv("TextFrozenLake-v0", "a second lake", f"{__name__}:CorridorEnv")
    with pytest.raises(EnvError, match="id TextFrozenLake-v0 is registered already"):
        register_family(corridor_family(name="hall", envs=(clash,)))
    with pytest.raises(EnvError, match="defaults file .*missing.toml does not exist"):
        register_family(corridor_family(tmp_path / "missing.toml", name="hall", envs=(HALL,)))
    with pytest.raises(EnvError, match="has no envs"):
        register_family(corridor_family(name="hall", envs=()))


def test_a_prompt_missing_pieces_is_a_one_line_prior_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env_registry, "_ENTRIES", dict(env_registry._ENTRIES))
    monkeypatch.setattr(env_registry, "_FAMILIES", dict(env_registry._FAMILIES))
    register_family(corridor_family(name="hall", envs=(HALL,), prompt={"intro": "Walk.\n"}))
    try:
        with pytest.raises(PriorError, match="env family 'hall': its prompt pieces do not fit .* the pieces are intro, task"):
            template_for("hall")
    finally:
        gymnasium.registry.pop("hall-v0", None)
