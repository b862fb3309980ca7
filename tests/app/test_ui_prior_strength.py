"""The prior-strength lesson headless: the dial moves, DQN-Prior races again with the oracle at the new
skill (a wrong prior below zero), α changes what it races with, and the curve keeps every finished race;
the main UI's prior picker offers the oracle with its skill."""

from __future__ import annotations

import argparse
from pathlib import Path

from textual.notifications import Notify
from textual.widgets import OptionList

from sandbox.commands import demo as demo_command
from sandbox.ui.lessons import LESSONS
from sandbox.ui.messages import RaceFinished, RaceProgress, SessionReady, SkillDialMoved
from sandbox.ui.prior_choices import ORACLE_SKILLS, prior_choices
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.demo import DemoApp
from sandbox.ui.lesson_checks import START_ALPHA, START_SKILL
from sandbox.ui.screens.prior_strength import PriorStrengthScreen
from sandbox.ui.widgets.strength_panels import StrengthCurve
from tests.app.support import Messages, fast_config, settle

RACE_STEPS = 40


async def test_the_dial_races_dqn_prior_again_against_the_control_and_a_wrong_prior_wins_less(tmp_path: Path) -> None:
    messages = Messages()
    app = DemoApp("prior-strength", fast_config(), saves_dir=tmp_path, train_steps=RACE_STEPS)
    seeds = LESSONS["prior-strength"].seeds
    async with app.run_test(message_hook=messages.hook, size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PriorStrengthScreen)
        first = once(messages, RaceFinished)
        assert [(race.skill, race.alpha) for race in first] == [(START_SKILL, START_ALPHA)]
        # dqn, the control (S = 0) and the dial's skill, each on every seed, for the race's env steps.
        assert set(first[0].races) == {"dqn", "S=+0", "S=+0.5"}
        for runs in first[0].races.values():
            assert [run.seed for run in runs] == list(range(seeds)) and {run.steps for run in runs} == {RACE_STEPS}
        assert once(messages, RaceProgress)

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

        curve = screen.query_one(StrengthCurve)
        # All mass on the optimal moves wins on every seed from its first episode; all mass off them never does.
        perfect, wrong = curve.points[(1.0, 10.0)], curve.points[(-1.0, 10.0)]
        assert min(perfect.successes) > 0.5 and all(run.first_success is not None for run in perfect.runs)
        assert max(wrong.successes) == 0.0 and all(run.first_success is None for run in wrong.runs)
        assert (0.0, 10.0) in curve.points  # the control is a point of its own
        # DQN raced once, at the start (no dial changes it).
        assert screen.controllers["dqn"].session.total_steps == RACE_STEPS
        assert curve.reference is not None and len(curve.reference.runs) == seeds

        await pilot.press("left_square_bracket")  # α 10 → 3: the control races again at the new α too
        await settle(pilot)
        assert once(messages, RaceFinished)[-1].alpha == 3.0
        assert {(-1.0, 3.0), (0.0, 3.0)} <= set(curve.points)
    errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
    assert not errors, errors[0].notification.message


def once(messages: Messages, kind: type) -> list:
    """Each message of `kind` once: a message the screen does not stop bubbles on to the app's pump too."""
    return list({id(message): message for message in messages.of(kind)}.values())


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
