"""The llama.cpp backend's KV bookkeeping, on the tiny random-weight model (milliseconds per test)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig
from agents.prior.backend import LlamaBackend, parse_placement
from agents.prior.models import expected_gpu_layers
from benchmarks.synthetic_gguf import SHAPES
from tests.prior.conftest import make_query, write_tiny_gguf

ACTIONS = ("go north", "take coin", "l", "open the small wooden box", "x")


@pytest.fixture
def backend(tiny_gguf: Path) -> LlamaBackend:
    backend = LlamaBackend(tiny_gguf, n_ctx=1024, n_threads=1, n_gpu_layers=0, max_sequences=8)
    yield backend
    backend.close()


def tokens(backend: LlamaBackend, prompt: str, actions: tuple[str, ...] = ACTIONS) -> tuple[list[int], list[list[int]]]:
    return backend.tokenize_prompt(prompt), [backend.tokenize_action(action) for action in actions]


def candidate_cost(candidates: list[list[int]]) -> int:
    """Tokens decoded for the candidates: each multi-token one once, in a batch of at least two."""
    return sum(max(2, len(c) - 1) for c in candidates if len(c) > 1)


def test_kv_reuse_scores_equal_naive_per_candidate_evaluation(backend: LlamaBackend) -> None:
    prompt, candidates = tokens(backend, "You are in a kitchen. A coin lies here.\n>")
    scored = backend.score(prompt, candidates)
    np.testing.assert_allclose(scored.log_probs, backend.score_naive(prompt, candidates), atol=1e-4, rtol=0)
    assert scored.token_counts == tuple(len(c) for c in candidates)
    # One prompt evaluation, then each multi-token action once (≥ 2 tokens per batch).
    assert scored.tokens_evaluated == len(prompt) + candidate_cost(candidates)


def test_the_log_probs_of_every_continuation_of_the_vocabulary_sum_to_one(backend: LlamaBackend) -> None:
    # Whatever normalisation the code uses (the naive reference shares it), p(token | prompt) over the whole
    # vocabulary sums to 1, and so does p(token | prompt, first) through the multi-token (KV reuse) path:
    # Σ_t p(first t | prompt) = p(first | prompt).
    prompt = backend.tokenize_prompt("You are in a kitchen. A coin lies here.\n>")
    vocabulary = range(backend.n_vocab)
    single = backend.score(prompt, [[token] for token in vocabulary]).log_probs
    assert np.exp(single).sum() == pytest.approx(1.0, abs=1e-6)
    first = int(np.argmax(single))
    pairs = backend.score(prompt, [[first, token] for token in vocabulary]).log_probs
    assert np.exp(pairs).sum() == pytest.approx(np.exp(single[first]), rel=1e-5)


def test_prompt_longer_than_one_batch_is_chunked_without_changing_scores(backend: LlamaBackend) -> None:
    prompt, candidates = tokens(backend, "a" * (backend.n_batch + 1 - 3) + "\n>")  # BOS + n_batch + 1 tokens
    assert len(prompt) == backend.n_batch + 1  # the split that would leave a one-token batch
    np.testing.assert_allclose(
        backend.score(prompt, candidates).log_probs, backend.score_naive(prompt, candidates), atol=1e-4, rtol=0
    )


def test_cross_query_prefix_reuse_equals_fresh_evaluation(backend: LlamaBackend) -> None:
    first, candidates = tokens(backend, "Task: take the coin.\nYou are in the hallway.\n>")
    second, _ = tokens(backend, "Task: take the coin.\nYou are in the kitchen.\n>")
    backend.score(first, candidates)
    reused = backend.score(second, candidates)
    shared = len(backend.tokenize_prompt("Task: take the coin.\nYou are in the "))
    assert reused.tokens_evaluated - candidate_cost(candidates) == len(second) - shared  # only the new suffix
    np.testing.assert_allclose(reused.log_probs, backend.score_naive(second, candidates), atol=1e-4, rtol=0)


def test_repeated_prompt_re_decodes_only_its_last_two_tokens(backend: LlamaBackend) -> None:
    prompt, candidates = tokens(backend, "You are in a kitchen.\n>")
    backend.score(prompt, candidates[:1])
    again = backend.score(prompt, candidates)
    assert again.tokens_evaluated == 2 + candidate_cost(candidates)
    np.testing.assert_allclose(again.log_probs, backend.score_naive(prompt, candidates), atol=1e-4, rtol=0)


def test_samples_are_reproducible_whatever_the_cache_held(backend: LlamaBackend) -> None:
    prompt, candidates = tokens(backend, "You are in a kitchen.\n>")
    settings = dict(k=4, temperature=1.0, top_p=0.9, max_new_tokens=6, seed=7)
    fresh = backend.sample(prompt, **settings)
    backend.score(backend.tokenize_prompt("Something else entirely.\n>"), candidates)
    after_other = backend.sample(prompt, **settings)
    assert fresh.texts == after_other.texts
    assert len(fresh.texts) == 4
    assert backend.sample(prompt, **{**settings, "seed": 8}).texts != fresh.texts


def test_prompt_that_cannot_fit_the_context_is_a_prior_error(backend: LlamaBackend) -> None:
    prompt, candidates = tokens(backend, "z" * 1100)
    with pytest.raises(PriorError, match="does not fit n_ctx"):
        backend.score(prompt, candidates)


def test_placement_is_read_from_llama_cpp_every_layer_on_the_cpu_here(backend: LlamaBackend) -> None:
    # The repeating layers and the output layer, as llama.cpp's loader logged them; a CPU build places all on the CPU.
    assert backend.placement.layer_devices == ("CPU",) * (SHAPES["tiny"].n_layers + 1)
    assert sum(backend.placement.weights_mib.values()) > 0 and backend.placement.gpu_weights_mib == 0
    assert backend.gpu_layers == 0


def test_gpu_layers_count_the_layers_llama_cpp_put_on_a_gpu() -> None:
    # The lines a CUDA build logs for a 2-layer model asked for n_gpu_layers=2: the last layer and the output layer.
    log = [
        "load_tensors: layer   0 assigned to device CPU, is_swa = 0\n",
        "load_tensors: layer   1 assigned to device CUDA0, is_swa = 0\n",
        "load_tensors: layer   2 assigned to device CUDA0, is_swa = 0\n",
        "load_tensors: offloaded 2/3 layers to GPU\n",
        "load_tensors:        CUDA0 model buffer size =    12.50 MiB\n",
        "load_tensors:    CUDA_Host model buffer size =     4.25 MiB\n",
    ]
    placement = parse_placement(log)
    assert placement.layer_devices == ("CPU", "CUDA0", "CUDA0") and placement.gpu_layers == 2
    assert placement.weights_mib == {"CUDA0": 12.5, "CUDA_Host": 4.25} and placement.gpu_weights_mib == 12.5
    assert expected_gpu_layers(2, 2, supports_offload=True) == 2  # the prediction agrees with what llama.cpp does
    assert expected_gpu_layers(-1, 2, supports_offload=True) == 3  # "all": every layer and the output layer
    assert expected_gpu_layers(-1, 2, supports_offload=False) == 0


MULTIMODAL_MODULES = ("llama_cpp.llava_cpp", "llama_cpp.mtmd_cpp")


def test_nothing_uses_llama_cpp_multimodal_library() -> None:
    # `make` builds llama-cpp-python with -DLLAVA_BUILD=OFF: importing these modules (or the chat handlers that
    # import them, e.g. Llava15ChatHandler, MTMDChatHandler) would fail for want of libmtmd.
    repo = Path(__file__).resolve().parents[2]
    offenders = []
    for source in sorted(p for folder in ("agents", "sandbox", "envs", "benchmarks") for p in (repo / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            if any(name.startswith(MULTIMODAL_MODULES) or name.endswith("ChatHandler") for name in names):
                offenders.append(f"{source.relative_to(repo)}:{node.lineno}")
    assert offenders == []


def full_sequence_scores(backend: LlamaBackend, prompt: str, actions: tuple[str, ...]) -> np.ndarray:
    """The reference: prompt + " " + action tokenised as one text and evaluated from an empty cache,
    summing the log-probs of the tokens after the prompt's."""
    prompt_tokens = backend.tokenize_prompt(prompt)
    scores = []
    for action in actions:
        whole = backend.tokenize_prompt(f"{prompt} {action}")
        assert whole[: len(prompt_tokens)] == prompt_tokens
        scores.append(backend.score_naive(prompt_tokens, [whole[len(prompt_tokens) :]])[0])
    return np.asarray(scores)


