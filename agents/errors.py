"""User-facing errors of the agents and the prior."""


class AgentError(ValueError):
    """A mistake the user can fix in agent or prior settings: printed as one line."""


class PriorError(AgentError):
    """Missing/corrupt model file, empty action list, a GGUF that is not a causal LM, ..."""
