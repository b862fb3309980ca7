"""User-facing errors of the app layer (bad config, bad run folder, ...)."""


class SandboxError(Exception):
    """A mistake the user can fix; the CLI prints it as one line, never a traceback."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """The errors a user can fix, from every layer: the CLI and a sweep's trials report them as one line.

    Imported when asked for (an error is being handled): `envs` loads gymnasium, which `--help` need not pay for.
    """
    from agents.errors import AgentError
    from envs.errors import EnvError

    return (AgentError, EnvError, SandboxError)