def test_space_prefix_tokenizer_scores_equal_a_full_sequence_evaluation(space_prefix_gguf: Path) -> None:
    config = PriorConfig(model=str(space_prefix_gguf), n_ctx=512, n_threads=1, cache_path=None, templates_dir=None)
    prior = LlamaPrior(config)
    query = make_query()
    first = prior(query)
    second = prior(make_query("You are in a hallway. A door leads north."))  # its prompt prefix comes from the KV
    backend = prior._load()
    for result in (first, second):
        np.testing.assert_allclose(
            result.sequence_log_probs, full_sequence_scores(backend, result.prompt, query.actions), atol=1e-4, rtol=0
        )
    # " go north" after the prompt is "▁go▁north": one space token, not the two " go north" alone tokenises to.
    assert first.token_counts[0] == len("go north") + 1
    prior.close()


def test_an_action_merging_with_the_prompts_end_is_scored_after_the_same_prompt_tokens(tmp_path: Path) -> None:
    # ">▁" is one token here, so "…> go north" does not start with the prompt's own tokens ("…", ">"): every action is
    # then scored as its own tokens after the prompt's, as the others are, rather than against another prompt.
    model = write_tiny_gguf(tmp_path / "merging.gguf", add_space_prefix=True, extra_tokens=(">\u2581",))
    prior = LlamaPrior(PriorConfig(model=str(model), n_ctx=512, n_threads=1, cache_path=None, templates_dir=None))
    query = make_query()
    result = prior(query)
    backend = prior._load()
    prompt = backend.tokenize_prompt(result.prompt)
    assert backend.tokenize_prompt(f"{result.prompt} go north")[: len(prompt)] != prompt
    alone = [backend.tokenize_prompt(action, add_bos=False) for action in query.actions]  # "▁go▁north"
    np.testing.assert_allclose(result.sequence_log_probs, backend.score_naive(prompt, alone), atol=1e-4, rtol=0)
    prior.close()
