"""Fixtures of the prior suite: a tiny random-weight GGUF for the backend's mechanics, and the real default model.

The tiny model (llama architecture, 2 layers, 64 dims, a 354-token byte-level vocabulary,
about 0.5 MB of float32 weights; benchmarks/synthetic_gguf.py) is written once per session; it
loads and evaluates in milliseconds, so KV bookkeeping, caching and error paths are tested
on it. The real SmolLM2-135M model is used only where its numbers matter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agents.prior import LlamaPrior, PriorConfig, PriorQuery
from benchmarks.synthetic_gguf import SHAPES, write_llama_gguf


def write_tiny_gguf(
    path: Path,
    *,
    architecture: str = "llama",
    with_vocab: bool = True,
    with_tensors: bool = True,
    seed: int = 0,
    add_space_prefix: bool = False,
    extra_tokens: tuple[str, ...] = (),
) -> Path:
    """A tiny causal LM: every character is one token (SentencePiece-style, byte fallback for the rest).

    `add_space_prefix`: the tokenizer puts "▁" before the text, as Llama-2, Mistral and TinyLlama do.
    `extra_tokens`: multi-character tokens the tokenizer merges wherever they occur.
    """
    return write_llama_gguf(
        path,
        SHAPES["tiny"],
        architecture=architecture,
        with_vocab=with_vocab,
        with_tensors=with_tensors,
        seed=seed,
        add_space_prefix=add_space_prefix,
        extra_tokens=extra_tokens,
    )


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def space_prefix_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a Llama-2-style tokenizer: "▁" added before the text."""
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-space-prefix.gguf", add_space_prefix=True)


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
    config = PriorConfig(cache_path=None, memory_cache_size=0, n_threads=1, templates_dir=None, variant="plain")
    prior = LlamaPrior(config)  # plain: these tests check the scoring mechanics, not the tuned levers
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
