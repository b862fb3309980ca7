"""Envs of the JVM-backed suites, started once per session and shared.

Starting TextWorldExpress's JVM takes ~1 s and ScienceWorld's ~3 s (more on a busy machine),
so every test that can use an env with these options shares it; each test resets it first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gymnasium
import pytest

from envs import make_env

# ScienceWorld's task with the shortest gold path that can also be lost (focusing on a wrong animal).
SCIENCEWORLD_TEST_OPTIONS = {"task": "lifespan-longest-lived"}
JVM_FAMILIES = ("textworld-express", "scienceworld")


@pytest.fixture(scope="session")
def jvm_env() -> Iterator[Callable[[str], gymnasium.Env]]:
    """Shared envs by id: TextWorldExpress ids with their defaults, scienceworld-v0 with SCIENCEWORLD_TEST_OPTIONS."""
    envs: dict[str, gymnasium.Env] = {}

    def get(env_id: str) -> gymnasium.Env:
        if env_id not in envs:
            envs[env_id] = make_env(env_id, **(SCIENCEWORLD_TEST_OPTIONS if env_id == "scienceworld-v0" else {}))
        return envs[env_id]

    yield get
    for env in envs.values():
        env.close()
