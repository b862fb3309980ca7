"""What a newcomer sees first: the opening observation before the first decision, Q values
that differ where their bars do, one labelled KL, and Bayes rule with p_LLM itself (issues 20, 23)."""

from __future__ import annotations

from pathlib import Path

from agents.registry import make_agent
from sandbox.ui.app import SandboxApp
from sandbox.ui.controller import Builders
from sandbox.ui.messages import DecisionReady, EpisodeStarted
from sandbox.ui.widgets.game_pane import Transcript
from tests.app.support import Messages, fast_config, settle


class WatchingAgent:
    """The real agent, noting what the transcript showed each time it was asked to act."""

    def __init__(self, agent, app: SandboxApp, seen: list[str]) -> None:
        self._agent, self._app, self._seen = agent, app, seen

    def __getattr__(self, name: str):
        return getattr(self._agent, name)

    def act(self, *args, **kwargs):
        lines = self._app.query_one(Transcript).lines
        self._seen.append("\n".join(line.text for line in lines))
        return self._agent.act(*args, **kwargs)


async def test_first_observation_is_on_screen_before_the_first_decision(tmp_path: Path) -> None:
    seen: list[str] = []
    app: SandboxApp

    def agent(config):
        return WatchingAgent(make_agent(config), app, seen)

    messages = Messages()
    app = SandboxApp(fast_config(), saves_dir=tmp_path, builders=Builders(agent=agent), record_episodes=False)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        (started,) = messages.of(EpisodeStarted)
        first_line = started.state.observation.splitlines()[0][:30]
        assert seen and first_line in seen[0]  # painted while the agent (the LLM) was still deciding
        assert messages.seen.index(started) < messages.seen.index(messages.of(DecisionReady)[0])
