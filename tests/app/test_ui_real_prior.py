"""The UI on the embedded default prior (SmolLM2-135M on llama.cpp): scores, latency, sample mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.widgets import Static

from agents.prior.config import PriorConfig
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady
from sandbox.ui.widgets.decision_table import ProposalList
from tests.app.support import Messages, fast_config, settle

pytestmark = pytest.mark.slow


async def test_default_prior_drives_the_ui(tmp_path: Path) -> None:
    # One llama.cpp thread: on a busy 2-core machine two threads spin against each other (20 s vs 1 s).
    prior = PriorConfig(cache_path=str(tmp_path / "prior_cache.sqlite"), k=3, max_new_tokens=6, n_threads=1)
    assert prior.model == "smollm2-135m"  # the default, as `make play` uses it
    messages = Messages()
    config = fast_config(prior=prior)
    config.dqn.k = 3  # DQN-Prior asks the prior for its own k completions in sample mode
    app = SandboxApp(config, saves_dir=tmp_path)
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        decision = messages.of(DecisionReady)[-1].decision
        result = decision.prior_result
        assert result.model == "smollm2-135m" and result.mode == "score"
        assert sum(row.prior for row in decision.candidates) == pytest.approx(1.0)
        assert len({round(row.prior, 6) for row in decision.candidates}) > 1  # a real LLM is not uniform
        status = str(app.query_one("#status-text", Static).content)
        stats = app.controller.session.agent.prior.stats
        assert "smollm2-135m" in status and f"{stats.last_ms:.0f}ms" in status and stats.last_ms > 10

        await pilot.press("m")  # sample mode: k free-form completions, shown raw with their mapping
        await settle(pilot)
        sampled = messages.of(DecisionReady)[-1]
        assert sampled.preview and sampled.decision.prior_result.mode == "sample"
        assert len(sampled.decision.prior_result.proposals) == 3
        proposals = app.query_one(ProposalList)
        assert proposals.display and "LLM said" in str(proposals.content)
        errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
        assert not errors
