"""User-facing errors of the app layer (bad config, bad run folder, ...)."""


class SandboxError(Exception):
    """A mistake the user can fix; the CLI prints it as one line, never a traceback."""
