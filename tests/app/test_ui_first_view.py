"""What a newcomer sees first: the opening observation before the first decision, Q values
that differ where their bars do, one labelled KL, and Bayes rule with p_LLM itself (issues 20, 23)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.decision import Candidate, Decision
from agents.registry import make_agent
from sandbox.ui.app import SandboxApp
from sandbox.ui.controller import Builders
from sandbox.ui.messages import DecisionReady, EpisodeStarted
from sandbox.ui.widgets.decision_table import DecisionTable, WhyPanel
from sandbox.ui.widgets.game_pane import Transcript
from sandbox.ui.widgets.telemetry import TelemetryLine
from tests.app.support import Messages, fast_config, posterior_by_hand, settle


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


def close_q_decision(q_values: list[float]) -> Decision:
    """A DQN-Prior-like decision whose Q values agree to two decimals."""
    rows = tuple(
        Candidate(action=f"go {name}", prior=0.25, q_value=q, likelihood=0.25, posterior=0.25, proposal_count=1)
        for name, q in zip(("north", "south", "east", "west"), q_values)
    )
    return Decision(action="go south", candidates=rows, rule="greedy", alpha=10.0, proposals=("go south",) * 4)


def q_cells(table: DecisionTable) -> list[str]:
    return [str(table.get_row_at(row)[3]).split()[0] for row in range(table.row_count)]


async def test_q_values_print_as_far_apart_as_their_bars(tmp_path: Path) -> None:
    app = SandboxApp(fast_config(), saves_dir=tmp_path, record_episodes=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.query_one(DecisionTable)
        table.show(close_q_decision([0.1101, 0.1149, 0.1180, 0.1180]))
        printed = q_cells(table)
        assert printed[0] != printed[1] != printed[2] == printed[3]  # +0.11 for all four before
        assert [float(value) for value in printed[:3]] == pytest.approx([0.1101, 0.1149, 0.1180], abs=5e-4)
        bars = [str(table.get_row_at(row)[3]).split()[1:] for row in range(table.row_count)]
        assert bars[0] != bars[1] != bars[2] == bars[3]
        table.show(close_q_decision([0.5, -0.25, 0.125, 0.0]))  # far apart: two decimals as before
        assert q_cells(table) == ["+0.50", "-0.25", "+0.12", "+0.00"]


async def test_one_labelled_kl_and_bayes_rule_with_p_llm_first(tmp_path: Path) -> None:
    messages = Messages()
    app = SandboxApp(fast_config(), saves_dir=tmp_path, record_episodes=False)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        for _ in range(6):  # some learning, so Q is not flat
            await pilot.press("space")
            await settle(pilot)
        decision = messages.of(DecisionReady)[-1].decision
        panel = "\n".join(str(app.query_one(widget).content) for widget in (TelemetryLine, WhyPanel))
        assert panel.count("KL") == 1
        assert f"KL(agent's posterior ‖ p_LLM) {decision.telemetry.kl:.2f} nats" in panel
        i = [row.action for row in decision.candidates].index(decision.action)
        p_llm = decision.candidate(decision.action).prior
        exact = posterior_by_hand(
            [row.prior for row in decision.candidates], [row.q_value for row in decision.candidates], decision.alpha
        )
        lines = panel.split("\n")
        bayes_rule = next(line for line in lines if line.startswith("Bayes rule"))
        estimate = lines[lines.index(bayes_rule) + 2]  # under the line that names the estimate
        assert bayes_rule.startswith(f"Bayes rule: p_LLM {p_llm:.2f} × likelihood")
        assert bayes_rule.endswith(f"→ posterior {exact[i]:.2f}")
        share = decision.proposals.count(decision.action) / len(decision.proposals)
        assert "Monte Carlo estimate of p_LLM" in panel and f"share of k={len(decision.proposals)} proposals" in panel
        assert estimate.strip().startswith(f"estimate {share:.2f} ×")
        assert estimate.endswith(f"→ agent's posterior {decision.candidate(decision.action).posterior:.2f}")
