"""User-facing errors of the environments."""


class EnvError(ValueError):
    """Unknown env id, bad options, missing or corrupt game file: printed as one line."""
