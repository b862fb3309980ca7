"""The few-shot lever's worked examples: decisions from train-split walkthroughs, one fixed block per family.

The examples live in examples.json beside this file, written by `python -m sandbox
prior-examples` (sandbox/features/prior_examples.py walks the train-split games it names; agents
never run envs). Each records the game it came from, so a test can hold them to the rule:
train-split games only, never a game `bench prior-quality` walks, never an unseen one.

The block is rendered with the family's own template pieces (task, state, action list, the
transcript cue and the action taken), so the model sees the very format it then completes,
and sits right after the instructions: it is the same for every state of the family, so its
KV cache is computed once and reused at every step.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from agents.errors import PriorError
from agents.prior.prompts import PromptTemplate, tidy

EXAMPLES_PATH = Path(__file__).with_name("examples.json")
HEADER = "Examples of good moves in other games of this kind:\n"
FOOTER = "\nYour game:\n"


@cache
def load_examples(path: Path = EXAMPLES_PATH) -> dict[str, tuple[dict[str, Any], ...]]:
    """Family -> its worked examples, in order (the few-shot lever takes the first N)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise PriorError(f"cannot read the few-shot examples {path} ({error}); regenerate: python -m sandbox prior-examples") from None
    return {family: tuple(examples) for family, examples in data["families"].items()}


def examples_block(family: str, count: int, template: PromptTemplate, list_actions: bool = True) -> str:
    """Up to `count` worked examples of `family` in its template's format ("" when it has none)."""
    examples = load_examples().get(family, ())[:count]
    if not examples:
        return ""
    shown = []
    for example in examples:
        parts = []
        if example["task"].strip():
            parts.append(template.task.format(task=tidy(example["task"])))
        parts.append(template.current.format(observation=tidy(example["observation"])))
        if list_actions:
            parts.append(template.actions.format(actions=", ".join(example["actions"])))
        parts.append(f"{template.cue} {example['action']}\n")
        shown.append("".join(parts))
    return HEADER + "".join(shown) + FOOTER
