"""The UI on a real ALFWorld game (tests/fixtures/alfworld): steps, the planner's ★ marks, and a win."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.prior.config import PriorConfig
from envs.optimal import optimal_actions
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady
from sandbox.ui.widgets.decision_table import DecisionTable
from tests.app.support import Messages, fast_config, settle
from tests.app.test_ui_optimal import marked
from tests.envs.test_env_alfworld import FIXTURES

pytestmark = pytest.mark.slow  # the game's PDDL is translated at load (about a second)


async def test_alfworld_plays_in_the_ui_with_star_marks_until_the_oracle_wins(tmp_path: Path) -> None:
    messages = Messages()
    config = fast_config(
        prior=PriorConfig(model="oracle:skill=1", cache_path=None),
        env="alfworld-v0",
        env_kwargs={"data_dir": str(FIXTURES), "split": "valid_train", "task": "pick-place"},
    )
    app = SandboxApp(config, saves_dir=tmp_path / "saves")
    # Skill 1: every proposal is the planner's command, so DQN-Prior's posterior acts on it at each step.
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        session = app.controller.session
        assert session.state.task.startswith("Your task is to: put")
        table = app.query_one(DecisionTable)
        await pilot.press("asterisk")
        await settle(pilot)
        assert marked(table) == set(optimal_actions(session.env)) != set()
        for _ in range(30):
            await pilot.press("space")
            await settle(pilot)
            if session.done:
                break
            assert marked(table) == set(optimal_actions(session.env))
            assert messages.of(DecisionReady)[-1].optimal is not None
        assert session.done and session.info["won"]
