"""Fixtures of the prior suite: a tiny random-weight GGUF for the backend's mechanics, and the real default model.

The tiny model (llama architecture, 2 layers, 64 dims, a 354-token byte-level vocabulary,
about 0.5 MB of float32 weights) is written once per session with the `gguf` package; it
loads and evaluates in milliseconds, so KV bookkeeping, caching and error paths are tested
on it. The real SmolLM2-135M model is used only where its numbers matter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest

from agents.prior import LlamaPrior, PriorConfig, PriorQuery

N_EMBD, N_LAYERS, N_HEAD, N_HEAD_KV, N_FF = 64, 2, 4, 2, 128
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]
TINY_VOCAB = SPECIAL_TOKENS + [f"<0x{byte:02X}>" for byte in range(256)] + ["\u2581"] + [chr(c) for c in range(33, 127)]


def write_tiny_gguf(
    path: Path, *, architecture: str = "llama", with_vocab: bool = True, with_tensors: bool = True, seed: int = 0
) -> Path:
    """A tiny causal LM: every character is one token (SentencePiece-style, byte fallback for the rest)."""
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_context_length(4096)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    if with_vocab:
        types = (
            [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
            + [gguf.TokenType.BYTE] * 256
            + [gguf.TokenType.NORMAL] * (len(TINY_VOCAB) - 259)
        )
        writer.add_tokenizer_model("llama")
        writer.add_token_list(TINY_VOCAB)
        writer.add_token_scores([0.0] * len(TINY_VOCAB))
        writer.add_token_types(types)
        writer.add_unk_token_id(0)
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.add_add_bos_token(True)
        writer.add_add_space_prefix(False)
    if with_tensors:
        rng = np.random.default_rng(seed)

        def weight(*shape: int) -> np.ndarray:
            return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

        head_dim = N_EMBD // N_HEAD
        writer.add_tensor("token_embd.weight", weight(len(TINY_VOCAB), N_EMBD) * 4)
        writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor("output.weight", weight(len(TINY_VOCAB), N_EMBD) * 2)
        for layer in range(N_LAYERS):
            block = f"blk.{layer}"
            writer.add_tensor(f"{block}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
            writer.add_tensor(f"{block}.attn_q.weight", weight(N_EMBD, N_EMBD))
            writer.add_tensor(f"{block}.attn_k.weight", weight(N_HEAD_KV * head_dim, N_EMBD))
            writer.add_tensor(f"{block}.attn_v.weight", weight(N_HEAD_KV * head_dim, N_EMBD))
            writer.add_tensor(f"{block}.attn_output.weight", weight(N_EMBD, N_EMBD))
            writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
            writer.add_tensor(f"{block}.ffn_gate.weight", weight(N_FF, N_EMBD))
            writer.add_tensor(f"{block}.ffn_up.weight", weight(N_FF, N_EMBD))
            writer.add_tensor(f"{block}.ffn_down.weight", weight(N_EMBD, N_FF))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf")


@pytest.fixture
def tiny_config(tiny_gguf: Path, tmp_path: Path) -> Callable[..., PriorConfig]:
    """A PriorConfig on the tiny model with a fresh disk cache in tmp; keyword overrides."""

    def make(**overrides: object) -> PriorConfig:
        settings: dict[str, object] = {
            "model": str(tiny_gguf),
            "n_ctx": 512,
            "n_threads": 1,  # a tiny model gains nothing from threads, and one thread never waits on a busy core
            "cache_path": str(tmp_path / "prior_cache.sqlite"),
            "templates_dir": None,  # the built-in prompts, whatever templates saves/prompts holds
        }
        settings.update(overrides)
        return PriorConfig(**settings)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def default_prior() -> LlamaPrior:
    """The real embedded model (SmolLM2-135M), uncached, so every call really evaluates.

    One thread: on a machine shared with other work, llama.cpp's spinning thread barriers
    stall whenever a core is busy, and correctness does not need the speed.
    """
    prior = LlamaPrior(PriorConfig(cache_path=None, memory_cache_size=0, n_threads=1, templates_dir=None))
    yield prior
    prior.close()


def make_query(
    observation: str = "You are in a kitchen. A coin lies on the table. A door leads north.",
    actions: tuple[str, ...] = ("go north", "take coin", "look", "inventory", "open fridge"),
    *,
    family: str = "textworld",
    task: str = "Find the coin and take it.",
    history: tuple[tuple[str, str], ...] = (),
) -> PriorQuery:
    return PriorQuery(family=family, task=task, observation=observation, actions=actions, history=history)
