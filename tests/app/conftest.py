"""Fixtures for the UI suite: the real Frozen Lake, the real agents, and the real uniform prior.

The uniform prior keeps the suite fast and every number deterministic; the tests marked
`slow` run the embedded SmolLM2 prior itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agents.prior.config import PriorConfig
from sandbox.ui.app import SandboxApp
from tests.app.support import fast_config


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., SandboxApp]:
    """A SandboxApp on the fast config that saves into a temporary folder."""

    def make(agent: str = "dqn-prior", prior: PriorConfig | None = None, **run: object) -> SandboxApp:
        return SandboxApp(fast_config(agent, prior, **run), saves_dir=tmp_path / "saves")

    return make
