"""Every setting of the action prior in one dataclass, shared by the CLI, config files and the UI."""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import PriorError

PRIOR_MODES = ("score", "sample")
MIN_N_CTX = 64
MAX_SAMPLES = 255  # llama.cpp's parallel-sequence limit (256) less the prompt's sequence
ORDERS = ("given", "sorted", "both")  # how the action list is shown: the env's order, sorted, or given and reversed (mean)
WORDINGS = ("default", "guided")  # the built-in prompt wording per family (agents/prior/prompts.py)


@dataclass
class PriorConfig:
    """How p_LLM(a|s) is obtained (see shared METHOD.md, "Getting p_LLM(a|s)")."""

    model: str = "smollm2-135m"  # an embedded model name, "uniform", a path to a GGUF file, or hf:OWNER/REPO:FILE.gguf
    mode: str = "score"  # "score": exact over admissible actions; "sample": k free-form proposals
    temperature: float = 1.0  # score: divides log-probs; sample: sampling temperature
    length_norm: bool = False  # score: average token log-prob instead of the sum
    # Score-mode levers (agents/prior/scoring.py; each changes the answer, so each is in the cache key):
    calibrate: bool = False  # subtract log p(a | a content-free prompt) over the same action list (PMI)
    order: str = "given"  # the listed actions' order (ORDERS); "both" averages the given and the reversed listing
    terminator: bool = False  # score the whole line: the action and its end ("\n", or the chat turn's end)
    few_shot: int = 0  # worked decisions from train-split walkthroughs of the family put before the state
    judge: bool = False  # judge each action alone: log p(Yes) - log p(No) after "Is <action> a good next step?"
    wording: str = "default"  # the built-in prompt wording (WORDINGS); a user template in templates_dir wins
    k: int = 5  # sample: number of free-form completions
    top_p: float = 1.0
    max_new_tokens: int = 10
    chat: bool = False  # wrap the prompt in the model's chat template (score mode: actions scored as the assistant's turn)
    epsilon: float = 0.0  # floor: mix this much uniform mass in, so no action has zero prior
    history: int = 0  # recent (action, observation) steps shown in the prompt (0: Markov text states cache best)
    list_actions: bool = True  # list the admissible actions in the prompt
    n_gpu_layers: int = 0  # llama.cpp layers to offload (-1 = all) on CUDA/Metal builds
    n_ctx: int = 2048
    n_threads: int = 2
    seed: int = 0  # sample mode: added to the run's seed, so each run seed draws samples of its own
    cache_path: str | None = "saves/prior_cache.sqlite"  # None disables the disk cache
    memory_cache_size: int = 4096  # LRU entries kept in memory
    templates_dir: str | None = "saves/prompts"  # user prompt templates, <family>.toml; None: built-in ones only
    variant: str = "default"  # a named set of the options above (agents/prior/variants.py), applied by build_prior
    # Ask a server instead of loading the model here: "http://HOST:PORT" for a `python -m sandbox prior-server`,
    # "openai+http://HOST:PORT/v1" for an OpenAI-compatible engine (vLLM, llama-cpp-python's server) serving `model`.
    server: str = ""
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable holding the server's key (the key itself is never stored)
    # How long a server that answered once may stay away before the run stops (with a checkpoint to resume from):
    # long enough for a vLLM restart (30-130 s on a CPU, minutes for a large model on a GPU).
    outage_wait_s: float = 300.0


def validate_config(config: PriorConfig) -> None:
    """Reject settings that cannot work, naming the setting, before anything is loaded."""
    problems = []
    if config.mode not in PRIOR_MODES:
        problems.append(f"mode must be one of {', '.join(PRIOR_MODES)}, got {config.mode!r}")
    if config.mode == "score" and not config.temperature > 0:
        problems.append(f"score-mode temperature must be > 0, got {config.temperature}")
    if config.temperature < 0:
        problems.append(f"temperature must be >= 0, got {config.temperature}")
    if not 1 <= config.k <= MAX_SAMPLES:
        problems.append(f"k must be in 1..{MAX_SAMPLES}, got {config.k}")
    if not 0 < config.top_p <= 1:
        problems.append(f"top_p must be in (0, 1], got {config.top_p}")
    if config.max_new_tokens < 1:
        problems.append(f"max_new_tokens must be >= 1, got {config.max_new_tokens}")
    if not 0 <= config.epsilon <= 1:
        problems.append(f"epsilon (prior floor) must be in [0, 1], got {config.epsilon}")
    if config.history < 0:
        problems.append(f"history must be >= 0, got {config.history}")
    if config.n_ctx < MIN_N_CTX:
        problems.append(f"n_ctx must be >= {MIN_N_CTX}, got {config.n_ctx}")
    if config.n_threads < 1:
        problems.append(f"n_threads must be >= 1, got {config.n_threads}")
    if config.memory_cache_size < 0:
        problems.append(f"memory_cache_size must be >= 0, got {config.memory_cache_size}")
    if config.order not in ORDERS:
        problems.append(f"order must be one of {', '.join(ORDERS)}, got {config.order!r}")
    if config.wording not in WORDINGS:
        problems.append(f"wording must be one of {', '.join(WORDINGS)}, got {config.wording!r}")
    if not config.outage_wait_s >= 0:
        problems.append(f"outage_wait_s must be >= 0 seconds, got {config.outage_wait_s}")
    if config.few_shot < 0:
        problems.append(f"few_shot must be >= 0, got {config.few_shot}")
    if problems:
        raise PriorError("bad prior settings: " + "; ".join(problems))
