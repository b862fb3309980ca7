"""User-facing errors of the app layer (bad config, bad run folder, ...)."""

from agents.errors import AgentError
from envs.errors import EnvError


class SandboxError(Exception):
    """A mistake the user can fix; the CLI prints it as one line, never a traceback."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """The errors a user can fix, from every layer: the CLI and a sweep's trials report them as one line."""
    return (AgentError, EnvError, SandboxError)
