"""The reference the engine tests hold vLLM to: each action's summed token log-prob after its prompt,
from the same float32 weights in transformers (the engines venv runs it).

Reads JSON from stdin, [{"prompt": str, "actions": [str, ...]}, ...]; writes JSON to stdout, one
{"log_probs": [...], "token_counts": [...]} per item. Prompt and action are tokenised together, as
the engine does, and an action's tokens are those whose character offsets fall inside " action".
Usage: .venv-engines/bin/python tests/engines/transformers_scores.py MODEL_DIR < queries.json
"""

from __future__ import annotations

import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def score(model, tokenizer, prompt: str, action: str) -> tuple[float, int]:
    text = f"{prompt} {action}"
    encoded = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    ids = encoded["input_ids"][0]
    offsets = encoded["offset_mapping"][0].tolist()
    inside = [i for i, (start, _) in enumerate(offsets) if start >= len(prompt)]
    with torch.no_grad():
        log_probs = torch.log_softmax(model(encoded["input_ids"]).logits[0].double(), dim=-1)
    total = sum(float(log_probs[i - 1, ids[i]]) for i in inside)
    return total, len(inside)


def main() -> None:
    torch.set_num_threads(1)
    model_dir = sys.argv[1]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    answers = []
    for item in json.load(sys.stdin):
        scored = [score(model, tokenizer, item["prompt"], action) for action in item["actions"]]
        answers.append({"log_probs": [value for value, _ in scored], "token_counts": [count for _, count in scored]})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
