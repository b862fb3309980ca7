"""Text environments as gymnasium envs: observation = game text, action = command string.

Every env returns the gymnasium 5-tuple and an `info` with at least `admissible_commands`,
`task`, `won`, `lost`, `score` and `max_score`; `env.unwrapped.walkthrough()` gives a
winning command sequence. Importing this package registers every id with gymnasium.
"""

from envs.errors import EnvError
from envs.registry import (
    REQUIRED,
    EnvFamily,
    EnvSpec,
    FamilyEnv,
    env_family,
    list_envs,
    make_env,
    register_envs,
    register_family,
)

register_envs()

__all__ = [
    "REQUIRED",
    "EnvError",
    "EnvFamily",
    "EnvSpec",
    "FamilyEnv",
    "env_family",
    "list_envs",
    "make_env",
    "register_family",
]
