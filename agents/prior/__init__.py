"""The LLM action prior p_LLM(a|s) on llama.cpp, plus the uniform baseline and the exact cache."""

from agents.prior.config import PRIOR_MODES, PriorConfig
from agents.prior.mapping import map_to_action
from agents.prior.models import DEFAULT_MODEL, resolve_model_path
from agents.prior.priors import LlamaPrior, UniformPrior, build_prior
from agents.prior.prompts import TEMPLATES, render_prompt
from agents.prior.types import ActionPrior, PriorQuery, PriorResult, PriorStats, Proposal

__all__ = [
    "DEFAULT_MODEL",
    "PRIOR_MODES",
    "TEMPLATES",
    "ActionPrior",
    "LlamaPrior",
    "PriorConfig",
    "PriorQuery",
    "PriorResult",
    "PriorStats",
    "Proposal",
    "UniformPrior",
    "build_prior",
    "map_to_action",
    "render_prompt",
    "resolve_model_path",
]
