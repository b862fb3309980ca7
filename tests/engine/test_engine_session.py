"""`Session.play`: the one place where a finished episode is followed by the next (reset, then step)."""

from __future__ import annotations

from agents.registry import make_agent
from sandbox.engine.runs import make_env_for
from sandbox.engine.session import Session
from sandbox.ui.controller import SessionController
from tests.app.support import fast_config


def session(agent: str = "random") -> Session:
    config = fast_config(agent)
    env, family = make_env_for(config)
    return Session(env, make_agent(config), family=family, seed=3)


def test_play_runs_on_across_episodes_exactly_like_reset_then_step() -> None:
    played, stepped = session(), session()
    for _ in range(60):
        record = played.play()
        if stepped.done:
            stepped.reset()
        expected = stepped.step()
        assert (record.episode, record.t, record.action, record.reward) == (
            expected.episode,
            expected.t,
            expected.action,
            expected.reward,
        )
    assert played.episode > 1  # episodes ended and the next ones started


def test_the_ui_controller_records_every_episode_play_starts(tmp_path) -> None:
    controller = SessionController(fast_config("random"), saves_dir=tmp_path)
    controller.build()
    controller.train(60, on_step=lambda record: None, should_stop=lambda: False)
    episodes = controller.session.episode
    assert episodes > 1
    finished = len(controller.history.episode_rows)
    assert len(list((tmp_path / "episodes").glob("*.jsonl"))) in (finished, finished + 1)  # + the one running
