"""The prior server's wire format, shared by the server (`sandbox.prior_service.server`) and its client
(`sandbox.prior_service.remote`), so that neither imports the other.

Protocol: JSON over HTTP/1.1 (keep-alive).

    GET  /info    -> {"protocol", "model", "n_ctx", "gpu_layers", "templates", "stats"}
    POST /prior   {"settings", "query"} -> {"result", "cached", "tokens_evaluated"}
    POST /prompt  {"settings", "query"} -> {"prompt"}

`settings` are the per-request prior settings (ANSWER_SETTINGS: mode, k, temperature, ...), so
clients with different settings share one server; the model, n_ctx, threads, GPU offload, cache
file and prompt templates are the server's (clients check that theirs match). A PriorError
becomes HTTP 400 {"error": "..."}, raised again by the client as the same one-line error.
"""

from __future__ import annotations

from typing import Any

from agents.errors import PriorError
from agents.prior.config import PriorConfig
from agents.prior.types import PriorQuery

PROTOCOL = 2  # 2: the variant and the score-mode levers go with each request
# Settings a client sends with every request (everything that shapes an answer except the model itself):
# the variant's name and the levers it set, so the server applies the client's variant (its per-family
# settings included) rather than its own default.
ANSWER_SETTINGS = (
    "variant",
    "mode",
    "temperature",
    "length_norm",
    "calibrate",
    "order",
    "terminator",
    "few_shot",
    "judge",
    "wording",
    "k",
    "top_p",
    "max_new_tokens",
    "chat",
    "epsilon",
    "history",
    "list_actions",
    "seed",
)


def answer_settings(config: PriorConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in ANSWER_SETTINGS}


def query_to_dict(query: PriorQuery) -> dict[str, Any]:
    return {
        "family": query.family,
        "task": query.task,
        "observation": query.observation,
        "actions": list(query.actions),
        "history": [list(step) for step in query.history],
    }


def query_from_dict(data: Any) -> PriorQuery:
    """A query from a request body; anything malformed is a PriorError (HTTP 400)."""
    if not isinstance(data, dict):
        raise PriorError("the request's query must be a JSON object")
    texts = [data.get(name) for name in ("family", "task", "observation")]
    actions, history = data.get("actions"), data.get("history", [])
    if not all(isinstance(text, str) for text in texts):
        raise PriorError("the request's query needs text fields family, task and observation")
    if not isinstance(actions, list) or not all(isinstance(action, str) for action in actions):
        raise PriorError("the request's query.actions must be a list of strings")
    steps_ok = isinstance(history, list) and all(
        isinstance(step, list) and len(step) == 2 and all(isinstance(part, str) for part in step) for step in history
    )
    if not steps_ok:
        raise PriorError("the request's query.history must be a list of [action, observation] pairs")
    family, task, observation = texts
    return PriorQuery(family, task, observation, tuple(actions), tuple((a, o) for a, o in history))
