"""Every setting of the action prior in one dataclass, shared by the CLI, config files and the UI."""

from __future__ import annotations

from dataclasses import dataclass

PRIOR_MODES = ("score", "sample")


@dataclass
class PriorConfig:
    """How p_LLM(a|s) is obtained (see shared METHOD.md, "Getting p_LLM(a|s)")."""

    model: str = "smollm2-135m"  # an embedded model name, "uniform", or a path to a GGUF file
    mode: str = "score"  # "score": exact over admissible actions; "sample": k free-form proposals
    temperature: float = 1.0  # score: divides log-probs; sample: sampling temperature
    length_norm: bool = False  # score: average token log-prob instead of the sum
    k: int = 5  # sample: number of free-form completions
    top_p: float = 1.0
    max_new_tokens: int = 10
    chat: bool = False  # sample: wrap the prompt in the model's chat template
    epsilon: float = 0.0  # floor: mix this much uniform mass in, so no action has zero prior
    history: int = 0  # recent (action, observation) steps shown in the prompt (0: Markov text states cache best)
    list_actions: bool = True  # list the admissible actions in the prompt
    n_gpu_layers: int = 0  # llama.cpp layers to offload (-1 = all) on CUDA/Metal builds
    n_ctx: int = 2048
    n_threads: int = 2
    seed: int = 0
    cache_path: str | None = "saves/prior_cache.sqlite"  # None disables the disk cache
    memory_cache_size: int = 4096  # LRU entries kept in memory
    templates_dir: str | None = "saves/prompts"  # user prompt templates, <family>.toml; None: built-in ones only
    variant: str = "default"  # a named set of the options above (agents/prior/variants.py), applied by build_prior
    server: str = ""  # "http://HOST:PORT" of a `python -m sandbox prior-server` to ask instead of loading the model here
