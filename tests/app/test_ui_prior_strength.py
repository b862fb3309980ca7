"""The prior-strength lesson headless: the dial moves, DQN-Prior races again with the oracle at the new
skill (a wrong prior below zero), α changes what it races with, and the curve keeps every finished race;
the main UI's prior picker offers the oracle with its skill."""

from __future__ import annotations

import argparse
from pathlib import Path

from textual.notifications import Notify
from textual.widgets import OptionList

from sandbox.commands import demo as demo_command
from sandbox.ui.messages import RaceFinished, SessionReady, SkillDialMoved, TrainingProgress
from sandbox.ui.prior_choices import ORACLE_SKILLS, prior_choices
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.demo import DemoApp
from sandbox.ui.screens.prior_strength import START_ALPHA, START_SKILL, PriorStrengthScreen
from sandbox.ui.widgets.strength_panels import StrengthCurve
from tests.app.support import Messages, fast_config, settle

RACE_STEPS = 40


async def test_the_dial_races_dqn_prior_again_and_a_wrong_prior_wins_less(tmp_path: Path) -> None:
    messages = Messages()
    app = DemoApp("prior-strength", fast_config(), saves_dir=tmp_path, train_steps=RACE_STEPS)
    async with app.run_test(message_hook=messages.hook, size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PriorStrengthScreen)
        first = once(messages, RaceFinished)
        assert [(race.skill, race.alpha) for race in first] == [(START_SKILL, START_ALPHA)]
        progress = once(messages, TrainingProgress)
        assert {message.name for message in progress} == {"dqn", "dqn-prior"} and progress[-1].done == RACE_STEPS
        assert screen.controllers["dqn-prior"].agent.prior.skill == START_SKILL

        for _ in range(3):  # 0.5 → 0.75 → 0.9 → 1: each stop races (one the next key catches running stops early)
            await pilot.press("up")
        await settle(pilot)
        for _ in range(ORACLE_SKILLS.index(1.0)):  # down to -1: a confidently wrong prior
            await pilot.press("down")
        await settle(pilot)
        dial = [(moved.skill, moved.alpha) for moved in once(messages, SkillDialMoved)]
        assert dial[:4] == [(0.5, 10.0), (0.75, 10.0), (0.9, 10.0), (1.0, 10.0)] and dial[-1] == (-1.0, 10.0)
        finished = {(race.skill, race.alpha) for race in once(messages, RaceFinished)}
        assert {(1.0, 10.0), (-1.0, 10.0)} <= finished
        assert screen.controllers["dqn-prior"].agent.prior.skill == -1.0

        curve = screen.query_one(StrengthCurve)
        # All mass on the optimal moves wins from the first episode; all mass off them never reaches the goal.
        assert curve.points[(1.0, 10.0)].success > 0.5 and curve.points[(1.0, 10.0)].first_success == 1
        assert curve.points[(-1.0, 10.0)].success == 0.0 and curve.points[(-1.0, 10.0)].first_success is None
        # DQN raced once, at the start (no dial changes it): every later race shows that race again.
        assert screen.controllers["dqn"].session.total_steps == RACE_STEPS
        assert curve.reference is not None and curve.reference.episodes == len(progress_of(messages, "dqn")[-1].wins)

        await pilot.press("left_square_bracket")  # α 10 → 3: Q gets less say against the wrong prior
        await settle(pilot)
        assert once(messages, RaceFinished)[-1].alpha == 3.0
        assert screen.controllers["dqn-prior"].agent.config.alpha == 3.0
        assert (-1.0, 3.0) in curve.points and len(curve.points) >= 3
    errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
    assert not errors, errors[0].notification.message


def once(messages: Messages, kind: type) -> list:
    """Each message of `kind` once: a message the screen does not stop bubbles on to the app's pump too."""
    return list({id(message): message for message in messages.of(kind)}.values())


def progress_of(messages: Messages, name: str) -> list:
    return [message.history for message in once(messages, TrainingProgress) if message.name == name]


def test_the_demo_command_lists_and_opens_the_lesson(monkeypatch, capsys) -> None:
    opened = []
    monkeypatch.setattr(DemoApp, "run", lambda self: opened.append(self.lesson_screen.race_steps))
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    assert demo_command.run(parser.parse_args([])) == 0
    assert "prior-strength" in capsys.readouterr().out
    assert demo_command.run(parser.parse_args(["prior-strength", "--steps", "50"])) == 0
    assert opened == [50]


def test_the_prior_picker_offers_the_oracle_at_every_skill_of_the_dial() -> None:
    values = [value for value, _ in prior_choices("smollm2-135m")]
    assert values[:3] == ["smollm2-135m", "gemma-3-270m", "uniform"]
    assert values[3:] == [f"oracle:skill={skill:g}" for skill in sorted(ORACLE_SKILLS, reverse=True)]
    assert prior_choices("my.gguf")[0][0] == "my.gguf"  # a custom model stays pickable (and highlighted)


async def test_picking_the_oracle_in_the_main_ui_rebuilds_the_agent_with_it(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook, size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        options = picker.query_one(OptionList)
        options.highlighted = [value for value, _ in picker.choices].index("oracle:skill=0.75")
        await pilot.press("enter")
        await settle(pilot)
        assert messages.of(SessionReady)[-1].config.prior.model == "oracle:skill=0.75"
        assert app.controller.agent.prior.skill == 0.75
        assert app.controller.session.state.optimal  # the session asks the env for O: the oracle can answer
    errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
    assert not errors, errors[0].notification.message
