"""Text features for Q: the encoders, their concatenation and the bounded cache."""

from __future__ import annotations

import pytest
import torch

from agents.errors import AgentError
from agents.features import FEATURE_KINDS, ConcatEncoder, FeatureCache, HashingEncoder, build_encoder
from sandbox.arguments import FEATURE_CHOICES

LAKE_STATES = (
    "You are at row 2, column 3 of a 4x4 frozen lake. The goal is 2 rows south and 1 column east of you.",
    "You are at row 3, column 2 of a 4x4 frozen lake. The goal is 1 row south and 2 columns east of you.",
)


class CountingEncoder:
    dim = 4

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return torch.stack([torch.full((self.dim,), float(len(text))) for text in texts])


@pytest.fixture(scope="module")
def minilm():
    return build_encoder("minilm")


def test_the_cli_offers_exactly_the_feature_kinds():
    assert FEATURE_CHOICES == FEATURE_KINDS


def test_hashing_is_deterministic_unit_norm_and_word_order_aware():
    encoder = HashingEncoder(dim=64)
    vectors = encoder.encode(["go east then north", "go east then north", "go north then east"])
    assert vectors.shape == (3, 64)
    assert torch.allclose(vectors.norm(dim=-1), torch.ones(3))
    assert torch.equal(vectors[0], vectors[1])
    assert not torch.equal(vectors[0], vectors[2])  # bigrams differ


def test_concatenation_stacks_each_unit_norm_part():
    encoder = ConcatEncoder(HashingEncoder(dim=8), HashingEncoder(dim=16))
    vectors = encoder.encode(list(LAKE_STATES))
    assert encoder.dim == 24 and vectors.shape == (2, 24)
    assert torch.allclose(vectors[:, :8].norm(dim=-1), torch.ones(2))
    assert torch.allclose(vectors[:, 8:].norm(dim=-1), torch.ones(2))


def test_minilm_blurs_grid_states_that_the_combined_features_keep_apart(minilm):
    dense = minilm.encode(list(LAKE_STATES))
    combined = ConcatEncoder(minilm, HashingEncoder()).encode(list(LAKE_STATES))
    dense_similarity = torch.nn.functional.cosine_similarity(dense[0], dense[1], dim=0)
    combined_similarity = torch.nn.functional.cosine_similarity(combined[0], combined[1], dim=0)
    assert dense.shape == (2, 384)
    assert dense_similarity > 0.95  # why MiniLM alone learns Frozen Lake slowly
    assert combined_similarity < dense_similarity - 0.1


def test_build_encoder_knows_every_kind_and_names_the_choices_otherwise():
    assert build_encoder("minilm+hash").dim == 384 + HashingEncoder().dim
    with pytest.raises(AgentError, match="minilm, hash, minilm\\+hash"):
        build_encoder("bert")


def test_cache_encodes_each_text_once_and_stays_within_capacity():
    encoder = CountingEncoder()
    cache = FeatureCache(encoder, capacity=2)
    first = cache.encode(["a", "bb", "a"])
    assert encoder.encoded == ["a", "bb"] and first[:, 0].tolist() == [1.0, 2.0, 1.0]
    cache.encode(["a", "ccc"])  # "bb" is the least recently used
    assert len(cache) == 2 and (cache.hits, cache.misses) == (2, 3)
    cache.encode(["bb"])
    assert encoder.encoded == ["a", "bb", "ccc", "bb"]
